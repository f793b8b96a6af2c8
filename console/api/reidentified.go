package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce/reidentify"
	"github.com/acd-org/acd/store"
)

// Reidentifications reads the addresses a case's reidentify actions
// lifted; every read is audited by the implementation. The cases service
// of acd serve implements it.
type Reidentifications interface {
	Reidentified(ctx context.Context, caseID, reader string) ([]reidentify.Result, error)
}

// reidentifiedRoutes registers GET /api/v1/cases/{id}/reidentified: the
// analyst who requested the case and admins only — not other analysts,
// auditors or commissioners, who have no need to see domestic addresses.
func (h *handler) reidentifiedRoutes() {
	h.mux.Handle("/api/v1/cases/{id}/reidentified", h.route(http.MethodGet, []store.Role{store.RoleAnalyst, store.RoleAdmin}, h.getReidentified))
}

func (h *handler) getReidentified(w http.ResponseWriter, r *http.Request) {
	re, ok := h.deps.Cases.(Reidentifications)
	if h.deps.Cases == nil || !ok {
		writeError(w, http.StatusServiceUnavailable, "cases are not available on this server")
		return
	}
	p, _ := PrincipalFrom(r.Context())
	// An analyst sees the addresses of the cases they requested only.
	if !p.HasRole(store.RoleAdmin) {
		rec, err := h.deps.Cases.Case(r.Context(), r.PathValue("id"))
		if err == nil && rec.Case.Requester != p.Name {
			writeError(w, http.StatusForbidden, "only the analyst who requested case "+rec.Case.ID+" (or an admin) reads its re-identified addresses")
			return
		}
	}
	rs, err := re.Reidentified(r.Context(), r.PathValue("id"), p.Name)
	if err != nil {
		if errors.Is(err, cases.ErrNotFound) {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		h.log.Error("api: reading re-identifications failed", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to read the re-identifications (the server logged why)")
		return
	}
	if rs == nil {
		rs = []reidentify.Result{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reidentified": rs})
}
