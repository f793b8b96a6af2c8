package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/report"
	"github.com/acd-org/acd/store"
)

// Incidents keeps the incident reports operators file. *store.DB
// implements it.
type Incidents interface {
	AddIncident(ctx context.Context, r report.Report) (report.Ack, report.Report, error)
	ShareIncident(ctx context.Context, id, by string) (report.Report, error)
	Incidents(ctx context.Context, operator string, limit int) ([]report.Report, error)
	Incident(ctx context.Context, id string) (report.Report, error)
}

var _ Incidents = (*store.DB)(nil)

// incidentRoutes registers the incident report endpoints: reporting
// operators file reports and read their own; the CERT's roles read all;
// the unified DDoS report is filled from detection.
func (h *handler) incidentRoutes() {
	filers := []store.Role{store.RoleReportingOperator, store.RoleAdmin}
	readers := []store.Role{store.RoleReportingOperator, store.RoleAnalyst, store.RoleCommissioner, store.RoleOperator, store.RoleAuditor, store.RoleAdmin}
	h.mux.Handle("/api/v1/incidents", h.methods(map[string]op{
		http.MethodGet:  {readers, h.listIncidents},
		http.MethodPost: {filers, h.fileIncident},
	}))
	h.mux.Handle("/api/v1/incidents/ddos", h.route(http.MethodGet, []store.Role{store.RoleAnalyst, store.RoleAdmin}, h.ddosReport))
	h.mux.Handle("/api/v1/incidents/{id}", h.route(http.MethodGet, readers, h.getIncident))
	h.mux.Handle("/api/v1/incidents/{id}/share", h.route(http.MethodPost, []store.Role{store.RoleAnalyst, store.RoleAdmin}, h.shareIncident))
}

func (h *handler) incidents(w http.ResponseWriter) (Incidents, bool) {
	if h.deps.Incidents == nil {
		writeError(w, http.StatusServiceUnavailable, "incident reports are not available on this server")
		return nil, false
	}
	return h.deps.Incidents, true
}

// ownOnly returns the operator whose reports the caller may see ("" for
// all): a reporting operator sees its own.
func ownOnly(p store.Principal) string {
	if p.HasRole(store.RoleAnalyst, store.RoleCommissioner, store.RoleOperator, store.RoleAuditor, store.RoleAdmin) {
		return ""
	}
	return p.Name
}

// fileIncident answers POST /api/v1/incidents: the report (its operator
// is the caller; received now) is validated, its domestic indicators
// marked, filed, acknowledged, and correlated with the suspects.
func (h *handler) fileIncident(w http.ResponseWriter, r *http.Request) {
	in, ok := h.incidents(w)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, report.MaxSize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "the report is larger than the limit")
		return
	}
	var rep report.Report
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		writeError(w, http.StatusBadRequest, "the report does not decode: "+err.Error())
		return
	}
	p, _ := PrincipalFrom(r.Context())
	rep.Operator, rep.Received, rep.Status = p.Name, time.Now().UTC(), report.StatusReceived
	if err := rep.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if h.deps.Domestic != nil {
		rep.MarkDomestic(h.deps.Domestic)
	}
	ack, stored, err := in.AddIncident(r.Context(), rep)
	if err != nil {
		h.log.Error("api: filing an incident report failed", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to file the report (the server logged why)")
		return
	}
	var matches []report.Match
	if h.deps.Book != nil {
		ss, _ := h.deps.Book.Query(detect.Filter{})
		matches = report.Correlate(stored, ss)
	}
	if matches == nil {
		matches = []report.Match{}
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ack": ack, "matches": matches})
}

func (h *handler) listIncidents(w http.ResponseWriter, r *http.Request) {
	in, ok := h.incidents(w)
	if !ok {
		return
	}
	p, _ := PrincipalFrom(r.Context())
	rs, err := in.Incidents(r.Context(), ownOnly(p), 1000)
	if err != nil {
		h.log.Error("api: listing incident reports failed", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to list the reports (the server logged why)")
		return
	}
	if rs == nil {
		rs = []report.Report{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": rs})
}

func (h *handler) getIncident(w http.ResponseWriter, r *http.Request) {
	in, ok := h.incidents(w)
	if !ok {
		return
	}
	rep, err := in.Incident(r.Context(), r.PathValue("id"))
	p, _ := PrincipalFrom(r.Context())
	if errors.Is(err, store.ErrNotFound) || (err == nil && ownOnly(p) != "" && rep.Operator != p.Name) {
		writeError(w, http.StatusNotFound, "no incident report "+r.PathValue("id"))
		return
	}
	if err != nil {
		h.log.Error("api: reading an incident report failed", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to read the report (the server logged why)")
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// ddosReport answers GET /api/v1/incidents/ddos?victim=ADDR&operator=…&
// organization=…[&format=text]: the unified DDoS report filled from
// detection's ddos-victim suspect (the address as the suspects API shows
// it, a pseudonym for a domestic victim).
func (h *handler) ddosReport(w http.ResponseWriter, r *http.Request) {
	if h.deps.Book == nil {
		writeError(w, http.StatusServiceUnavailable, "detection is not running")
		return
	}
	q := r.URL.Query()
	if err := checkParams(q, "victim", "operator", "organization", "format"); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	k, err := detect.ParseKey(q.Get("victim"))
	if err != nil || q.Get("operator") == "" || q.Get("organization") == "" {
		writeError(w, http.StatusBadRequest, "want victim=ADDRESS, operator=NAME and organization=NAME")
		return
	}
	s, found := h.deps.Book.Get(k)
	if !found {
		s, found = latestEpoch(h.deps.Book, k.String())
	}
	if !found {
		writeError(w, http.StatusNotFound, "no suspect "+k.String())
		return
	}
	domestic := h.deps.Domestic
	if domestic == nil {
		domestic = func(netip.Addr) bool { return false }
	}
	if !s.HasRole(detect.RoleDDoSVictim) {
		writeError(w, http.StatusNotFound, k.String()+" is not the victim of a detected DDoS")
		return
	}
	rep, err := report.FromSuspect(s, report.Options{Operator: q.Get("operator"), Organization: q.Get("organization"), Domestic: domestic})
	if errors.Is(err, report.ErrNoAttack) {
		writeError(w, http.StatusNotFound, k.String()+" is not the victim of a detected DDoS")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if q.Get("format") == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, rep.Text())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// shareIncident answers POST /api/v1/incidents/{id}/share: an analyst
// releases the report to the partners (under their agreements and the
// report's TLP); unreleased reports never leave.
func (h *handler) shareIncident(w http.ResponseWriter, r *http.Request) {
	in, ok := h.incidents(w)
	if !ok {
		return
	}
	p, _ := PrincipalFrom(r.Context())
	rep, err := in.ShareIncident(r.Context(), r.PathValue("id"), p.Name)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no incident report "+r.PathValue("id"))
		return
	}
	if err != nil {
		h.log.Error("api: releasing an incident report failed", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to release the report (the server logged why)")
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
