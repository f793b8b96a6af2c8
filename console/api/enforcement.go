package api

import (
	"context"
	"net/http"

	"github.com/acd-org/acd/store"
)

// Enforcement reports the enforcement side's state: each adapter's
// desired actions, last reconciliation, drift repaired and errors, the
// bouncers' pulls, the verify stage's watches. The value is written as
// JSON as it is.
type Enforcement interface {
	EnforcementStatus(ctx context.Context) (any, error)
}

// enforcementRoutes registers GET /api/v1/enforcement.
func (h *handler) enforcementRoutes() {
	readers := []store.Role{store.RoleAnalyst, store.RoleCommissioner, store.RoleOperator, store.RoleAuditor, store.RoleAdmin}
	h.mux.Handle("/api/v1/enforcement", h.route(http.MethodGet, readers, h.enforcementStatus))
}

func (h *handler) enforcementStatus(w http.ResponseWriter, r *http.Request) {
	if h.deps.Enforcement == nil {
		writeError(w, http.StatusServiceUnavailable, "enforcement is not running on this server (it runs with the cases: cases.commissioners)")
		return
	}
	st, err := h.deps.Enforcement.EnforcementStatus(r.Context())
	if err != nil {
		h.log.Error("api: enforcement status failed", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to read the enforcement status (the server logged why)")
		return
	}
	writeJSON(w, http.StatusOK, st)
}
