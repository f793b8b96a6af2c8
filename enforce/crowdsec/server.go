package crowdsec

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Server is the http.Handler serving the Local API endpoints bouncers
// poll, from Decisions, to the bouncers Keys knows. Mount it at the root
// of a listener (the paths start with /v1/).
type Server struct {
	// Decisions holds the decisions served; required.
	Decisions *Decisions
	// Keys authenticates bouncers; required.
	Keys Keys
	// Log receives failures (never a key); nil means slog.Default().
	Log *slog.Logger
}

// StreamResponse is the body of /v1/decisions/stream.
type StreamResponse struct {
	New     []Decision `json:"new"`
	Deleted []Decision `json:"deleted"`
}

// ServeHTTP routes a bouncer's request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/decisions/stream", "/v1/decisions":
	default:
		writeError(w, http.StatusNotFound, "page not found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	name, err := s.Keys.Bouncer(r.Context(), r.Header.Get("X-Api-Key"))
	if err != nil {
		if !errors.Is(err, ErrUnknownKey) {
			s.log().Error("crowdsec: bouncer key lookup failed", "remote", r.RemoteAddr, "error", err)
		}
		writeError(w, http.StatusForbidden, "access forbidden")
		return
	}
	if r.URL.Path == "/v1/decisions/stream" {
		s.stream(w, r, name)
		return
	}
	s.decisions(w, r)
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// stream answers /v1/decisions/stream. HEAD answers the same headers and
// leaves the bouncer's cursor where it is.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, bouncer string) {
	q := r.URL.Query()
	startup := false
	if v := q.Get("startup"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("startup=%q: want true or false", v))
			return
		}
		startup = b
	}
	scopes, err := scopeFilter(q.Get("scopes"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	added, deleted := s.Decisions.Stream(bouncer, startup, r.Method == http.MethodHead)
	if scopes != nil {
		added, deleted = filterScopes(added, scopes), filterScopes(deleted, scopes)
	}
	writeJSON(w, r, StreamResponse{New: added, Deleted: deleted})
}

// decisions answers /v1/decisions: the active decisions for ip= (those
// whose Ip or Range covers it), range= (contains=true, the default:
// those whose range covers it; contains=false: those inside it), or
// scope= and value= (exact). null when none, as LAPI answers.
func (s *Server) decisions(w http.ResponseWriter, r *http.Request) {
	match, err := decisionsQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, r, s.Decisions.Active(match))
}

// decisionsQuery reads the filter of a /v1/decisions request.
func decisionsQuery(q map[string][]string) (func(Decision) bool, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var want netip.Prefix
	switch ip, rng := get("ip"), get("range"); {
	case ip != "" && rng != "":
		return nil, errors.New("ip and range: give one")
	case ip != "":
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, fmt.Errorf("ip=%q is not an IP address", ip)
		}
		a = a.Unmap()
		want = netip.PrefixFrom(a, a.BitLen())
	case rng != "":
		p, err := netip.ParsePrefix(rng)
		if err != nil {
			return nil, fmt.Errorf("range=%q is not a CIDR prefix", rng)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		want = p.Masked()
	}
	contains := true
	if v := get("contains"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("contains=%q: want true or false", v)
		}
		contains = b
	}
	scope, value, typ := get("scope"), get("value"), get("type")
	return func(d Decision) bool {
		if scope != "" && !strings.EqualFold(scope, d.Scope) || value != "" && value != d.Value || typ != "" && typ != d.Type {
			return false
		}
		if !want.IsValid() {
			return true
		}
		p, ok := prefixOf(d)
		if !ok || p.Addr().Is4() != want.Addr().Is4() {
			return false
		}
		if contains {
			return p.Bits() <= want.Bits() && p.Contains(want.Addr())
		}
		return want.Bits() <= p.Bits() && want.Contains(p.Addr())
	}, nil
}

// scopeFilter reads scopes=ip,range (case-insensitive); nil means all.
func scopeFilter(v string) (map[string]bool, error) {
	if v == "" {
		return nil, nil
	}
	m := map[string]bool{}
	for _, sc := range strings.Split(v, ",") {
		sc = strings.ToLower(strings.TrimSpace(sc))
		if sc == "" {
			return nil, fmt.Errorf("scopes=%q: an empty scope", v)
		}
		m[sc] = true
	}
	return m, nil
}

func filterScopes(ds []Decision, scopes map[string]bool) []Decision {
	out := ds[:0:0]
	for _, d := range ds {
		if scopes[strings.ToLower(d.Scope)] {
			out = append(out, d)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer failed")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(append(b, '\n'))
	}
}

// writeError answers as LAPI does: {"message": "..."}.
func writeError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
