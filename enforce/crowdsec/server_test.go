package crowdsec

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func block(target string, end time.Duration) cases.Action {
	return cases.Action{Type: cases.ActionBlock, Target: cases.MustTarget(target), NotBefore: t0, NotAfter: t0.Add(end)}
}

type fixture struct {
	clk *clock
	dec *Decisions
	srv *httptest.Server
}

// nativeConfig is DefaultConfig sending prefixes as Range decisions.
func nativeConfig() Config {
	c := DefaultConfig()
	c.Ranges = RangesNative
	return c
}

func newDecisions(t testing.TB, cfg Config, now func() time.Time) *Decisions {
	t.Helper()
	d, err := NewDecisions(cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{t: t0}
	dec := newDecisions(t, nativeConfig(), clk.now)
	keys := &MemKeys{}
	keys.Add("fw1", "key-one")
	keys.Add("fw2", "key-two")
	srv := httptest.NewServer(&Server{Decisions: dec, Keys: keys})
	t.Cleanup(srv.Close)
	return &fixture{clk, dec, srv}
}

func (f *fixture) get(t *testing.T, method, path, key string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (f *fixture) stream(t *testing.T, key string, startup bool) StreamResponse {
	t.Helper()
	path := "/v1/decisions/stream?startup=false"
	if startup {
		path = "/v1/decisions/stream?startup=true"
	}
	code, body := f.get(t, http.MethodGet, path, key)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var r StreamResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	if r.New == nil || r.Deleted == nil {
		t.Fatalf("GET %s: new and deleted must be arrays: %s", path, body)
	}
	return r
}

// brief writes decisions as "scope:value duration" for comparison.
func brief(ds []Decision) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.Scope+":"+d.Value+" "+d.Duration)
	}
	return strings.Join(s, ",")
}

func caseOf(id string) cases.Case { return cases.Case{ID: id} }

func TestStreamPerBouncer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.dec.Apply(ctx, caseOf("c1"), block("192.0.2.7", 4*time.Hour)))
	must(f.dec.Apply(ctx, caseOf("c1"), block("198.51.100.0/24", time.Hour)))
	f.clk.add(2 * time.Second) // the durations are counted from now

	steps := []struct {
		name    string
		do      func()
		key     string
		startup bool
		wantNew string
		wantDel string
	}{
		{"startup fw1", nil, "key-one", true, "Ip:192.0.2.7 3h59m58s,Range:198.51.100.0/24 59m58s", ""},
		{"nothing changed fw1", nil, "key-one", false, "", ""},
		{"ipv6 added", func() { must(f.dec.Apply(ctx, caseOf("c2"), block("2001:db8::/48", 2*time.Hour))) },
			"key-one", false, "Range:2001:db8::/48 1h59m58s", ""},
		{"idempotent apply", func() { must(f.dec.Apply(ctx, caseOf("c2"), block("2001:db8::/48", 2*time.Hour))) },
			"key-one", false, "", ""},
		{"first pull fw2 without startup gets all", nil, "key-two", false,
			"Ip:192.0.2.7 3h59m58s,Range:198.51.100.0/24 59m58s,Range:2001:db8::/48 1h59m58s", ""},
		{"withdrawn", func() { must(f.dec.Withdraw(ctx, caseOf("c1"), block("192.0.2.7", 4*time.Hour))) },
			"key-one", false, "", "Ip:192.0.2.7 0s"},
		{"expired", func() { f.clk.add(time.Hour) }, "key-one", false, "", "Range:198.51.100.0/24 0s"},
		{"fw2 sees both deletions", nil, "key-two", false, "", "Ip:192.0.2.7 0s,Range:198.51.100.0/24 0s"},
		{"added and withdrawn between pulls is not announced", func() {
			must(f.dec.Apply(ctx, caseOf("c3"), block("203.0.113.9", 3*time.Hour)))
			must(f.dec.Withdraw(ctx, caseOf("c3"), block("203.0.113.9", 3*time.Hour)))
		}, "key-two", false, "", ""},
		{"startup again", nil, "key-one", true, "Range:2001:db8::/48 59m58s",
			"Ip:192.0.2.7 0s,Range:198.51.100.0/24 0s,Ip:203.0.113.9 0s"},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		r := f.stream(t, st.key, st.startup)
		if got := brief(r.New); got != st.wantNew {
			t.Errorf("%s: new = %q, want %q", st.name, got, st.wantNew)
		}
		if got := brief(r.Deleted); got != st.wantDel {
			t.Errorf("%s: deleted = %q, want %q", st.name, got, st.wantDel)
		}
	}
}

func TestDeletedRepeatsDecision(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := block("2001:db8::1", time.Hour)
	if err := f.dec.Apply(ctx, caseOf("c9"), a); err != nil {
		t.Fatal(err)
	}
	added := f.stream(t, "key-one", true).New
	if len(added) != 1 {
		t.Fatalf("new = %v", added)
	}
	n := added[0]
	if n.Origin != "acd" || n.Type != "ban" || n.Scope != "Ip" || n.Scenario != "acd/case/c9" || n.Until != "2026-11-26T13:00:00Z" {
		t.Errorf("decision = %+v", n)
	}
	// Extending the window replaces the decision within one pull.
	a.NotAfter = a.NotAfter.Add(time.Hour)
	if err := f.dec.Apply(ctx, caseOf("c9"), a); err != nil {
		t.Fatal(err)
	}
	r := f.stream(t, "key-one", false)
	if len(r.Deleted) != 1 || r.Deleted[0].ID != n.ID || r.Deleted[0].Value != n.Value || r.Deleted[0].Scope != n.Scope {
		t.Errorf("deleted = %+v, want id %d", r.Deleted, n.ID)
	}
	if len(r.New) != 1 || r.New[0].ID == n.ID || r.New[0].Duration != "2h0m0s" {
		t.Errorf("new = %+v", r.New)
	}
}

func TestApplyRefuses(t *testing.T) {
	d := newDecisions(t, DefaultConfig(), func() time.Time { return t0 })
	ported := block("192.0.2.1", time.Hour)
	ported.Scope = cases.Scope{Protocol: 6, Ports: []cases.PortRange{{From: 22, To: 22}}}
	for _, tc := range []struct {
		name string
		a    cases.Action
		want error
	}{
		{"flowspec", cases.Action{Type: cases.ActionFlowSpec, Target: cases.MustTarget("192.0.2.1"), NotAfter: t0.Add(time.Hour)}, ErrUnsupported},
		{"ports", ported, ErrUnsupported},
		{"domain", cases.Action{Type: cases.ActionBlock, Target: cases.MustTarget("evil.example"), NotAfter: t0.Add(time.Hour)}, nil},
		{"ended", block("192.0.2.1", 0), nil},
	} {
		err := d.Apply(context.Background(), caseOf("c"), tc.a)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: Apply = %v, want an error (%v)", tc.name, err, tc.want)
		}
	}
	if d.Len() != 0 {
		t.Errorf("%d decisions after refusals", d.Len())
	}
}

func TestAuthHeadAndLookup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, a := range []struct{ id, target string }{{"c1", "192.0.2.7"}, {"c2", "198.51.100.0/24"}, {"c3", "2001:db8::/32"}} {
		if err := f.dec.Apply(ctx, caseOf(a.id), block(a.target, time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, method, path, key string
		code                    int
		want                    string // substring of the body; "" for none
	}{
		{"no key", "GET", "/v1/decisions/stream?startup=true", "", 403, "access forbidden"},
		{"bad key", "GET", "/v1/decisions?ip=192.0.2.7", "nope", 403, "access forbidden"},
		{"head", "HEAD", "/v1/decisions/stream?startup=true", "key-one", 200, ""},
		{"bad startup", "GET", "/v1/decisions/stream?startup=maybe", "key-one", 400, "startup"},
		{"post", "POST", "/v1/decisions", "key-one", 405, "not allowed"},
		{"unknown path", "GET", "/v1/alerts", "key-one", 404, "not found"},
		{"ip exact", "GET", "/v1/decisions?ip=192.0.2.7", "key-one", 200, `"value":"192.0.2.7"`},
		{"ip in range", "GET", "/v1/decisions?ip=198.51.100.200", "key-one", 200, `"scenario":"acd/case/c2"`},
		{"ipv6 in range", "GET", "/v1/decisions?ip=2001:db8:1::5", "key-one", 200, `"value":"2001:db8::/32"`},
		{"ip none", "GET", "/v1/decisions?ip=203.0.113.1", "key-one", 200, "null"},
		{"range inside", "GET", "/v1/decisions?range=198.51.100.128/25", "key-one", 200, `"scope":"Range"`},
		{"range wider not contained", "GET", "/v1/decisions?range=198.51.0.0/16", "key-one", 200, "null"},
		{"range contains=false", "GET", "/v1/decisions?range=198.51.0.0/16&contains=false", "key-one", 200, `"value":"198.51.100.0/24"`},
		{"bad ip", "GET", "/v1/decisions?ip=192.0.2.300", "key-one", 400, "192.0.2.300"},
		{"scopes filter", "GET", "/v1/decisions/stream?startup=true&scopes=ip", "key-two", 200, `"new":[{"id":1,`},
	} {
		code, body := f.get(t, tc.method, tc.path, tc.key)
		if code != tc.code {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, code, body, tc.code)
		}
		if tc.want == "" && body != "" || !strings.Contains(body, tc.want) {
			t.Errorf("%s: body %q, want %q", tc.name, body, tc.want)
		}
		if tc.want == "null" && strings.TrimSpace(body) != "null" {
			t.Errorf("%s: body %q, want null", tc.name, body)
		}
	}
	// HEAD left fw1's cursor alone: its first GET still returns everything.
	if r := f.stream(t, "key-one", false); len(r.New) != 3 {
		t.Errorf("after HEAD, new = %v, want 3 decisions", brief(r.New))
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{4*time.Hour - 2*time.Second, "3h59m58s"}, {500 * time.Millisecond, "1s"}, {time.Second, "1s"},
		{90*time.Second + 1, "1m31s"}, {0, "0s"}, {-time.Second, "0s"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%s) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

func FuzzQuery(f *testing.F) {
	for _, s := range []string{"ip=192.0.2.1", "range=::ffff:1.2.3.0/120", "range=10.0.0.0/8&contains=false",
		"scope=ip&value=1.2.3.4", "ip=1&range=2", "range=::ffff:0.0.0.0/1", "contains=x",
		"startup=true&scopes=ip,range&origins=crowdsec,cscli", "scenarios_containing=ssh,http&scenarios_not_containing=acd",
		"startup=false&origins=", "scopes=ip,,range"} {
		f.Add(s)
	}
	clk := &clock{t: t0}
	dec := newDecisions(f, nativeConfig(), clk.now)
	for _, tg := range []string{"192.0.2.7", "10.0.0.0/8", "2001:db8::/32"} {
		if err := dec.Apply(context.Background(), caseOf(tg), block(tg, time.Hour)); err != nil {
			f.Fatal(err)
		}
	}
	keys := &MemKeys{}
	keys.Add("b", "k")
	h := &Server{Decisions: dec, Keys: keys}
	f.Fuzz(func(t *testing.T, q string) {
		for _, p := range []string{"/v1/decisions?", "/v1/decisions/stream?"} {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.URL.Path, req.URL.RawQuery = strings.TrimSuffix(p, "?"), q
			req.Header.Set("X-Api-Key", "k")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 && w.Code != 400 {
				t.Fatalf("%s%s: %d %s", p, q, w.Code, w.Body)
			}
			if w.Code == 200 && !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s%s: invalid JSON %s", p, q, w.Body)
			}
		}
	})
}
