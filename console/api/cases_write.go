package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/store"
)

// principal returns the request's principal (route has checked it).
func principal(r *http.Request) store.Principal {
	p, _ := PrincipalFrom(r.Context())
	return p
}

// createCase answers POST /api/v1/cases: a new draft case, requested by
// the principal, resting on suspects from the Book.
func (h *handler) createCase(w http.ResponseWriter, r *http.Request) {
	svc, ok := h.service(w)
	if !ok {
		return
	}
	if h.deps.Book == nil {
		writeError(w, http.StatusServiceUnavailable, "detection is not running: a case needs its suspects")
		return
	}
	in, err := decodeCaseInput(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var errs []error
	if in.Target == nil {
		errs = append(errs, errors.New("target: required (an address, prefix or domain)"))
	}
	if in.LegalBasis == nil {
		errs = append(errs, errors.New("legal_basis: required"))
	}
	if !in.hasActions {
		errs = append(errs, errors.New("actions: required"))
	}
	if in.Reason != "" {
		errs = append(errs, errors.New("reason: only for an amendment"))
	}
	c := cases.Case{Route: cases.RouteOrdinary, Urgency: cases.UrgencyNormal, Requester: principal(r).Name}
	if err := in.apply(&c); err != nil {
		errs = append(errs, err)
	}
	suspects, err := resolveSuspects(h.deps.Book, in.Suspects)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		writeError(w, http.StatusBadRequest, strings.ReplaceAll(err.Error(), "\n", "; "))
		return
	}
	c.Suspects = cases.SuspectAddrs(suspects)
	created, err := svc.CreateCase(r.Context(), c, suspects)
	if err != nil {
		h.caseError(w, r, "create the case", err)
		return
	}
	w.Header().Set("Location", "/api/v1/cases/"+created.ID)
	writeJSON(w, http.StatusCreated, created)
}

// amendCase answers PATCH /api/v1/cases/{id}: changes the fields given
// of a draft or requested case.
func (h *handler) amendCase(w http.ResponseWriter, r *http.Request) {
	svc, id, ok := h.serviceCase(w, r)
	if !ok {
		return
	}
	in, err := decodeCaseInput(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, given := in.raw["suspects"]; given {
		writeError(w, http.StatusBadRequest, "suspects: the evidence is frozen at creation and cannot be amended (create a new case)")
		return
	}
	if len(in.raw) == 0 || (len(in.raw) == 1 && in.raw["reason"] != nil) {
		writeError(w, http.StatusBadRequest, "body: nothing to amend (target, legal_basis, route, urgency, actions)")
		return
	}
	// Check the input before calling the service, on a scratch case.
	var scratch cases.Case
	if err := in.apply(&scratch); err != nil {
		writeError(w, http.StatusBadRequest, strings.ReplaceAll(err.Error(), "\n", "; "))
		return
	}
	c, err := svc.AmendCase(r.Context(), id, principal(r).Name, in.Reason, func(c *cases.Case) { _ = in.apply(c) })
	if err != nil {
		h.caseError(w, r, "amend case "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// changeCase answers POST /api/v1/cases/{id}/{event} for the
// transitions through cases.Service.ChangeCase.
func (h *handler) changeCase(ev cases.Event) http.HandlerFunc {
	needsReason := ev == cases.EventWithdraw || ev == cases.EventRevoke
	return func(w http.ResponseWriter, r *http.Request) {
		svc, id, ok := h.serviceCase(w, r)
		if !ok {
			return
		}
		var in changeInput
		if err := decodeBody(r, &in, !needsReason); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if needsReason && strings.TrimSpace(in.Reason) == "" {
			writeError(w, http.StatusBadRequest, "reason: required for a "+string(ev))
			return
		}
		c, err := svc.ChangeCase(r.Context(), id, cases.Change{Event: ev, By: principal(r).Name, At: time.Now().UTC(), Reason: in.Reason})
		if err != nil {
			h.caseError(w, r, string(ev)+" case "+id, err)
			return
		}
		writeJSON(w, http.StatusOK, c)
	}
}

// addApproval answers POST /api/v1/cases/{id}/approvals: a
// commissioner's signed decision, in the principal's own name.
func (h *handler) addApproval(w http.ResponseWriter, r *http.Request) {
	svc, id, ok := h.serviceCase(w, r)
	if !ok {
		return
	}
	var a cases.Approval
	if err := decodeBody(r, &a, false); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := checkApproval(id, a); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if p := principal(r); a.Commissioner != p.Name {
		writeError(w, http.StatusForbidden, "commissioner: "+a.Commissioner+" is not you ("+p.Name+"): commissioners sign in their own name only")
		return
	}
	c, err := svc.AddApproval(r.Context(), id, a)
	if err != nil {
		h.caseError(w, r, "add the approval to case "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// checkApproval checks the fields of a signed decision; errors name the
// field.
func checkApproval(id string, a cases.Approval) error {
	switch {
	case a.Case != id:
		return errors.New("case: " + quote(a.Case) + " is not the case of the path (" + id + ")")
	case a.Version < 1:
		return errors.New("version: required (the case version signed, from 1)")
	case a.Commissioner == "":
		return errors.New("commissioner: required")
	case a.KeyID == "":
		return errors.New("key_id: required")
	case a.Decision != cases.DecisionApprove && a.Decision != cases.DecisionReject:
		return errors.New("decision: " + quote(string(a.Decision)) + " is not approve or reject")
	case a.Decision == cases.DecisionReject && strings.TrimSpace(a.Reason) == "":
		return errors.New("reason: required for a rejection")
	case a.SignedAt.IsZero():
		return errors.New("signed_at: required")
	case len(a.Signature) != 64:
		return errors.New("signature: not an Ed25519 signature (64 bytes, base64)")
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }

// executeAction answers POST /api/v1/cases/{id}/execute: action i of an
// approved case runs, through the gate, by the principal.
func (h *handler) executeAction(w http.ResponseWriter, r *http.Request) {
	h.runAction(w, r, false)
}

// emergencyAction answers POST /api/v1/cases/{id}/emergency: action i of
// an urgent requested case runs before approval.
func (h *handler) emergencyAction(w http.ResponseWriter, r *http.Request) {
	h.runAction(w, r, true)
}

func (h *handler) runAction(w http.ResponseWriter, r *http.Request, emergency bool) {
	svc, id, ok := h.serviceCase(w, r)
	if !ok {
		return
	}
	var in actionRun
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case in.Action == nil:
		writeError(w, http.StatusBadRequest, "action: required (the action's index in the case, from 0)")
		return
	case *in.Action < 0:
		writeError(w, http.StatusBadRequest, "action: an index from 0")
		return
	case emergency && strings.TrimSpace(in.Reason) == "":
		writeError(w, http.StatusBadRequest, "reason: required for an emergency")
		return
	case !emergency && in.Reason != "":
		writeError(w, http.StatusBadRequest, "reason: only for an emergency")
		return
	}
	var (
		c   cases.Case
		err error
	)
	who, now := principal(r).Name, time.Now().UTC()
	if emergency {
		c, err = svc.Emergency(r.Context(), id, *in.Action, who, in.Reason, now)
	} else {
		c, err = svc.Execute(r.Context(), id, *in.Action, who, now)
	}
	if err != nil {
		h.caseError(w, r, "run action "+strconv.Itoa(*in.Action)+" of case "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
