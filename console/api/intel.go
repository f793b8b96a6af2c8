package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/acd-org/acd/store"
)

// ErrNoPartner is wrapped by Intel for an unknown partner (404).
var ErrNoPartner = errors.New("no such partner")

// Intel is the sharing side (acd serve implements it): the partners and
// their last syncs, a sync on demand, and the revocation of what was
// shared about a target.
type Intel interface {
	Partners(ctx context.Context) (any, error)
	SyncPartner(ctx context.Context, name string) (any, error)
	RevokeShared(ctx context.Context, target, reason, by string) (int, error)
}

// intelRoutes registers the sharing endpoints.
func (h *handler) intelRoutes() {
	readers := []store.Role{store.RoleAnalyst, store.RoleCommissioner, store.RoleOperator, store.RoleAuditor, store.RoleAdmin}
	h.mux.Handle("/api/v1/partners", h.route(http.MethodGet, readers, h.listPartners))
	h.mux.Handle("/api/v1/partners/{name}/sync", h.route(http.MethodPost, []store.Role{store.RoleOperator, store.RoleAdmin}, h.syncPartner))
	h.mux.Handle("/api/v1/intel/revoke", h.route(http.MethodPost, []store.Role{store.RoleAnalyst, store.RoleAdmin}, h.revokeShared))
}

func (h *handler) intel(w http.ResponseWriter) (Intel, bool) {
	if h.deps.Intel == nil {
		writeError(w, http.StatusServiceUnavailable, "sharing is not running on this server (intel.identity and intel.taxii)")
		return nil, false
	}
	return h.deps.Intel, true
}

func (h *handler) intelError(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, ErrNoPartner) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	h.log.Error("api: sharing failed", "op", what, "error", err)
	writeError(w, http.StatusInternalServerError, "unable to "+what+" (the server logged why)")
}

func (h *handler) listPartners(w http.ResponseWriter, r *http.Request) {
	in, ok := h.intel(w)
	if !ok {
		return
	}
	ps, err := in.Partners(r.Context())
	if err != nil {
		h.intelError(w, "list the partners", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"partners": ps})
}

func (h *handler) syncPartner(w http.ResponseWriter, r *http.Request) {
	in, ok := h.intel(w)
	if !ok {
		return
	}
	st, err := in.SyncPartner(r.Context(), r.PathValue("name"))
	if err != nil {
		h.intelError(w, "sync the partner", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) revokeShared(w http.ResponseWriter, r *http.Request) {
	in, ok := h.intel(w)
	if !ok {
		return
	}
	var body struct {
		Target string `json:"target"`
		Reason string `json:"reason"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || strings.TrimSpace(body.Target) == "" || strings.TrimSpace(body.Reason) == "" {
		writeError(w, http.StatusBadRequest, "want {\"target\": ADDRESS|PREFIX, \"reason\": TEXT}")
		return
	}
	p, _ := PrincipalFrom(r.Context())
	n, err := in.RevokeShared(r.Context(), body.Target, body.Reason, p.Name)
	if err != nil {
		h.intelError(w, "revoke what was shared", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": n})
}
