package api

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/acd-org/acd/store"
)

// The user, signing key and token endpoints (README.md, "Users, keys and
// tokens") are for the admin role only. What they change is audited by
// the store under the principal (audit.WithActor). No answer ever holds
// a password hash or a token hash: a generated password and a token's
// secret are returned once, when they are made.

// Admin manages users, commissioners' signing keys and API tokens.
// Errors wrapping store.ErrNotFound are 404, store.ErrExists 409.
// *store.DB implements it.
type Admin interface {
	ListUsers(ctx context.Context) ([]store.User, error)
	User(ctx context.Context, name string) (store.User, error)
	AddUserOneTime(ctx context.Context, name string, roles []store.Role, password string) error
	DisableUser(ctx context.Context, name string) error
	SigningKeys(ctx context.Context, user string) ([]store.SigningKey, error)
	AddSigningKey(ctx context.Context, user string, pub ed25519.PublicKey) (store.SigningKey, error)
	RevokeSigningKey(ctx context.Context, user, keyID string) error
	ListTokens(ctx context.Context) ([]store.Token, error)
	CreateToken(ctx context.Context, name string, role store.Role) (string, error)
	RevokeToken(ctx context.Context, name string) error
}

var _ Admin = (*store.DB)(nil)

// adminRoutes registers the user, key and token endpoints on h's mux.
func (h *handler) adminRoutes() {
	admins := []store.Role{store.RoleAdmin}
	h.mux.Handle("/api/v1/users", h.methods(map[string]op{
		http.MethodGet:  {admins, h.listUsers},
		http.MethodPost: {admins, h.addUser},
	}))
	h.mux.Handle("/api/v1/users/{name}/disable", h.route(http.MethodPost, admins, h.disableUser))
	h.mux.Handle("/api/v1/users/{name}/keys", h.methods(map[string]op{
		http.MethodGet:  {admins, h.listKeys},
		http.MethodPost: {admins, h.addKey},
	}))
	h.mux.Handle("/api/v1/users/{name}/keys/{key_id}/revoke", h.route(http.MethodPost, admins, h.revokeKey))
	h.mux.Handle("/api/v1/tokens", h.methods(map[string]op{
		http.MethodGet:  {admins, h.listTokens},
		http.MethodPost: {admins, h.createToken},
	}))
	h.mux.Handle("/api/v1/tokens/{name}", h.route(http.MethodDelete, admins, h.revokeToken))
}

// admin returns the Admin dependency, or answers 503.
func (h *handler) admin(w http.ResponseWriter) (Admin, bool) {
	if h.deps.Admin == nil {
		writeError(w, http.StatusServiceUnavailable, "user and token administration is not enabled on this server")
		return nil, false
	}
	return h.deps.Admin, true
}

// storeError answers an Admin error: not found 404, exists 409, a
// cancelled request 503, anything else 500 (logged, not shown: the
// store's messages name its file).
func (h *handler) storeError(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, strings.ReplaceAll(err.Error(), "store: ", ""))
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, strings.ReplaceAll(err.Error(), "store: ", ""))
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "unable to "+what+": the request was cancelled")
	default:
		h.log.Error("api: store failed", "op", what, "error", err)
		writeError(w, http.StatusInternalServerError, "unable to "+what+" (the server logged why)")
	}
}

// userList is GET /api/v1/users's answer.
type userList struct {
	Users []store.User `json:"users"`
}

// listUsers answers GET /api/v1/users: every user, by name.
func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) {
	adm, ok := h.admin(w)
	if !ok || !noParams(w, r) {
		return
	}
	us, err := adm.ListUsers(r.Context())
	if err != nil {
		h.storeError(w, r, "list users", err)
		return
	}
	if us == nil {
		us = []store.User{}
	}
	writeJSON(w, http.StatusOK, userList{Users: us})
}

// userInput is the body of POST /api/v1/users.
type userInput struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

// check validates in and returns its roles; errors name the field.
func (in userInput) check() ([]store.Role, error) {
	if err := store.ValidUserName(in.Name); err != nil {
		return nil, fmt.Errorf("name: %w", err)
	}
	if len(in.Roles) == 0 {
		return nil, errors.New("roles: empty; a user needs at least one role")
	}
	roles := make([]store.Role, 0, len(in.Roles))
	for _, s := range in.Roles {
		r, err := store.ParseRole(s)
		if err != nil {
			return nil, fmt.Errorf("roles: %w", err)
		}
		roles = append(roles, r)
	}
	return roles, nil
}

// newUser is POST /api/v1/users's answer: the user and the generated
// password, shown this once.
type newUser struct {
	User     store.User `json:"user"`
	Password string     `json:"password"`
}

// addUser answers POST /api/v1/users: creates a user with a generated
// password.
func (h *handler) addUser(w http.ResponseWriter, r *http.Request) {
	adm, ok := h.admin(w)
	if !ok || !noParams(w, r) {
		return
	}
	var in userInput
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	roles, err := in.check()
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Hashing costs as much as a login: share the logins' bound.
	select {
	case h.logins <- struct{}{}:
	case <-r.Context().Done():
		writeError(w, http.StatusServiceUnavailable, "too many password checks at once: try again")
		return
	}
	password := store.NewPassword()
	// A one-time password: the user changes it before using the API.
	err = adm.AddUserOneTime(r.Context(), in.Name, roles, password)
	<-h.logins
	if err != nil {
		h.storeError(w, r, "add user "+in.Name, err)
		return
	}
	u, err := adm.User(r.Context(), in.Name)
	if err != nil {
		h.storeError(w, r, "read user "+in.Name, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+u.Name)
	writeJSON(w, http.StatusCreated, newUser{User: u, Password: password})
}

// pathName reads and checks the {name} path value; on failure it has
// answered 400.
func pathName(w http.ResponseWriter, r *http.Request, valid func(string) error) (string, bool) {
	name := r.PathValue("name")
	if err := valid(name); err != nil {
		writeError(w, http.StatusBadRequest, "name: "+err.Error())
		return "", false
	}
	return name, true
}

// noParams refuses any query parameter; on failure it has answered 400.
func noParams(w http.ResponseWriter, r *http.Request) bool {
	if err := checkParams(r.URL.Query()); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// emptyBody accepts no body, or {}; on failure it has answered 400.
func emptyBody(w http.ResponseWriter, r *http.Request) bool {
	if err := decodeBody(r, &struct{}{}, true); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// disableUser answers POST /api/v1/users/{name}/disable: the user can no
// longer log in (their signing keys stay as they are).
func (h *handler) disableUser(w http.ResponseWriter, r *http.Request) {
	adm, ok := h.admin(w)
	if !ok || !noParams(w, r) || !emptyBody(w, r) {
		return
	}
	name, ok := pathName(w, r, store.ValidUserName)
	if !ok {
		return
	}
	if err := adm.DisableUser(r.Context(), name); err != nil {
		h.storeError(w, r, "disable user "+name, err)
		return
	}
	u, err := adm.User(r.Context(), name)
	if err != nil {
		h.storeError(w, r, "read user "+name, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// keyList is GET /api/v1/users/{name}/keys's answer.
type keyList struct {
	Keys []store.SigningKey `json:"keys"`
}

// listKeys answers GET /api/v1/users/{name}/keys: the user's signing
// keys, revoked ones included, oldest first.
func (h *handler) listKeys(w http.ResponseWriter, r *http.Request) {
	adm, ok := h.admin(w)
	if !ok || !noParams(w, r) {
		return
	}
	name, ok := pathName(w, r, store.ValidUserName)
	if !ok {
		return
	}
	ks, err := adm.SigningKeys(r.Context(), name)
	if err != nil {
		h.storeError(w, r, "list the signing keys of "+name, err)
		return
	}
	if ks == nil {
		ks = []store.SigningKey{}
	}
	writeJSON(w, http.StatusOK, keyList{Keys: ks})
}

// keyInput is the body of POST /api/v1/users/{name}/keys.
type keyInput struct {
	// Public is the Ed25519 public key: the base64 of its 32 bytes (as
	// acd user keygen prints it) or a PEM "PUBLIC KEY".
	Public string `json:"public"`
}

// parsePublicKey reads an Ed25519 public key given as the base64 of its
// 32 bytes or as a PEM "PUBLIC KEY" (PKIX).
func parsePublicKey(s string) (ed25519.PublicKey, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("public: empty; the base64 of an Ed25519 public key is expected (as acd user keygen prints it)")
	}
	pub, err := store.ParsePublicKey([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("public: %w", err)
	}
	return pub, nil
}

// addKey answers POST /api/v1/users/{name}/keys: registers a
// commissioner's public key.
func (h *handler) addKey(w http.ResponseWriter, r *http.Request) {
	adm, ok := h.admin(w)
	if !ok || !noParams(w, r) {
		return
	}
	name, ok := pathName(w, r, store.ValidUserName)
	if !ok {
		return
	}
	var in keyInput
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	pub, err := parsePublicKey(in.Public)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// The store refuses keys of users who are not commissioners or are
	// disabled; say so here with a 409 rather than a bare failure.
	u, err := adm.User(r.Context(), name)
	if err != nil {
		h.storeError(w, r, "read user "+name, err)
		return
	}
	switch {
	case !u.HasRole(store.RoleCommissioner):
		writeError(w, http.StatusConflict, fmt.Sprintf("user %q is not a commissioner: only commissioners have signing keys", u.Name))
		return
	case u.Disabled:
		writeError(w, http.StatusConflict, fmt.Sprintf("user %q is disabled", u.Name))
		return
	}
	k, err := adm.AddSigningKey(r.Context(), name, pub)
	if err != nil {
		h.storeError(w, r, "add a signing key for "+name, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+k.User+"/keys")
	writeJSON(w, http.StatusCreated, k)
}

// revokeKey answers POST /api/v1/users/{name}/keys/{key_id}/revoke: the key
// stays listed with its revocation time.
func (h *handler) revokeKey(w http.ResponseWriter, r *http.Request) {
	adm, ok := h.admin(w)
	if !ok || !noParams(w, r) || !emptyBody(w, r) {
		return
	}
	name, ok := pathName(w, r, store.ValidUserName)
	if !ok {
		return
	}
	id := r.PathValue("key_id")
	if err := store.ValidKeyID(id); err != nil {
		writeError(w, http.StatusBadRequest, "key_id: "+err.Error())
		return
	}
	if err := adm.RevokeSigningKey(r.Context(), name, id); err != nil {
		h.storeError(w, r, "revoke signing key "+id, err)
		return
	}
	ks, err := adm.SigningKeys(r.Context(), name)
	if err != nil {
		h.storeError(w, r, "read the signing keys of "+name, err)
		return
	}
	for _, k := range ks {
		if k.KeyID == id {
			writeJSON(w, http.StatusOK, k)
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("signing key %q of user %q: not found", id, name))
}
