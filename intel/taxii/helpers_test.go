package taxii

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

// Collections of the test configuration.
const (
	colA      = "91a7b528-80eb-42ed-a74d-c6fbd5a26116" // alice rw, bob r
	colB      = "52892447-4d7e-4f70-b94d-d7f22742ff63" // alice r
	colW      = "64993447-4d7e-4f70-b94d-d7f22742ff63" // alice, eve w
	colHidden = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4" // carol r
)

// API keys of the test principals.
var keys = map[string]string{"alice": "alice-key", "bob": "bob-key", "eve": "eve-key"}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Title, cfg.Description, cfg.Contact = "acd test", "test server", "soc@example.org"
	cfg.Default = "api1"
	cfg.APIRoots = []APIRootConfig{{
		Name: "api1", Title: "API root one", MaxContentLength: 64 << 10,
		Collections: []CollectionConfig{
			{ID: colA, Title: "A", Alias: "a", Read: []string{"alice", "bob"}, Write: []string{"alice"}},
			{ID: colB, Title: "B", Read: []string{"alice"}},
			{ID: colW, Title: "W", Write: []string{"alice", "eve"}},
			{ID: colHidden, Title: "Hidden", Read: []string{"carol"}},
		},
	}, {Name: "api2", Title: "API root two"}}
	return cfg
}

// fixture is a server over a MemStore with a fake clock.
type fixture struct {
	t     *testing.T
	srv   *Server
	store *MemStore
	clock *fakeClock
	ids   int
}

func newFixture(t *testing.T, mod func(*Config, *Deps)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &fakeClock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}}
	f.store = NewMemStore(f.clock.Now)
	hashed := map[string]string{}
	for name, k := range keys {
		hashed[HashAPIKey(k)] = name
	}
	carol, err := bcrypt.GenerateFromPassword([]byte("carol-pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	var mu sync.Mutex
	deps := Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store:  f.store,
		Auth:   Authenticators{APIKeys{Keys: hashed}, BasicAuth{"carol": string(carol)}},
		Now:    f.clock.Now,
		NewID: func() string {
			mu.Lock()
			defer mu.Unlock()
			f.ids++
			return fmt.Sprintf("00000000-0000-4000-8000-%012d", f.ids)
		},
	}
	if mod != nil {
		mod(&cfg, &deps)
	}
	f.srv, err = New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// with returns f reporting to t (for subtests).
func (f *fixture) with(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}

// response is what a request got.
type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// req is a request to make.
type req struct {
	Method, Path, Who, Body string
	Header                  map[string]string // replaces defaults
}

// do runs r against the server: authenticated as r.Who by API key,
// Accept TAXII and (with a body) Content-Type TAXII unless overridden.
func (f *fixture) do(r req) response {
	f.t.Helper()
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	hr := httptest.NewRequest(r.Method, "http://taxii.test"+r.Path, body)
	if r.Who != "" {
		hr.Header.Set("X-API-Key", keys[r.Who])
	}
	hr.Header.Set("Accept", MediaType)
	if r.Body != "" {
		hr.Header.Set("Content-Type", MediaType)
	}
	for k, v := range r.Header {
		if v == "" {
			hr.Header.Del(k)
			continue
		}
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, hr)
	return response{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// ok runs r and fails unless it gets want; it returns the body.
func (f *fixture) ok(r req, want int) response {
	f.t.Helper()
	resp := f.do(r)
	if resp.Code != want {
		f.t.Fatalf("%s %s: status %d, want %d; body %s", r.Method, r.Path, resp.Code, want, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != MediaType {
		f.t.Fatalf("%s %s: Content-Type %q, want %q", r.Method, r.Path, ct, MediaType)
	}
	return resp
}

// decode unmarshals a response body.
func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("unable to decode %s: %v", b, err)
	}
	return v
}

// indicator returns an indicator's JSON with the given uuid suffix and
// modified time.
func indicator(n int, modified string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d",`+
		`"created":"2026-01-01T00:00:00.000Z","modified":%q,"pattern":"[ipv4-addr:value = '198.51.100.%d']",`+
		`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, n, modified, n%256)
}

func indicatorID(n int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", n) }

// envelopeOf wraps objects in an envelope.
func envelopeOf(objs ...string) string { return `{"objects":[` + strings.Join(objs, ",") + `]}` }

// post posts objs to collection as alice and returns the status.
func (f *fixture) post(collection string, objs ...string) Status {
	f.t.Helper()
	resp := f.ok(req{Method: http.MethodPost, Path: "/api1/collections/" + collection + "/objects/", Who: "alice", Body: envelopeOf(objs...)}, http.StatusAccepted)
	return decode[Status](f.t, resp.Body)
}

// envelopeResp is a decoded envelope.
type envelopeResp struct {
	More    bool             `json:"more"`
	Next    string           `json:"next"`
	Objects []map[string]any `json:"objects"`
}

func (e envelopeResp) ids() []string {
	var out []string
	for _, o := range e.Objects {
		out = append(out, fmt.Sprint(o["id"], "@", o["modified"]))
	}
	return out
}

// golden compares got with testdata/golden/name, rewritten with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err == nil {
		got = append(pretty.Bytes(), '\n')
	}
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("unable to read golden file (run with -update): %v", err)
	}
	if diff := cmp.Diff(string(got), string(want)); diff != "" {
		t.Errorf("%s (-got, +want):\n%s", name, diff)
	}
}
