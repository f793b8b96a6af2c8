package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/acd-org/acd/store"
)

// tokenList is GET /api/v1/tokens's answer.
type tokenList struct {
	Tokens []store.Token `json:"tokens"`
}

// listTokens answers GET /api/v1/tokens: every token, revoked ones
// included, by name (never a secret or its hash).
func (h *handler) listTokens(w http.ResponseWriter, r *http.Request) {
	adm, ok := h.admin(w)
	if !ok || !noParams(w, r) {
		return
	}
	ts, err := adm.ListTokens(r.Context())
	if err != nil {
		h.storeError(w, r, "list tokens", err)
		return
	}
	if ts == nil {
		ts = []store.Token{}
	}
	writeJSON(w, http.StatusOK, tokenList{Tokens: ts})
}

// tokenInput is the body of POST /api/v1/tokens.
type tokenInput struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// check validates in; errors name the field.
func (in tokenInput) check() (store.Role, error) {
	if err := store.ValidTokenName(in.Name); err != nil {
		return "", fmt.Errorf("name: %w", err)
	}
	if in.Role == "" {
		return "", errors.New("role: empty; a token has one role")
	}
	r, err := store.ParseRole(in.Role)
	if err != nil {
		return "", fmt.Errorf("role: %w", err)
	}
	return r, nil
}

// newToken is POST /api/v1/tokens's answer: the token and its secret,
// shown this once.
type newToken struct {
	Token  store.Token `json:"token"`
	Secret string      `json:"secret"`
}

// createToken answers POST /api/v1/tokens. A revoked token's name may be
// reused; a valid token's is 409.
func (h *handler) createToken(w http.ResponseWriter, r *http.Request) {
	adm, ok := h.admin(w)
	if !ok || !noParams(w, r) {
		return
	}
	var in tokenInput
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	role, err := in.check()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	secret, err := adm.CreateToken(r.Context(), in.Name, role)
	if err != nil {
		h.storeError(w, r, "create token "+in.Name, err)
		return
	}
	t, err := h.token(r, adm, in.Name)
	if err != nil {
		// The token exists: its secret must not be lost.
		h.log.Error("api: unable to read a token just created", "name", in.Name, "error", err)
		t = store.Token{Name: in.Name, Role: role}
	}
	w.Header().Set("Location", "/api/v1/tokens/"+in.Name)
	writeJSON(w, http.StatusCreated, newToken{Token: t, Secret: secret})
}

// token returns the token name from the list (store.ErrNotFound when
// there is none).
func (h *handler) token(r *http.Request, adm Admin, name string) (store.Token, error) {
	ts, err := adm.ListTokens(r.Context())
	if err != nil {
		return store.Token{}, err
	}
	for _, t := range ts {
		if t.Name == name {
			return t, nil
		}
	}
	return store.Token{}, fmt.Errorf("token %q: %w", name, store.ErrNotFound)
}

// revokeToken answers DELETE /api/v1/tokens/{name}: the token is revoked
// for good and stays listed with its revocation time. Revoking twice is
// no error. A token may revoke itself.
func (h *handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	adm, ok := h.admin(w)
	if !ok || !noParams(w, r) {
		return
	}
	name, ok := pathName(w, r, store.ValidTokenName)
	if !ok {
		return
	}
	if err := adm.RevokeToken(r.Context(), name); err != nil {
		h.storeError(w, r, "revoke token "+name, err)
		return
	}
	t, err := h.token(r, adm, name)
	if err != nil {
		h.storeError(w, r, "read token "+name, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}
