package api

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acd-org/acd/detect"
)

// Limits of GET /api/v1/suspects.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// listResponse is GET /api/v1/suspects's answer.
type listResponse struct {
	Suspects []detect.Suspect `json:"suspects"`
	Total    int              `json:"total"` // matches before limit and offset
}

// listSuspects answers GET /api/v1/suspects.
func (h *handler) listSuspects(w http.ResponseWriter, r *http.Request) {
	if h.deps.Book == nil {
		writeError(w, http.StatusServiceUnavailable, "detection is not running")
		return
	}
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ss, total := query(h.deps.Book, f)
	if ss == nil {
		ss = []detect.Suspect{}
	}
	writeJSON(w, http.StatusOK, listResponse{Suspects: ss, Total: total})
}

// getSuspect answers GET /api/v1/suspects/{address}. Without key_epoch,
// a real address is preferred to a pseudonym, and among pseudonyms the
// latest key epoch wins.
func (h *handler) getSuspect(w http.ResponseWriter, r *http.Request) {
	if h.deps.Book == nil {
		writeError(w, http.StatusServiceUnavailable, "detection is not running")
		return
	}
	q := r.URL.Query()
	if err := checkParams(q, "key_epoch"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	addr := r.PathValue("address")
	k, err := detect.ParseKey(addr)
	if err != nil {
		writeError(w, http.StatusBadRequest, "address: "+err.Error()+" (an address or a prefix, its slash as %2F)")
		return
	}
	var (
		s     detect.Suspect
		found bool
	)
	if v := q.Get("key_epoch"); v != "" {
		e, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("key_epoch: %q is not a key epoch number", v))
			return
		}
		k.Pseudo, k.KeyEpoch = true, uint32(e)
		s, found = h.deps.Book.Get(k)
	} else if s, found = h.deps.Book.Get(k); !found {
		s, found = latestEpoch(h.deps.Book, k.String())
	}
	if !found {
		writeError(w, http.StatusNotFound, "no suspect "+k.String())
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// latestEpoch returns the pseudonym suspect of address with the highest
// key epoch.
func latestEpoch(b *detect.Book, address string) (detect.Suspect, bool) {
	ss, _ := b.Query(detect.Filter{Address: address})
	var best detect.Suspect
	found := false
	for _, s := range ss {
		if s.Pseudo && (!found || s.KeyEpoch > best.KeyEpoch) {
			best, found = s, true
		}
	}
	return best, found
}

// listParams are GET /api/v1/suspects's query parameters.
var listParams = []string{"role", "min_score", "since", "until", "detector", "address", "source", "limit", "offset"}

// Sources of evidence (the source parameter).
const (
	sourceOwn     = "own"     // acd's own detectors
	sourcePartner = "partner" // a partner's (detector "partner:<name>")
)

// partnerDetector is the prefix of a partner's evidence's detector
// (exchange.PartnerDetectorPrefix; console does not import the
// exchange).
const partnerDetector = "partner:"

// suspectFilter is the list's filter: the Book's, and the source.
type suspectFilter struct {
	detect.Filter
	Source string // "", sourceOwn or sourcePartner
}

// fromSource reports whether s has evidence from the source.
func fromSource(s *detect.Suspect, source string) bool {
	for _, e := range s.Evidence {
		if strings.HasPrefix(e.Detector, partnerDetector) == (source == sourcePartner) {
			return true
		}
	}
	return false
}

// query answers f from b. The Book does not know sources: with one, every
// other match is read and the page cut here.
func query(b *detect.Book, f suspectFilter) ([]detect.Suspect, int) {
	if f.Source == "" {
		return b.Query(f.Filter)
	}
	all := f.Filter
	all.Limit, all.Offset = 0, 0
	ss, _ := b.Query(all)
	kept := ss[:0]
	for i := range ss {
		if fromSource(&ss[i], f.Source) {
			kept = append(kept, ss[i])
		}
	}
	total := len(kept)
	if f.Offset >= total {
		return nil, total
	}
	kept = kept[f.Offset:]
	if f.Limit > 0 && len(kept) > f.Limit {
		kept = kept[:f.Limit]
	}
	return kept, total
}

// parseFilter reads the list's query parameters; an error names the
// parameter. Empty values count as absent.
func parseFilter(q url.Values) (suspectFilter, error) {
	f := suspectFilter{Filter: detect.Filter{Limit: defaultLimit}}
	if err := checkParams(q, listParams...); err != nil {
		return f, err
	}
	var err error
	switch v := q.Get("source"); v {
	case "", sourceOwn, sourcePartner:
		f.Source = v
	default:
		return f, fmt.Errorf("source: %q is not own or partner", v)
	}
	if v := q.Get("role"); v != "" {
		if f.Role, err = detect.ParseRole(v); err != nil {
			return f, fmt.Errorf("role: %w", err)
		}
	}
	if v := q.Get("min_score"); v != "" {
		f.MinScore, err = strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f.MinScore) || f.MinScore < 0 || f.MinScore > 1 {
			return f, fmt.Errorf("min_score: %q is not a number from 0 to 1", v)
		}
	}
	if f.Since, err = parseTime(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = parseTime(q, "until"); err != nil {
		return f, err
	}
	if v := q.Get("detector"); v != "" {
		if len(v) > 64 {
			return f, fmt.Errorf("detector: longer than 64 characters")
		}
		f.Detector = v
	}
	if v := q.Get("address"); v != "" {
		k, err := detect.ParseKey(v)
		if err != nil {
			return f, fmt.Errorf("address: %w", err)
		}
		f.Address = k.String()
	}
	if f.Limit, err = parseInt(q, "limit", defaultLimit, 1, maxLimit); err != nil {
		return f, err
	}
	if f.Offset, err = parseInt(q, "offset", 0, 0, math.MaxInt32); err != nil {
		return f, err
	}
	return f, nil
}

// checkParams rejects unknown and repeated parameters.
func checkParams(q url.Values, known ...string) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			if len(known) == 0 {
				return fmt.Errorf("%s: unknown parameter (this endpoint takes none)", k)
			}
			return fmt.Errorf("%s: unknown parameter (parameters: %s)", k, strings.Join(known, ", "))
		}
		if len(q[k]) > 1 {
			return fmt.Errorf("%s: given %d times, once at most", k, len(q[k]))
		}
	}
	return nil
}

// parseTime reads an RFC 3339 time parameter (zero when absent).
func parseTime(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time (2006-01-02T15:04:05Z)", name, v)
	}
	return t, nil
}

// parseInt reads an integer parameter within [lo, hi].
func parseInt(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: %q is not an integer from %d to %d", name, v, lo, hi)
	}
	return n, nil
}
