package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/store"
)

// fixture is an API over a real store and a book with a few suspects.
type fixture struct {
	srv    *httptest.Server
	db     *store.DB
	tokens map[store.Role]string // a token per role
	logs   *bytes.Buffer
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// openStore opens a store in a temporary directory, closed when the test
// ends.
func openStore(t *testing.T) *store.DB {
	t.Helper()
	cfg := store.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "acd.db")
	db, err := store.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := openStore(t)
	f := &fixture{db: db, tokens: map[store.Role]string{}, logs: &bytes.Buffer{}}
	for _, r := range store.Roles() {
		var err error
		if f.tokens[r], err = db.CreateToken(ctx, "t-"+string(r), r); err != nil {
			t.Fatal(err)
		}
	}
	book := detect.NewBook(100, nil)
	add := func(addr string, role detect.Role, det string, score float64, first, last time.Time, pseudo bool, epoch uint32) {
		k, err := detect.ParseKey(addr)
		if err != nil {
			t.Fatal(err)
		}
		book.Add(detect.Finding{Addr: k.Addr, Bits: k.Bits, Pseudo: pseudo, KeyEpoch: epoch, Role: role,
			Evidence: detect.Evidence{Detector: det, Score: score, Reason: "test", First: first, Last: last}})
	}
	add("192.0.2.1", detect.RoleScanner, "scan", 0.9, t0, t0.Add(time.Hour), false, 0)
	add("192.0.2.2", detect.RoleBruteforce, "bruteforce", 0.6, t0.Add(2*time.Hour), t0.Add(3*time.Hour), false, 0)
	add("2001:db8::/48", detect.RoleDDoSSource, "ddos", 0.5, t0.Add(-time.Hour), t0, false, 0)
	add("198.18.0.9", detect.RoleC2, "beacon", 0.3, t0, t0.Add(time.Hour), true, 1)
	add("198.18.0.9", detect.RoleC2, "beacon", 0.4, t0, t0.Add(time.Hour), true, 2)
	logger := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Mounted as console/web mounts it.
	mux := http.NewServeMux()
	auditPub, _, _ := ed25519.GenerateKey(nil)
	mux.Handle("/api/", New(Deps{Book: book, Auth: db, Admin: db, Audit: db, AuditKey: auditPub, Logger: logger,
		Enforcement: fakeEnforcement{}}))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// get requests path with token ("" for none) and decodes the JSON body.
func (f *fixture) do(t *testing.T, method, path, token string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v", method, path, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type = %q", path, ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control = %q", path, cc)
	}
	return resp, body
}

// addresses lists the addresses of a list response.
func addresses(body map[string]any) []string {
	var out []string
	ss, _ := body["suspects"].([]any)
	for _, s := range ss {
		out = append(out, s.(map[string]any)["address"].(string))
	}
	return out
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	revoked, _ := f.db.CreateToken(context.Background(), "gone", store.RoleAdmin)
	if err := f.db.RevokeToken(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header string
		path   string
		status int
		authn  string // WWW-Authenticate
		errSub string
	}{
		{"no header", "", "/api/v1/suspects", 401, `Bearer realm="acd"`, "missing bearer token"},
		{"basic", "Basic YTpi", "/api/v1/suspects", 401, `Bearer realm="acd"`, "missing bearer token"},
		{"empty bearer", "Bearer ", "/api/v1/suspects", 401, `Bearer realm="acd"`, "missing bearer token"},
		{"garbage", "Bearer nope", "/api/v1/suspects", 401, `error="invalid_token"`, "invalid or revoked"},
		{"unknown token", "Bearer acd_" + strings.Repeat("A", 43), "/api/v1/suspects", 401, `error="invalid_token"`, "invalid or revoked"},
		{"revoked", "Bearer " + revoked, "/api/v1/suspects", 401, `error="invalid_token"`, "invalid or revoked"},
		{"unknown path unauthenticated", "", "/api/v1/nope", 401, `Bearer realm="acd"`, "missing"},
		{"lower-case scheme", "bearer " + f.tokens[store.RoleAnalyst], "/api/v1/suspects", 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", f.srv.URL+tt.path, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error string }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tt.status, body.Error)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.authn) || (tt.authn == "") != (got == "") {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.authn)
			}
			if !strings.Contains(body.Error, tt.errSub) {
				t.Errorf("error = %q, want containing %q", body.Error, tt.errSub)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	f := newFixture(t)
	want := map[store.Role]int{
		store.RoleAnalyst: 200, store.RoleCommissioner: 200, store.RoleOperator: 200, store.RoleAuditor: 200, store.RoleAdmin: 200,
		store.RolePartner: 403, store.RoleReportingOperator: 403,
	}
	for _, r := range store.Roles() {
		for _, path := range []string{"/api/v1/suspects", "/api/v1/suspects/192.0.2.1"} {
			resp, body := f.do(t, "GET", path, f.tokens[r])
			if resp.StatusCode != want[r] {
				t.Errorf("%s GET %s: status %d, want %d (%v)", r, path, resp.StatusCode, want[r], body)
			}
			if want[r] == 403 && !strings.Contains(body["error"].(string), "role "+string(r)) {
				t.Errorf("%s: error %q does not name the role", r, body["error"])
			}
		}
	}
}

func TestListSuspects(t *testing.T) {
	f := newFixture(t)
	tok := f.tokens[store.RoleAnalyst]
	tests := []struct {
		query string
		want  []string
		total int
	}{
		{"", []string{"192.0.2.1", "192.0.2.2", "2001:db8::/48", "198.18.0.9", "198.18.0.9"}, 5},
		{"?role=scanner", []string{"192.0.2.1"}, 1},
		{"?role=c2", []string{"198.18.0.9", "198.18.0.9"}, 2},
		{"?min_score=0.55", []string{"192.0.2.1", "192.0.2.2"}, 2},
		{"?since=2026-03-01T14:00:00Z", []string{"192.0.2.2"}, 1},
		{"?until=2026-03-01T11:30:00Z", []string{"2001:db8::/48"}, 1},
		{"?detector=bruteforce", []string{"192.0.2.2"}, 1},
		{"?address=2001:DB8::/48", []string{"2001:db8::/48"}, 1},
		{"?address=2001:db8::1/48", []string{"2001:db8::/48"}, 1},
		{"?limit=2", []string{"192.0.2.1", "192.0.2.2"}, 5},
		{"?limit=2&offset=4", []string{"198.18.0.9"}, 5},
		{"?offset=10", nil, 5},
		{"?role=", []string{"192.0.2.1", "192.0.2.2", "2001:db8::/48", "198.18.0.9", "198.18.0.9"}, 5},
		{"?role=ddos-victim", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, body := f.do(t, "GET", "/api/v1/suspects"+tt.query, tok)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %v", resp.StatusCode, body)
			}
			if got := addresses(body); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("suspects = %v, want %v", got, tt.want)
			}
			if got := int(body["total"].(float64)); got != tt.total {
				t.Errorf("total = %d, want %d", got, tt.total)
			}
			if _, ok := body["suspects"].([]any); !ok {
				t.Errorf("suspects = %v, want an array (never null)", body["suspects"])
			}
		})
	}
}

func TestBadParameters(t *testing.T) {
	f := newFixture(t)
	tok := f.tokens[store.RoleAnalyst]
	tests := []struct{ query, param string }{
		{"?role=hacker", "role"},
		{"?min_score=x", "min_score"},
		{"?min_score=1.5", "min_score"},
		{"?min_score=NaN", "min_score"},
		{"?since=yesterday", "since"},
		{"?until=2026-03-01", "until"},
		{"?address=not-an-ip", "address"},
		{"?detector=" + strings.Repeat("x", 65), "detector"},
		{"?limit=0", "limit"},
		{"?limit=1001", "limit"},
		{"?limit=ten", "limit"},
		{"?offset=-1", "offset"},
		{"?scor=1", "scor"},
		{"?role=scanner&role=c2", "role"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, body := f.do(t, "GET", "/api/v1/suspects"+tt.query, tok)
			msg, _ := body["error"].(string)
			if resp.StatusCode != 400 || !strings.HasPrefix(msg, tt.param+":") {
				t.Errorf("status %d, error %q; want 400 naming %q", resp.StatusCode, msg, tt.param)
			}
		})
	}
}

func TestGetSuspect(t *testing.T) {
	f := newFixture(t)
	tok := f.tokens[store.RoleAuditor]
	tests := []struct {
		path   string
		status int
		addr   string
		epoch  float64
	}{
		{"/api/v1/suspects/192.0.2.1", 200, "192.0.2.1", 0},
		{"/api/v1/suspects/2001:db8::%2F48", 200, "2001:db8::/48", 0},
		{"/api/v1/suspects/2001:db8::/48", 200, "2001:db8::/48", 0},
		{"/api/v1/suspects/198.18.0.9", 200, "198.18.0.9", 2},
		{"/api/v1/suspects/198.18.0.9?key_epoch=1", 200, "198.18.0.9", 1},
		{"/api/v1/suspects/198.18.0.9?key_epoch=3", 404, "", 0},
		{"/api/v1/suspects/198.18.0.9?key_epoch=x", 400, "", 0},
		{"/api/v1/suspects/192.0.2.1?limit=3", 400, "", 0},
		{"/api/v1/suspects/192.0.2.99", 404, "", 0},
		{"/api/v1/suspects/bogus", 400, "", 0},
		{"/api/v1/suspects/", 400, "", 0},
		{"/api/v1/nope", 404, "", 0},
		{"/api/v2/suspects", 404, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := f.do(t, "GET", tt.path, tok)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				if body["error"] == "" {
					t.Error("no error message")
				}
				return
			}
			if body["address"] != tt.addr {
				t.Errorf("address = %v, want %s", body["address"], tt.addr)
			}
			if e, _ := body["key_epoch"].(float64); e != tt.epoch {
				t.Errorf("key_epoch = %v, want %v", e, tt.epoch)
			}
			if _, ok := body["evidence"].([]any); !ok {
				t.Errorf("no evidence in %v", body)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	resp, body := f.do(t, "POST", "/api/v1/suspects", f.tokens[store.RoleAdmin])
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
		t.Errorf("status %d, Allow %q, body %v; want 405, GET", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
}

func TestLogsWithoutToken(t *testing.T) {
	f := newFixture(t)
	tok := f.tokens[store.RoleAnalyst]
	f.do(t, "GET", "/api/v1/suspects?role=scanner", tok)
	f.do(t, "GET", "/api/v1/suspects?token="+tok, tok)
	logs := f.logs.String()
	if !strings.Contains(logs, "api request") || !strings.Contains(logs, "principal=t-analyst") || !strings.Contains(logs, "role=scanner") {
		t.Errorf("request not logged: %s", logs)
	}
	if strings.Contains(logs, tok) || strings.Contains(logs, tok[4:]) {
		t.Errorf("token in the logs: %s", logs)
	}
}

// failingAuth is an authenticator whose store is down.
type failingAuth struct{}

func (failingAuth) Authenticate(context.Context, string) (store.Principal, error) {
	return store.Principal{}, errors.New("disk on fire")
}

func TestAuthenticatorFailure(t *testing.T) {
	h := New(Deps{Auth: failingAuth{}})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/suspects", nil)
	req.Header.Set("Authorization", "Bearer acd_x")
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "disk on fire") {
		t.Errorf("status %d, body %s; want 500 without internals", rec.Code, rec.Body)
	}
}

func TestNoBook(t *testing.T) {
	f := newFixture(t)
	h := New(Deps{Auth: f.db})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/suspects", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens[store.RoleAdmin])
	h.ServeHTTP(rec, req)
	if rec.Code != 503 {
		t.Errorf("status %d, want 503", rec.Code)
	}
}
