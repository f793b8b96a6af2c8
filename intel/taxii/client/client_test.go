package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/intel/taxii"
	"github.com/google/go-cmp/cmp"
)

const col = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"

func logger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// server starts a TAXII server on loopback, wrapped by mw when non-nil.
func server(t *testing.T, maxPage int, mw func(http.Handler) http.Handler) (*httptest.Server, *taxii.MemStore) {
	t.Helper()
	cfg := taxii.DefaultConfig()
	cfg.MaxPageSize = maxPage
	cfg.Default = "api1"
	cfg.APIRoots = []taxii.APIRootConfig{{Name: "api1", Title: "one", Collections: []taxii.CollectionConfig{
		{ID: col, Title: "shared", Read: []string{"us"}, Write: []string{"us"}},
	}}}
	store := taxii.NewMemStore(nil)
	srv, err := taxii.New(cfg, taxii.Deps{Logger: logger(), Store: store,
		Auth: taxii.APIKeys{Keys: map[string]string{taxii.HashAPIKey("us-key"): "us"}}})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = srv
	if mw != nil {
		h = mw(srv)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts, store
}

// sleeps records the waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func newClient(t *testing.T, ts *httptest.Server, mod func(*Config)) (*Client, *sleeps) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.URL, cfg.APIKey, cfg.PageSize = ts.URL+"/taxii2/", "us-key", 100
	if mod != nil {
		mod(&cfg)
	}
	s := &sleeps{}
	c, err := New(cfg, Deps{Logger: logger(), HTTP: ts.Client(), Sleep: s.sleep})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func indicator(n int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d",`+
		`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.%d']",`+
		`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, n, n%256))
}

func indicators(from, to int) []json.RawMessage {
	var out []json.RawMessage
	for i := from; i < to; i++ {
		out = append(out, indicator(i))
	}
	return out
}

func TestDiscoveryRootCollections(t *testing.T) {
	ts, _ := server(t, 1000, nil)
	c, _ := newClient(t, ts, nil)
	ctx := t.Context()
	d, err := c.Discovery(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Default != ts.URL+"/api1/" || len(d.APIRoots) != 1 {
		t.Fatalf("discovery %+v", d)
	}
	r, err := c.APIRoot(ctx, d.Default)
	if err != nil || r.Versions[0] != taxii.MediaType {
		t.Fatalf("api root %+v, %v", r, err)
	}
	cols, err := c.Collections(ctx, d.Default)
	if err != nil || len(cols) != 1 || cols[0].ID != col || !cols[0].CanRead || !cols[0].CanWrite {
		t.Fatalf("collections %+v, %v", cols, err)
	}
	bad, _ := newClient(t, ts, func(c *Config) { c.APIKey = "wrong" })
	_, err = bad.Discovery(ctx)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("wrong key: %v", err)
	}
}

// pollAll polls and returns the pages' sizes, the objects' ids and the
// bookmark.
func pollAll(t *testing.T, c *Client, root string, since time.Time) ([]int, []string, time.Time) {
	t.Helper()
	var sizes []int
	var ids []string
	bm, err := c.Poll(t.Context(), root, col, since, Filter{}, func(p Page) error {
		sizes = append(sizes, len(p.Objects))
		for _, o := range p.Objects {
			var h struct{ ID string }
			if err := json.Unmarshal(o, &h); err != nil {
				return err
			}
			ids = append(ids, h.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sizes, ids, bm
}

func idsOf(objs []json.RawMessage) []string {
	var out []string
	for _, o := range objs {
		var h struct{ ID string }
		_ = json.Unmarshal(o, &h)
		out = append(out, h.ID)
	}
	return out
}

func TestPollPagingAndBookmark(t *testing.T) {
	for _, tc := range []struct {
		name   string
		strip  bool // server sends no next: page by added_after
		server int  // server max page size
	}{
		{"next", false, 1000},
		{"server clamps", false, 100},
		{"no next", true, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mw func(http.Handler) http.Handler
			if tc.strip {
				mw = stripNext
			}
			ts, _ := server(t, tc.server, mw)
			c, _ := newClient(t, ts, func(c *Config) { c.PageSize = 100 })
			root := ts.URL + "/api1/"
			if tc.server == 100 {
				c.cfg.PageSize = 1000 // asks for more than the server gives
			}
			st, err := c.Post(t.Context(), root, col, indicators(0, 250))
			if err != nil || st.SuccessCount != 250 {
				t.Fatalf("post: %+v, %v", st, err)
			}
			sizes, ids, bm := pollAll(t, c, root, time.Time{})
			if diff := cmp.Diff(sizes, []int{100, 100, 50}); diff != "" {
				t.Errorf("page sizes (-got, +want):\n%s", diff)
			}
			if diff := cmp.Diff(ids, idsOf(indicators(0, 250))); diff != "" {
				t.Errorf("ids (-got, +want):\n%s", diff)
			}
			if _, err := c.Post(t.Context(), root, col, indicators(250, 255)); err != nil {
				t.Fatal(err)
			}
			_, ids, bm2 := pollAll(t, c, root, bm)
			if diff := cmp.Diff(ids, idsOf(indicators(250, 255))); diff != "" {
				t.Errorf("after bookmark (-got, +want):\n%s", diff)
			}
			if !bm2.After(bm) {
				t.Errorf("bookmark did not move: %v → %v", bm, bm2)
			}
			sizes, _, bm3 := pollAll(t, c, root, bm2)
			if len(sizes) != 0 || !bm3.Equal(bm2) {
				t.Errorf("nothing new: pages %v, bookmark %v → %v", sizes, bm2, bm3)
			}
		})
	}
}

// stripNext removes "next" from envelopes, like a server that pages by
// added_after only.
func stripNext(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("next") != "" {
			http.Error(w, "next given to a server without next", 400)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var env map[string]json.RawMessage
		if r.Method == "GET" && json.Unmarshal(body, &env) == nil {
			delete(env, "next")
			body, _ = json.Marshal(env)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// flaky answers the first statuses in order (with Retry-After when the
// string is non-empty), then passes to h.
func flaky(answers []answer) func(http.Handler) http.Handler {
	var mu sync.Mutex
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			var a *answer
			if len(answers) > 0 {
				a, answers = &answers[0], answers[1:]
			}
			mu.Unlock()
			if a == nil {
				h.ServeHTTP(w, r)
				return
			}
			if a.retryAfter != "" {
				w.Header().Set("Retry-After", a.retryAfter)
			}
			w.Header().Set("Content-Type", taxii.MediaType)
			w.WriteHeader(a.status)
			fmt.Fprintf(w, `{"title":"%s","http_status":"%d"}`, http.StatusText(a.status), a.status)
		})
	}
}

type answer struct {
	status     int
	retryAfter string
}

func TestRetry(t *testing.T) {
	cases := []struct {
		name    string
		answers []answer
		retries int
		sleeps  []time.Duration
		fail    int // final status when it fails
	}{
		{"ok", nil, 5, nil, 0},
		{"429 retry-after", []answer{{429, "7"}, {429, "1"}}, 5, []time.Duration{7 * time.Second, time.Second}, 0},
		{"503 backoff", []answer{{503, ""}, {502, ""}, {500, ""}}, 5, []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}, 0},
		{"retry-after capped", []answer{{503, "86400"}}, 5, []time.Duration{time.Minute}, 0},
		{"retry-after date", []answer{{429, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}, 5, []time.Duration{time.Minute}, 0},
		{"exhausted", []answer{{503, ""}, {503, ""}, {503, ""}}, 2, []time.Duration{500 * time.Millisecond, time.Second}, 503},
		{"400 not retried", []answer{{400, ""}}, 5, nil, 400},
		{"501 not retried", []answer{{501, ""}}, 5, nil, 501},
		{"403 not retried", []answer{{403, "3"}}, 5, nil, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := server(t, 1000, flaky(tc.answers))
			c, s := newClient(t, ts, func(c *Config) { c.Retries = tc.retries })
			_, err := c.Collections(t.Context(), ts.URL+"/api1/")
			var he *HTTPError
			switch {
			case tc.fail == 0 && err != nil:
				t.Fatalf("error %v", err)
			case tc.fail != 0 && (!errors.As(err, &he) || he.Status != tc.fail):
				t.Fatalf("error %v, want status %d", err, tc.fail)
			}
			if diff := cmp.Diff(s.d, tc.sleeps); diff != "" {
				t.Errorf("sleeps (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestPostRetriedIsIdempotent(t *testing.T) {
	// The first POST is lost behind a 503; the retry stores once.
	ts, store := server(t, 1000, flaky([]answer{{503, "2"}}))
	c, s := newClient(t, ts, nil)
	st, err := c.Post(t.Context(), ts.URL+"/api1", col, indicators(0, 10))
	if err != nil || st.Status != "complete" || st.SuccessCount != 10 {
		t.Fatalf("post: %+v, %v", st, err)
	}
	if store.Len(col) != 10 || len(s.d) != 1 || s.d[0] != 2*time.Second {
		t.Errorf("%d stored, sleeps %v", store.Len(col), s.d)
	}
}

func TestPostFollowsStatus(t *testing.T) {
	var mu sync.Mutex
	polls := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		st := taxii.Status{ID: "2d086da7-4bdc-4f91-900e-d77486753710", Status: "pending", TotalCount: 2, PendingCount: 2}
		switch {
		case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/objects/"):
			body, _ := io.ReadAll(r.Body)
			if !bytes.Contains(body, []byte(`"objects":[`)) || r.Header.Get("Content-Type") != taxii.MediaType {
				w.WriteHeader(400)
				return
			}
			w.WriteHeader(202)
		case r.URL.Path == "/api1/status/"+st.ID+"/":
			mu.Lock()
			polls++
			if polls == 3 {
				st.Status, st.PendingCount, st.SuccessCount = "complete", 0, 2
			}
			mu.Unlock()
		default:
			w.WriteHeader(404)
			return
		}
		_ = json.NewEncoder(w).Encode(st)
	}))
	t.Cleanup(ts.Close)
	c, s := newClient(t, ts, nil)
	st, err := c.Post(t.Context(), ts.URL+"/api1/", col, indicators(0, 2))
	if err != nil || st.Status != "complete" || st.SuccessCount != 2 {
		t.Fatalf("post: %+v, %v", st, err)
	}
	if polls != 3 || len(s.d) != 3 || s.d[0] != time.Second {
		t.Errorf("%d polls, sleeps %v", polls, s.d)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"good", func(*Config) {}, true},
		{"no url", func(c *Config) { c.URL = "" }, false},
		{"ftp", func(c *Config) { c.URL = "ftp://x/" }, false},
		{"backoffs", func(c *Config) { c.MaxBackoff = time.Millisecond }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.URL = "https://taxii.example/taxii2/"
			tc.mod(&cfg)
			if err := cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "5": 5 * time.Second, " 0 ": 0, "-3": 0, "soon": 0,
		"Thu, 26 Nov 2026 10:00:30 GMT": 30 * time.Second, "Thu, 26 Nov 2026 09:00:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
