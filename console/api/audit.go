package api

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/store"
)

// The audit endpoints (README.md, "Audit"): the log and its verification
// are for auditors and admins; the oversight report also for
// commissioners. They only read.

// AuditLog reads the audit log. *store.DB implements it.
type AuditLog interface {
	ListAudit(ctx context.Context, f audit.Filter) ([]audit.Entry, error)
	VerifyAudit(ctx context.Context, pub ed25519.PublicKey) (audit.Report, error)
	AuditOversight(ctx context.Context, from, to time.Time) (audit.Oversight, error)
}

var _ AuditLog = (*store.DB)(nil)

// Limits of GET /api/v1/audit.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
	maxAuditText      = 200 // q's length in bytes
)

// auditRoutes registers the audit endpoints on h's mux.
func (h *handler) auditRoutes() {
	auditors := []store.Role{store.RoleAuditor, store.RoleAdmin}
	oversight := []store.Role{store.RoleAuditor, store.RoleAdmin, store.RoleCommissioner}
	h.mux.Handle("/api/v1/audit", h.route(http.MethodGet, auditors, h.listAudit))
	h.mux.Handle("/api/v1/audit/verify", h.route(http.MethodGet, auditors, h.verifyAudit))
	h.mux.Handle("/api/v1/reports/oversight", h.route(http.MethodGet, oversight, h.oversight))
}

// auditLog returns the AuditLog dependency, or answers 503.
func (h *handler) auditLog(w http.ResponseWriter) (AuditLog, bool) {
	if h.deps.Audit == nil {
		writeError(w, http.StatusServiceUnavailable, "the audit log is not available on this server")
		return nil, false
	}
	return h.deps.Audit, true
}

// auditQuery is GET /api/v1/audit's parameters.
type auditQuery struct {
	filter audit.Filter // Limit unset: the page size is limit
	limit  int
	// after is after_seq; hasAfter says whether it was given.
	after    int64
	hasAfter bool
	// text is q, lower-cased ("": none).
	text string
}

// actionFilter is an action name, or a prefix and ".*".
var actionFilter = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$|^[a-z][a-z0-9_.-]{0,61}\.\*$`)

// parseAuditQuery reads GET /api/v1/audit's query; an error names the
// parameter. Empty values count as absent.
func parseAuditQuery(q url.Values) (auditQuery, error) {
	var aq auditQuery
	if err := checkParams(q, "from", "to", "actor", "action", "object", "limit", "after_seq", "q"); err != nil {
		return aq, err
	}
	if v := strings.TrimSpace(q.Get("q")); v != "" {
		if len(v) > maxAuditText || !utf8.ValidString(v) {
			return aq, fmt.Errorf("q: not valid UTF-8 text of at most %d bytes", maxAuditText)
		}
		aq.text = strings.ToLower(v)
	}
	var err error
	if aq.filter.From, err = parseWhen(q, "from"); err != nil {
		return aq, err
	}
	if aq.filter.To, err = parseWhen(q, "to"); err != nil {
		return aq, err
	}
	if !aq.filter.From.IsZero() && !aq.filter.To.IsZero() && !aq.filter.From.Before(aq.filter.To) {
		return aq, fmt.Errorf("from: %s is not before to %s", q.Get("from"), q.Get("to"))
	}
	aq.filter.Actor, aq.filter.Object = q.Get("actor"), q.Get("object")
	if len(aq.filter.Actor) > audit.MaxActor {
		return aq, fmt.Errorf("actor: longer than %d bytes", audit.MaxActor)
	}
	if len(aq.filter.Object) > audit.MaxObject {
		return aq, fmt.Errorf("object: longer than %d bytes", audit.MaxObject)
	}
	if v := q.Get("action"); v != "" {
		if !actionFilter.MatchString(v) {
			return aq, fmt.Errorf("action: %q is not an action (case.approve) or a prefix and .* (case.*)", v)
		}
		aq.filter.Action = v
	}
	if aq.limit, err = parseInt(q, "limit", defaultAuditLimit, 1, maxAuditLimit); err != nil {
		return aq, err
	}
	if v := q.Get("after_seq"); v != "" {
		aq.after, err = strconv.ParseInt(v, 10, 64)
		if err != nil || aq.after < 0 {
			return aq, fmt.Errorf("after_seq: %q is not a sequence number (0 or more)", v)
		}
		aq.hasAfter = true
	}
	return aq, nil
}

// parseWhen reads an RFC 3339 time or a date (midnight UTC), as acd
// audit list and acd report oversight take them.
func parseWhen(q url.Values, name string) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time (2026-04-01T00:00:00Z) or a date (2026-04-01)", name, v)
}

// auditPage is GET /api/v1/audit's answer.
type auditPage struct {
	Entries []audit.Entry `json:"entries"`
	// More says that more entries match than this page holds: older ones
	// without after_seq, newer ones with it (ask again with after_seq set
	// to the last entry's seq).
	More bool `json:"more"`
}

// listAudit answers GET /api/v1/audit: the matching entries in seq
// order, the newest limit of them, or with after_seq the first limit
// after it.
func (h *handler) listAudit(w http.ResponseWriter, r *http.Request) {
	log, ok := h.auditLog(w)
	if !ok {
		return
	}
	aq, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	page, err := readAuditPage(r.Context(), log, aq)
	if err != nil {
		h.storeError(w, r, "read the audit log", err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// maxAuditScan bounds the entries a free-text search (q) reads back
// from the log's end before it answers what it found (more: true).
const maxAuditScan = 1 << 17

// readAuditPage reads one page. audit.Filter keeps the newest entries,
// so a page after a seq, or one filtered by q here, asks for twice as
// many newest entries until it has enough: cheap for a client following
// the log's end, a full read for one paging from its start.
func readAuditPage(ctx context.Context, log AuditLog, aq auditQuery) (auditPage, error) {
	f := aq.filter
	f.Limit = aq.limit + 1
	for {
		es, err := log.ListAudit(ctx, f)
		if err != nil {
			return auditPage{}, err
		}
		complete := f.Limit == 0 || len(es) < f.Limit
		if !aq.hasAfter {
			m := aq.matching(es)
			capped := !complete && f.Limit >= maxAuditScan
			if len(m) > aq.limit {
				return auditPage{Entries: m[len(m)-aq.limit:], More: true}, nil
			}
			if complete || capped {
				return auditPage{Entries: nonNil(m), More: capped}, nil
			}
		} else if complete || es[0].Seq <= aq.after {
			i := 0
			for i < len(es) && es[i].Seq <= aq.after {
				i++
			}
			m := aq.matching(es[i:])
			if len(m) > aq.limit {
				return auditPage{Entries: m[:aq.limit], More: true}, nil
			}
			return auditPage{Entries: nonNil(m), More: false}, nil
		}
		if f.Limit > math.MaxInt32 {
			f.Limit = 0 // everything
		} else {
			f.Limit *= 2
		}
	}
}

// matching returns the entries of es the free text q matches (all
// without q): a case-insensitive substring of the action, actor, object
// or details (their JSON text).
func (aq auditQuery) matching(es []audit.Entry) []audit.Entry {
	if aq.text == "" {
		return es
	}
	var out []audit.Entry
	for _, e := range es {
		if containsFold(e.Action, aq.text) || containsFold(e.Actor, aq.text) || containsFold(e.Object, aq.text) ||
			containsFold(string(e.Data), aq.text) {
			out = append(out, e)
		}
	}
	return out
}

// containsFold reports whether lower (lower case) is in s, ignoring
// case.
func containsFold(s, lower string) bool {
	return strings.Contains(strings.ToLower(s), lower)
}

// nonNil returns es, or an empty slice for nil (JSON [] rather than null).
func nonNil(es []audit.Entry) []audit.Entry {
	if es == nil {
		return []audit.Entry{}
	}
	return es
}

// verification is GET /api/v1/audit/verify's answer: the report and
// whether it found nothing wrong.
type verification struct {
	OK bool `json:"ok"`
	// VerifiedThrough is N of "verified up to entry N": the last seq of
	// the unbroken chain (LastSeq when OK, else the seq before the first
	// problem; 0 for an empty log).
	VerifiedThrough int64 `json:"verified_through"`
	audit.Report
}

// verifiedThrough is N of "verified up to entry N" for rep.
func verifiedThrough(rep audit.Report) int64 {
	p, bad := rep.First()
	if !bad {
		return rep.LastSeq
	}
	return max(0, min(rep.LastSeq, p.Seq-1))
}

// verifyAudit answers GET /api/v1/audit/verify: the live chain and its
// checkpoints verified with the server's public key. A log with problems
// is still 200: the report says what is wrong (ok false).
func (h *handler) verifyAudit(w http.ResponseWriter, r *http.Request) {
	log, ok := h.auditLog(w)
	if !ok || !noParams(w, r) {
		return
	}
	if len(h.deps.AuditKey) != ed25519.PublicKeySize {
		writeError(w, http.StatusServiceUnavailable, "the audit log cannot be verified here: the server has no audit public key")
		return
	}
	rep, err := log.VerifyAudit(r.Context(), h.deps.AuditKey)
	if err != nil {
		h.storeError(w, r, "verify the audit log", err)
		return
	}
	if rep.Problems == nil {
		rep.Problems = []audit.Problem{}
	}
	writeJSON(w, http.StatusOK, verification{OK: rep.OK(), VerifiedThrough: verifiedThrough(rep), Report: rep})
}

// oversight answers GET /api/v1/reports/oversight?from&to: the counts an
// oversight commission reports for from <= time < to (both required).
func (h *handler) oversight(w http.ResponseWriter, r *http.Request) {
	log, ok := h.auditLog(w)
	if !ok {
		return
	}
	from, to, err := parsePeriod(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	o, err := log.AuditOversight(r.Context(), from, to)
	if err != nil {
		h.storeError(w, r, "count the audit log", err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// parsePeriod reads the oversight report's from and to; an error names
// the parameter.
func parsePeriod(q url.Values) (from, to time.Time, err error) {
	if err := checkParams(q, "from", "to"); err != nil {
		return from, to, err
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if *p.t, err = parseWhen(q, p.name); err != nil {
			return from, to, err
		}
		if p.t.IsZero() {
			return from, to, fmt.Errorf("%s: required (an RFC 3339 time or a date: from=2026-01-01&to=2026-04-01)", p.name)
		}
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("from: %s is not before to %s", strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to")))
	}
	return from, to, nil
}
