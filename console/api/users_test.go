package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/store"
)

// adminFixture is newFixture with a cheap login policy, a commissioner
// carol with one signing key and an analyst dave.
type adminFixture struct {
	*fixture
	carolKey string // the key id of carol's key
}

func newAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	ctx := context.Background()
	f := &adminFixture{fixture: newFixture(t)}
	pol := store.LoginPolicy{LockoutAfter: 3, LockoutFor: time.Hour, Argon2: store.Argon2Params{Memory: 64, Time: 1, Threads: 1}}
	if err := f.db.SetLoginPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddUser(ctx, "carol", []store.Role{store.RoleCommissioner}, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddUser(ctx, "dave", []store.Role{store.RoleAnalyst}, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	k, err := f.db.AddSigningKey(ctx, "carol", newPub(t))
	if err != nil {
		t.Fatal(err)
	}
	f.carolKey = k.KeyID
	return f
}

func newPub(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// send requests path with token ("" for none) and body (nil: none; a
// string: as is; else JSON) and returns the status and the body.
func (f *fixture) send(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	status, data, h := sendRequest(t, f.srv, method, path, token, body)
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return status, data
}

// sendRequest requests path on srv with token ("" for none) and body
// (nil: none; a string: as is; else JSON) and returns the status, the
// body and the header.
func sendRequest(t *testing.T, srv *httptest.Server, method, path, token string, body any) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

// badInput is a request the API refuses with status and an error
// starting with errPrefix.
type badInput struct {
	method, path string
	body         any
	status       int
	errPrefix    string
}

// refuses sends each request as admin and checks the refusal.
func (f *fixture) refuses(t *testing.T, tests []badInput) {
	t.Helper()
	for _, tt := range tests {
		status, data := f.send(t, tt.method, tt.path, f.tokens[store.RoleAdmin], tt.body)
		var e struct{ Error string }
		_ = json.Unmarshal(data, &e)
		if status != tt.status || !strings.HasPrefix(e.Error, tt.errPrefix) {
			t.Errorf("%s %s %.60v: %d %q, want %d %q...", tt.method, tt.path, tt.body, status, e.Error, tt.status, tt.errPrefix)
		}
	}
}

// admin calls as the admin token and decodes the answer into out (if
// not nil), failing unless the status is want.
func (f *fixture) admin(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	status, data := f.send(t, method, path, f.tokens[store.RoleAdmin], body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// TestAdminRoleMatrix calls every user, key, token, audit and report
// endpoint as every role and without credentials: the allowed roles get
// the endpoint's success status, the others 403, nobody 401.
func TestAdminRoleMatrix(t *testing.T) {
	f := newAdminFixture(t)
	if _, err := f.db.CreateToken(context.Background(), "victim", store.RoleAnalyst); err != nil {
		t.Fatal(err)
	}
	admin := []store.Role{store.RoleAdmin}
	auditors := []store.Role{store.RoleAuditor, store.RoleAdmin}
	oversight := []store.Role{store.RoleAuditor, store.RoleAdmin, store.RoleCommissioner}
	type call struct {
		method, path string
		body         func(store.Role) any
		allowed      []store.Role
		ok           int
	}
	calls := []call{
		{"GET", "/api/v1/users", nil, admin, 200},
		{"POST", "/api/v1/users", func(r store.Role) any { return map[string]any{"name": "m-" + string(r), "roles": []string{"analyst"}} }, admin, 201},
		{"POST", "/api/v1/users/dave/disable", nil, admin, 200},
		{"GET", "/api/v1/users/carol/keys", nil, admin, 200},
		{"POST", "/api/v1/users/carol/keys", func(store.Role) any {
			return map[string]string{"public": base64.StdEncoding.EncodeToString(newPub(t))}
		}, admin, 201},
		{"POST", "/api/v1/users/carol/keys/" + f.carolKey + "/revoke", nil, admin, 200},
		{"GET", "/api/v1/tokens", nil, admin, 200},
		{"POST", "/api/v1/tokens", func(r store.Role) any { return map[string]string{"name": "m-" + string(r), "role": "analyst"} }, admin, 201},
		{"DELETE", "/api/v1/tokens/victim", nil, admin, 200},
		{"GET", "/api/v1/audit?action=token.*&limit=5", nil, auditors, 200},
		{"GET", "/api/v1/audit/verify", nil, auditors, 200},
		{"GET", "/api/v1/reports/oversight?from=2000-01-01&to=2100-01-01", nil, oversight, 200},
	}
	for _, c := range calls {
		for _, r := range append(store.Roles(), "") {
			var body any
			if c.body != nil {
				body = c.body(r)
			}
			want := http.StatusForbidden
			switch {
			case r == "":
				want = http.StatusUnauthorized
			case slices.Contains(c.allowed, r):
				want = c.ok
			}
			status, data := f.send(t, c.method, c.path, f.tokens[r], body)
			if status != want {
				t.Errorf("%s %s as %q: status %d, want %d: %s", c.method, c.path, r, status, want, data)
			}
		}
	}
}

func TestUsers(t *testing.T) {
	f := newAdminFixture(t)
	ctx := context.Background()
	var created newUser
	f.admin(t, "POST", "/api/v1/users", map[string]any{"name": "erin", "roles": []string{"auditor", "analyst", "auditor"}}, 201, &created)
	if created.User.Name != "erin" || !slices.Equal(created.User.Roles, []store.Role{store.RoleAnalyst, store.RoleAuditor}) || created.Password == "" {
		t.Fatalf("created %+v", created)
	}
	// The password returned is the user's, and one-time: it must be
	// changed before it is accepted.
	if !created.User.MustChange {
		t.Errorf("created %+v: the generated password is not one-time", created.User)
	}
	if _, err := f.db.AuthenticateUser(ctx, "erin", created.Password); !errors.Is(err, store.ErrPasswordChange) {
		t.Fatalf("login with the one-time password: %v, want ErrPasswordChange", err)
	}
	if err := f.db.SetPassword(ctx, "erin", created.Password+"-changed"); err != nil {
		t.Fatal(err)
	}
	p, err := f.db.AuthenticateUser(ctx, "erin", created.Password+"-changed")
	if err != nil || p.Name != "erin" {
		t.Fatalf("login with the changed password: %+v, %v", p, err)
	}
	// The listing has the user and no password or hash.
	_, raw := f.send(t, "GET", "/api/v1/users", f.tokens[store.RoleAdmin], nil)
	for _, secret := range []string{created.Password, "argon2", "hash"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("GET /api/v1/users shows %q: %s", secret, raw)
		}
	}
	var list userList
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list.Users {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"carol", "dave", "erin"}) {
		t.Errorf("users %v", names)
	}
	// Disabling: the user can no longer log in; the store audits it
	// under the admin token.
	var u store.User
	f.admin(t, "POST", "/api/v1/users/erin/disable", "", 200, &u)
	if !u.Disabled {
		t.Errorf("disabled user %+v", u)
	}
	if _, err := f.db.AuthenticateUser(ctx, "erin", created.Password); err == nil {
		t.Error("a disabled user logged in")
	}
	es, err := f.db.ListAudit(ctx, audit.Filter{Object: "user:erin"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if e.Actor == "token:t-admin" {
			got = append(got, e.Actor+" "+e.Action)
		}
		if strings.Contains(string(e.Data), created.Password) {
			t.Errorf("audit entry %d holds the password", e.Seq)
		}
	}
	want := []string{"token:t-admin user.add", "token:t-admin user.disable"}
	if !slices.Equal(got, want) {
		t.Errorf("audit of user:erin %v, want %v", got, want)
	}
}

func TestUsersBadInput(t *testing.T) {
	f := newAdminFixture(t)
	f.refuses(t, []badInput{
		{"POST", "/api/v1/users", "", 400, "body: empty"},
		{"POST", "/api/v1/users", `{"name":"x","roles":["analyst"],"password":"mine"}`, 400, "password: unknown field"},
		{"POST", "/api/v1/users", `{"name":"x","roles":["analyst"]} {}`, 400, "body: data after"},
		{"POST", "/api/v1/users", `{"name":"x","roles":"analyst"}`, 400, "roles: "},
		{"POST", "/api/v1/users", `{"name":"-x","roles":["analyst"]}`, 400, "name: invalid user name"},
		{"POST", "/api/v1/users", `{"name":"x","roles":[]}`, 400, "roles: empty"},
		{"POST", "/api/v1/users", `{"name":"x","roles":["root"]}`, 400, "roles: unknown role"},
		{"POST", "/api/v1/users", `{"name":"DAVE","roles":["analyst"]}`, 409, "user \"DAVE\""},
		{"POST", "/api/v1/users", strings.Repeat(" ", maxCaseBody+1), 400, "body: over"},
		{"POST", "/api/v1/users?x=1", `{"name":"x","roles":["analyst"]}`, 400, "x: unknown parameter"},
		{"POST", "/api/v1/users/nobody/disable", nil, 404, "user \"nobody\": not found"},
		{"POST", "/api/v1/users/dave/disable", `{"why":"left"}`, 400, "why: unknown field"},
		{"POST", "/api/v1/users/%2Fx/disable", nil, 400, "name: invalid user name"},
		{"PUT", "/api/v1/users", nil, 405, "method PUT not allowed"},
		{"GET", "/api/v1/users/dave/disable", nil, 405, "method GET not allowed"},
	})
}

func TestSigningKeys(t *testing.T) {
	f := newAdminFixture(t)
	pub := newPub(t)
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	pemPub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	var k store.SigningKey
	f.admin(t, "POST", "/api/v1/users/carol/keys", map[string]string{"public": pemPub}, 201, &k)
	if k.User != "carol" || k.KeyID != store.KeyID(pub) || !k.Public.Equal(pub) || k.RevokedAt != nil {
		t.Fatalf("added %+v", k)
	}
	f.admin(t, "POST", "/api/v1/users/carol/keys/"+k.KeyID+"/revoke", nil, 200, &k)
	if k.RevokedAt == nil {
		t.Errorf("revoked key %+v", k)
	}
	var list keyList
	f.admin(t, "GET", "/api/v1/users/carol/keys", nil, 200, &list)
	if len(list.Keys) != 2 || list.Keys[1].KeyID != k.KeyID || list.Keys[1].RevokedAt == nil || list.Keys[0].RevokedAt != nil {
		t.Errorf("keys %+v", list.Keys)
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	privDER, _ := x509.MarshalPKCS8PrivateKey(priv)
	f.refuses(t, []badInput{
		{"POST", "/api/v1/users/carol/keys", map[string]string{"public": base64.StdEncoding.EncodeToString(pub)}, 409, "signing key " + k.KeyID},
		{"POST", "/api/v1/users/dave/keys", map[string]string{"public": base64.StdEncoding.EncodeToString(newPub(t))}, 409, `user "dave" is not a commissioner`},
		{"POST", "/api/v1/users/nobody/keys", map[string]string{"public": base64.StdEncoding.EncodeToString(newPub(t))}, 404, `user "nobody"`},
		{"POST", "/api/v1/users/carol/keys", map[string]string{"public": base64.StdEncoding.EncodeToString(pub[:31])}, 400, "public: not the base64"},
		{"POST", "/api/v1/users/carol/keys", map[string]string{"public": ""}, 400, "public: empty"},
		{"POST", "/api/v1/users/carol/keys", map[string]string{"public": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))}, 400, "public: a PEM \"PRIVATE KEY\""},
		{"POST", "/api/v1/users/carol/keys", map[string]string{"key": "x"}, 400, "key: unknown field"},
		{"POST", "/api/v1/users/carol/keys/0123456789abcdef/revoke", nil, 404, `signing key "0123456789abcdef" of user "carol": not found`},
		{"POST", "/api/v1/users/dave/keys/" + k.KeyID + "/revoke", nil, 404, "signing key"},
		{"POST", "/api/v1/users/carol/keys/XYZ/revoke", nil, 400, "key_id: invalid key id"},
		{"GET", "/api/v1/users/nobody/keys", nil, 404, `user "nobody"`},
	})
	// A disabled commissioner gets no new key.
	f.admin(t, "POST", "/api/v1/users/carol/disable", nil, 200, nil)
	status, data := f.send(t, "POST", "/api/v1/users/carol/keys", f.tokens[store.RoleAdmin], map[string]string{"public": base64.StdEncoding.EncodeToString(newPub(t))})
	if status != 409 || !strings.Contains(string(data), "disabled") {
		t.Errorf("key for a disabled user: %d %s", status, data)
	}
}

// TestAdminUnavailable: without Deps.Admin and Deps.Audit the endpoints
// answer 503, after authorization.
func TestAdminUnavailable(t *testing.T) {
	f := newFixture(t)
	h := New(Deps{Auth: f.db})
	for _, path := range []string{"/api/v1/users", "/api/v1/tokens", "/api/v1/audit", "/api/v1/audit/verify", "/api/v1/reports/oversight?from=2000-01-01&to=2001-01-01"} {
		for _, r := range []store.Role{store.RoleAdmin, store.RolePartner} {
			req, _ := http.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+f.tokens[r])
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			want := http.StatusServiceUnavailable
			if r == store.RolePartner {
				want = http.StatusForbidden
			}
			if rec.Code != want {
				t.Errorf("%s as %s: %d, want %d: %s", path, r, rec.Code, want, rec.Body)
			}
		}
	}
}

// FuzzPublicKey feeds parsePublicKey arbitrary text: it never panics and
// what it accepts is an Ed25519 public key.
func FuzzPublicKey(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(nil)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	f.Add(base64.StdEncoding.EncodeToString(pub))
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	f.Add(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der[:20]})))
	f.Add("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := parsePublicKey(s)
		if err == nil && len(k) != ed25519.PublicKeySize {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
		if err != nil && !strings.HasPrefix(err.Error(), "public: ") {
			t.Fatalf("error %q does not name the field", err)
		}
	})
}
