package session

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/acd-org/acd/store"
)

// openStore opens a store in t.TempDir with a cheap password hash and a
// lockout after 3 failures, with users alice (analyst) and bob (a
// one-time password).
func openStore(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	cfg := store.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "acd.db")
	db, err := store.Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	pol := store.DefaultLoginPolicy()
	pol.Argon2 = store.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	pol.LockoutAfter, pol.LockoutFor = 3, time.Hour
	if err := db.SetLoginPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	if err := db.AddUser(ctx, "alice", []store.Role{store.RoleAnalyst}, "a long enough passphrase"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddUserOneTime(ctx, "bob", []store.Role{store.RoleCommissioner}, "another long passphrase"); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestWithStore(t *testing.T) {
	db := openStore(t)
	e := newEnv(t, testConfig(), db)
	login := func(name, password string) req {
		return formLogin(url.QueryEscape(name), url.QueryEscape(password))
	}
	for _, step := range []struct {
		name   string
		q      req
		status int
	}{
		{"alice", login("alice", "a long enough passphrase"), http.StatusOK},
		{"unknown", login("nobody", "a long enough passphrase"), http.StatusUnauthorized},
		{"bob's one-time password", login("bob", "another long passphrase"), http.StatusForbidden},
		{"bob wrong", login("bob", "wrong"), http.StatusUnauthorized},
		{"alice wrong 1", login("alice", "wrong"), http.StatusUnauthorized},
		{"alice wrong 2", login("alice", "wrong"), http.StatusUnauthorized},
		{"alice wrong 3: locked out", login("alice", "wrong"), http.StatusUnauthorized},
		{"alice right but locked out", login("alice", "a long enough passphrase"), http.StatusUnauthorized},
	} {
		step.q.remote = "192.0.2.1:1" // 5 failures: under the rate limit
		w := e.do(t, step.q)
		if w.Code != step.status {
			t.Fatalf("%s: %d %s, want %d", step.name, w.Code, w.Body, step.status)
		}
	}
	if e.m.Len() != 1 {
		t.Errorf("%d sessions, want alice's", e.m.Len())
	}
}

func TestWithStoreSession(t *testing.T) {
	db := openStore(t)
	e := newEnv(t, testConfig(), db)
	c, info := e.login(t, "alice", url.QueryEscape("a long enough passphrase"))
	if info.Name != "alice" || len(info.Roles) != 1 || info.Roles[0] != "analyst" || info.Kind != store.KindUser {
		t.Errorf("login = %+v", info)
	}
	w := e.do(t, req{method: "POST", path: "/console/echo", cookie: c, headers: map[string]string{CSRFHeader: info.CSRFToken}})
	if w.Code != http.StatusOK || w.Body.String() != "alice analyst user:alice" {
		t.Errorf("echo: %d %q", w.Code, w.Body)
	}
}
