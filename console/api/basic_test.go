package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/store"
)

// userFixture is an API whose store has users, with a cheap login policy
// locking out after 3 failures.
func userFixture(t *testing.T) (http.Handler, *store.DB, *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	db := openStore(t)
	pol := store.LoginPolicy{LockoutAfter: 3, LockoutFor: time.Hour, Argon2: store.Argon2Params{Memory: 64, Time: 1, Threads: 1}}
	if err := db.SetLoginPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	users := []struct {
		name  string
		roles []store.Role
	}{
		{"alice", []store.Role{store.RoleAnalyst}},
		{"paul", []store.Role{store.RolePartner}},
		{"dora", []store.Role{store.RoleAnalyst}},
		{"lou", []store.Role{store.RoleAnalyst}},
	}
	for _, u := range users {
		if err := db.AddUser(ctx, u.name, u.roles, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DisableUser(ctx, "dora"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _ = db.AuthenticateUser(ctx, "lou", "wrong password")
	}
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return New(Deps{Book: detect.NewBook(10, nil), Auth: db, Users: db, Logger: logger}), db, logs
}

func TestBasicAuth(t *testing.T) {
	h, db, logs := userFixture(t)
	_, admin, _, err := db.EnsureAdmin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if admin != "" {
		t.Fatal("EnsureAdmin created an admin beside other users")
	}
	tests := []struct {
		name, user, password string
		status               int
		authn                string // WWW-Authenticate
		errSub               string
	}{
		{"good", "alice", "correct horse battery", 200, "", ""},
		{"name in other case", "ALICE", "correct horse battery", 200, "", ""},
		{"role not allowed", "paul", "correct horse battery", 403, "", "forbidden: role partner"},
		{"bad password", "alice", "correct horse batterY", 401, `Basic realm="acd"`, "invalid user name or password"},
		{"empty password", "alice", "", 401, `Basic realm="acd"`, "invalid user name or password"},
		{"unknown user", "bob", "correct horse battery", 401, `Basic realm="acd"`, "invalid user name or password"},
		{"disabled", "dora", "correct horse battery", 401, `Basic realm="acd"`, "invalid user name or password"},
		{"locked", "lou", "correct horse battery", 401, `Basic realm="acd"`, "invalid user name or password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/api/v1/suspects", nil)
			req.SetBasicAuth(tt.user, tt.password)
			h.ServeHTTP(rec, req)
			var body struct{ Error string }
			_ = json.NewDecoder(rec.Body).Decode(&body)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d (%s)", rec.Code, tt.status, body.Error)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.authn) || (tt.authn == "") != (got == "") {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.authn)
			}
			if !strings.Contains(body.Error, tt.errSub) {
				t.Errorf("error = %q, want containing %q", body.Error, tt.errSub)
			}
		})
	}
	if !strings.Contains(logs.String(), "principal=alice") || strings.Contains(logs.String(), "correct horse") {
		t.Errorf("logs: %s", logs)
	}
}

func TestBasicAuthLockout(t *testing.T) {
	h, _, _ := userFixture(t)
	do := func(password string) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/v1/suspects", nil)
		req.SetBasicAuth("alice", password)
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := do("correct horse battery"); got != 200 {
		t.Fatalf("before: %d", got)
	}
	for range 3 {
		if got := do("guess"); got != 401 {
			t.Errorf("wrong password: %d", got)
		}
	}
	if got := do("correct horse battery"); got != 401 {
		t.Errorf("locked out through the API, right password: %d, want 401", got)
	}
}

func TestBasicOneTimePassword(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	pol := store.DefaultLoginPolicy()
	pol.Argon2 = store.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	if err := db.SetLoginPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	name, pw, _, err := db.EnsureAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := New(Deps{Book: detect.NewBook(10, nil), Auth: db, Users: db})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/suspects", nil)
	req.SetBasicAuth(name, pw)
	h.ServeHTTP(rec, req)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "acd user passwd") {
		t.Errorf("one-time password: %d %s, want 403 naming acd user passwd", rec.Code, rec.Body)
	}
}

// failingUsers is a user authenticator whose store is down.
type failingUsers struct{}

func (failingUsers) AuthenticateUser(context.Context, string, string) (store.Principal, error) {
	return store.Principal{}, errors.New("disk on fire")
}

func TestBasicWithoutUsers(t *testing.T) {
	tests := []struct {
		name   string
		users  UserAuthenticator
		status int
		errSub string
	}{
		{"no user authenticator", nil, 401, "not enabled"},
		{"failing", failingUsers{}, 500, "unable to check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(Deps{Auth: failingAuth{}, Users: tt.users})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/api/v1/suspects", nil)
			req.SetBasicAuth("alice", "correct horse battery")
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.errSub) || strings.Contains(rec.Body.String(), "fire") {
				t.Errorf("status %d, body %s; want %d containing %q", rec.Code, rec.Body, tt.status, tt.errSub)
			}
		})
	}
}
