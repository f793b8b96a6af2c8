package session

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/store"
)

// t0 is the tests' start time.
var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeUsers answers logins from a table: name → password and roles;
// names "onetime" and "broken" get ErrPasswordChange and a store failure.
type fakeUsers struct {
	mu    sync.Mutex
	users map[string]fakeUser
	calls int
}

type fakeUser struct {
	password string
	roles    []string
}

func newFakeUsers() *fakeUsers {
	return &fakeUsers{users: map[string]fakeUser{
		"alice":   {"alice's password", []string{"analyst"}},
		"carol":   {"carol's password", []string{"commissioner", "auditor"}},
		"onetime": {"one time", []string{"analyst"}},
	}}
}

func (f *fakeUsers) AuthenticateUser(_ context.Context, name, password string) (store.Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if name == "broken" {
		return store.Principal{}, errors.New("disk on fire")
	}
	u, ok := f.users[name]
	if !ok || u.password != password {
		return store.Principal{}, store.ErrLoginFailed
	}
	if name == "onetime" {
		return store.Principal{}, store.ErrPasswordChange
	}
	return store.Principal{Name: name, Roles: append([]string(nil), u.roles...), Kind: store.KindUser}, nil
}

// env is a manager behind a mux that also serves a protected echo at
// /console/echo (answering the principal's name and the audit actor).
type env struct {
	m     *Manager
	clk   *clock
	users *fakeUsers
	h     http.Handler
}

// testConfig is DefaultConfig on plain HTTP.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Secure = false
	return cfg
}

func newEnv(t *testing.T, cfg Config, users UserAuthenticator) *env {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := &env{clk: &clock{t: t0}}
	if users == nil {
		e.users = newFakeUsers()
		users = e.users
	}
	e.m = New(cfg, Deps{Users: users, Now: e.clk.Now})
	mux := http.NewServeMux()
	e.m.Register(mux)
	mux.Handle("/console/echo", e.m.Require(http.HandlerFunc(echo)))
	e.h = e.m.SecureHeaders(mux)
	return e
}

// echo answers "<name> <actor>" of the request's context.
func echo(w http.ResponseWriter, r *http.Request) {
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	actor, _ := audit.ActorFrom(r.Context())
	_, _ = w.Write([]byte(p.Name + " " + strings.Join(p.Roles, ",") + " " + actor))
}

// req is one request of a test.
type req struct {
	method, path string
	body         string
	ctype        string
	cookie       *http.Cookie
	headers      map[string]string
	remote       string
}

func (e *env) do(t *testing.T, q req) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(q.method, q.path, strings.NewReader(q.body))
	if q.ctype != "" {
		r.Header.Set("Content-Type", q.ctype)
	}
	if q.cookie != nil {
		r.AddCookie(q.cookie)
	}
	for k, v := range q.headers {
		r.Header.Set(k, v)
	}
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// formLogin is a login request for name and password.
func formLogin(name, password string) req {
	return req{method: http.MethodPost, path: LoginPath, ctype: "application/x-www-form-urlencoded",
		body: "name=" + name + "&password=" + password}
}

// login logs name in and returns the session cookie and info.
func (e *env) login(t *testing.T, name, password string) (*http.Cookie, Info) {
	t.Helper()
	w := e.do(t, formLogin(name, password))
	if w.Code != http.StatusOK {
		t.Fatalf("login %s: %d %s", name, w.Code, w.Body)
	}
	var info Info
	if err := json.Unmarshal(w.Body.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	return sessionCookie(t, w, e.m.Config().CookieName), info
}

// sessionCookie returns the cookie w sets.
func sessionCookie(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, w.Header()["Set-Cookie"])
	return nil
}

// errorOf returns the error message of a JSON error answer.
func errorOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Fatalf("not a JSON error: %q (%v)", w.Body, err)
	}
	return e.Error
}
