package crowdsec

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
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

// stream answers /v1/decisions/stream.
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
	filter, err := streamFilter(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if r.Method == http.MethodHead {
		// As LAPI: a HEAD (a bouncer's connectivity check) gets 200 and
		// no body, and does not count as a pull, so the next GET still
		// gets everything since the previous one.
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		return
	}
	added, deleted := s.Decisions.Stream(bouncer, startup)
	writeJSON(w, r, StreamResponse{New: filter.apply(added), Deleted: filter.apply(deleted)})
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

// filter is what a bouncer asks the stream for: scopes=ip,range
// (case-insensitive), origins=a,b (exact), scenarios_containing=x,y
// and scenarios_not_containing=x,y (substrings), as LAPI reads them. A
// nil list lets everything through.
type filter struct {
	scopes, origins, with, without []string
}

// streamFilter reads the filter parameters of a stream request.
func streamFilter(q url.Values) (filter, error) {
	var f filter
	for _, p := range []struct {
		name  string
		dst   *[]string
		lower bool
	}{{"scopes", &f.scopes, true}, {"origins", &f.origins, false},
		{"scenarios_containing", &f.with, true}, {"scenarios_not_containing", &f.without, true}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		for _, x := range strings.Split(v, ",") {
			x = strings.TrimSpace(x)
			if x == "" {
				return filter{}, fmt.Errorf("%s=%q: an empty item", p.name, v)
			}
			if p.lower {
				x = strings.ToLower(x)
			}
			*p.dst = append(*p.dst, x)
		}
	}
	return f, nil
}

func (f filter) keeps(d Decision) bool {
	scenario := strings.ToLower(d.Scenario)
	contains := func(s string) bool { return strings.Contains(scenario, s) }
	return (f.scopes == nil || slices.Contains(f.scopes, strings.ToLower(d.Scope))) &&
		(f.origins == nil || slices.Contains(f.origins, d.Origin)) &&
		(f.with == nil || slices.ContainsFunc(f.with, contains)) &&
		!slices.ContainsFunc(f.without, contains)
}

func (f filter) apply(ds []Decision) []Decision {
	out := ds[:0:0]
	for _, d := range ds {
		if f.keeps(d) {
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
