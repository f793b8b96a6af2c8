package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/store"
)

// The case endpoints (README.md, "Cases"). Who may call what:
//
//	reads (GET)                          analyst, commissioner, operator, auditor, admin
//	create, amend, request, withdraw, close   analyst, admin
//	approvals (signed decisions)         commissioner
//	execute, emergency                   operator
//	revoke, review                       commissioner, admin
//
// partner and reporting-operator get 403 everywhere here. Everything
// else (separation of duties, signatures, quorum, windows, states) is
// the cases.Service's to check; its refusals are mapped by caseError.

// caseRoutes registers the case endpoints on h's mux.
func (h *handler) caseRoutes() {
	readers := suspectReaders()
	authors := []store.Role{store.RoleAnalyst, store.RoleAdmin}
	commission := []store.Role{store.RoleCommissioner, store.RoleAdmin}
	commissioners := []store.Role{store.RoleCommissioner}
	operators := []store.Role{store.RoleOperator}
	h.mux.Handle("/api/v1/cases", h.methods(map[string]op{
		http.MethodGet:  {readers, h.listCases},
		http.MethodPost: {authors, h.createCase},
	}))
	h.mux.Handle("/api/v1/cases/{id}", h.methods(map[string]op{
		http.MethodGet:   {readers, h.getCase},
		http.MethodPatch: {authors, h.amendCase},
	}))
	h.mux.Handle("/api/v1/cases/{id}/payload", h.route(http.MethodGet, readers, h.getPayload))
	h.mux.Handle("/api/v1/cases/{id}/approvals", h.route(http.MethodPost, commissioners, h.addApproval))
	h.mux.Handle("/api/v1/cases/{id}/execute", h.route(http.MethodPost, operators, h.executeAction))
	h.mux.Handle("/api/v1/cases/{id}/emergency", h.route(http.MethodPost, operators, h.emergencyAction))
	for _, t := range []struct {
		ev    cases.Event
		roles []store.Role
	}{
		{cases.EventRequest, authors},
		{cases.EventWithdraw, authors},
		{cases.EventClose, authors},
		{cases.EventRevoke, commission},
		{cases.EventReview, commission},
	} {
		h.mux.Handle("/api/v1/cases/{id}/"+string(t.ev), h.route(http.MethodPost, t.roles, h.changeCase(t.ev)))
	}
}

// op is one method of a path: who may call it and its handler.
type op struct {
	roles []store.Role
	fn    http.HandlerFunc
}

// methods is route for a path with several methods.
func (h *handler) methods(ops map[string]op) http.Handler {
	allow := make([]string, 0, len(ops))
	routes := make(map[string]http.Handler, len(ops))
	for m, o := range ops {
		allow = append(allow, m)
		routes[m] = h.route(m, o.roles, o.fn)
	}
	slices.Sort(allow)
	allowed := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt, ok := routes[r.Method]; ok {
			rt.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", allowed)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed (use "+allowed+")")
	})
}

// Limits of GET /api/v1/cases.
const (
	defaultCaseLimit = 100
	maxCaseLimit     = 1000
)

// caseList is GET /api/v1/cases's answer.
type caseList struct {
	Cases []cases.Case `json:"cases"`
	Total int          `json:"total"` // matches before limit and offset
}

// service returns the cases service, or answers 503.
func (h *handler) service(w http.ResponseWriter) (cases.Service, bool) {
	if h.deps.Cases == nil {
		writeError(w, http.StatusServiceUnavailable, "cases are not enabled on this server")
		return nil, false
	}
	return h.deps.Cases, true
}

// serviceCase returns the cases service and the checked {id} path
// value, or answers 503 or 400.
func (h *handler) serviceCase(w http.ResponseWriter, r *http.Request) (cases.Service, string, bool) {
	svc, ok := h.service(w)
	if !ok {
		return nil, "", false
	}
	id, ok := caseID(w, r)
	return svc, id, ok
}

// listCases answers GET /api/v1/cases.
func (h *handler) listCases(w http.ResponseWriter, r *http.Request) {
	svc, ok := h.service(w)
	if !ok {
		return
	}
	f, err := parseCaseFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	cs, total, err := svc.Cases(r.Context(), f)
	if err != nil {
		h.caseError(w, r, "list cases", err)
		return
	}
	if cs == nil {
		cs = []cases.Case{}
	}
	writeJSON(w, http.StatusOK, caseList{Cases: cs, Total: total})
}

// parseCaseFilter reads GET /api/v1/cases's query; an error names the
// parameter. Empty values count as absent.
func parseCaseFilter(q url.Values) (cases.Filter, error) {
	f := cases.Filter{Limit: defaultCaseLimit}
	if err := checkParams(q, "state", "target", "limit", "offset"); err != nil {
		return f, err
	}
	if v := q.Get("state"); v != "" {
		st, err := cases.ParseState(v)
		if err != nil {
			return f, fmt.Errorf("state: %w", err)
		}
		f.State = st
	}
	if v := q.Get("target"); v != "" {
		t, err := cases.ParseTarget(v)
		if err != nil {
			return f, fmt.Errorf("target: %w", err)
		}
		f.Target = t.String()
	}
	var err error
	if f.Limit, err = parseInt(q, "limit", defaultCaseLimit, 1, maxCaseLimit); err != nil {
		return f, err
	}
	if f.Offset, err = parseInt(q, "offset", 0, 0, math.MaxInt32); err != nil {
		return f, err
	}
	return f, nil
}

// caseID reads and checks the {id} path value; on failure it has
// answered 400.
func caseID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if err := validCaseID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return id, true
}

// validCaseID checks a case id as cases does: 1 to 64 letters, digits,
// '-', '_' and '.'.
func validCaseID(id string) error {
	if id == "" || len(id) > 64 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
		return fmt.Errorf("id: %q is not a case id (1 to 64 letters, digits, '-', '_', '.')", id)
	}
	return nil
}

// getCase answers GET /api/v1/cases/{id}: the cases.Record, with the
// console's additions (cases_view.go).
func (h *handler) getCase(w http.ResponseWriter, r *http.Request) {
	svc, id, ok := h.serviceCase(w, r)
	if !ok {
		return
	}
	rec, err := svc.Case(r.Context(), id)
	if err != nil {
		h.caseError(w, r, "read case "+id, err)
		return
	}
	if rec.Approvals == nil {
		rec.Approvals = []cases.Approval{}
	}
	writeJSON(w, http.StatusOK, h.detail(r.Context(), rec))
}

// getPayload answers GET /api/v1/cases/{id}/payload: the canonical
// bytes a commissioner signs, exactly as stored.
func (h *handler) getPayload(w http.ResponseWriter, r *http.Request) {
	svc, id, ok := h.serviceCase(w, r)
	if !ok {
		return
	}
	rec, err := svc.Case(r.Context(), id)
	if err != nil {
		h.caseError(w, r, "read case "+id, err)
		return
	}
	if len(rec.Payload) == 0 {
		h.log.Error("api: a case without payload", "case", id)
		writeError(w, http.StatusInternalServerError, "case "+id+" has no payload")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Acd-Case-Version", fmt.Sprint(rec.Case.Version))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rec.Payload)
}

// refusals maps the service's typed refusals to a status: separation of
// duties is 403, a refused transition, gate refusal or safety rail 409.
var refusals = []struct {
	err    error
	status int
}{
	{cases.ErrNotFound, http.StatusNotFound},
	{cases.ErrDuties, http.StatusForbidden},
	{cases.ErrState, http.StatusConflict},
	{cases.ErrSignature, http.StatusConflict},
	{cases.ErrReplay, http.StatusConflict},
	{cases.ErrRevokedKey, http.StatusConflict},
	{cases.ErrQuorum, http.StatusConflict},
	{cases.ErrScope, http.StatusConflict},
	{cases.ErrWindow, http.StatusConflict},
	{enforce.ErrRail, http.StatusConflict},
	{enforce.ErrUnsupported, http.StatusConflict},
}

// caseError answers a service error: a typed refusal with its status
// and the service's message (which names what failed), anything else
// 500 (logged, not shown).
func (h *handler) caseError(w http.ResponseWriter, r *http.Request, what string, err error) {
	for _, rf := range refusals {
		if errors.Is(err, rf.err) {
			writeError(w, rf.status, err.Error())
			return
		}
	}
	if r.Context().Err() != nil {
		writeError(w, http.StatusServiceUnavailable, "unable to "+what+": the request was cancelled")
		return
	}
	h.log.Error("api: cases service failed", "op", what, "error", err)
	writeError(w, http.StatusInternalServerError, "unable to "+what+" (the server logged why)")
}
