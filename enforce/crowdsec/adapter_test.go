package crowdsec

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error
	}{
		{"ranges", func(c *Config) { c.Ranges = "Expand" }, `ranges "Expand"`},
		{"max_expand zero", func(c *Config) { c.MaxExpand = 0 }, "max_expand 0"},
		{"max_expand huge", func(c *Config) { c.MaxExpand = 1 << 20 }, "max_expand 1048576"},
		{"pull_interval", func(c *Config) { c.PullInterval = 0 }, "pull_interval 0s"},
		{"retention", func(c *Config) { c.Retention = -time.Second }, "retention -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want an error with %q", err, tc.want)
			}
			if _, err := NewDecisions(c, nil); err == nil {
				t.Errorf("NewDecisions accepted %+v", c)
			}
		})
	}
}

// TestRanges: crowdsec-firewall-bouncer 0.0.25 cuts a Range value at
// "/" and bans the network address alone, so by default a prefix is sent
// as its addresses, or refused.
func TestRanges(t *testing.T) {
	for _, tc := range []struct {
		name, ranges, target string
		maxExpand            int
		want                 string // brief of the startup pull
		wantErr              error
	}{
		{"expand v4", RangesExpand, "198.51.100.0/30", 256,
			"Ip:198.51.100.0 1h0m0s,Ip:198.51.100.1 1h0m0s,Ip:198.51.100.2 1h0m0s,Ip:198.51.100.3 1h0m0s", nil},
		{"expand v6", RangesExpand, "2001:db8::/127", 256, "Ip:2001:db8:: 1h0m0s,Ip:2001:db8::1 1h0m0s", nil},
		{"expand at the limit", RangesExpand, "198.51.100.0/30", 4, "", nil},
		{"expand over the limit", RangesExpand, "198.51.100.0/29", 4, "", ErrUnsupported},
		{"expand a /64", RangesExpand, "2001:db8::/64", 1 << 16, "", ErrUnsupported},
		{"expand an address", RangesExpand, "192.0.2.1", 1, "Ip:192.0.2.1 1h0m0s", nil},
		{"native", RangesNative, "2001:db8::/64", 1, "Range:2001:db8::/64 1h0m0s", nil},
		{"refuse", RangesRefuse, "198.51.100.0/30", 256, "", ErrUnsupported},
		{"refuse keeps addresses", RangesRefuse, "2001:db8::1", 256, "Ip:2001:db8::1 1h0m0s", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Ranges, cfg.MaxExpand = tc.ranges, tc.maxExpand
			d := newDecisions(t, cfg, func() time.Time { return t0 })
			err := d.Apply(context.Background(), caseOf("c"), block(tc.target, time.Hour))
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("Apply = %v, want %v", err, tc.wantErr)
			}
			added, _ := d.Stream("b", true)
			if tc.want != "" && brief(added) != tc.want {
				t.Errorf("new = %s, want %s", brief(added), tc.want)
			}
			if tc.wantErr != nil && len(added) != 0 {
				t.Errorf("a refused action sent %s", brief(added))
			}
		})
	}
}

// TestSameValueTwoCases: bouncers key by value, so each is told one
// decision per value (the longest), and withdrawing one case never
// lifts another's ban of the same address.
func TestSameValueTwoCases(t *testing.T) {
	clk := &clock{t: t0}
	d := newDecisions(t, DefaultConfig(), clk.now)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	short, long := block("192.0.2.7", time.Hour), block("192.0.2.7", 3*time.Hour)
	steps := []struct {
		name             string
		do               func()
		wantNew, wantDel string
	}{
		{"first case", func() { must(d.Apply(ctx, caseOf("a"), short)) }, "Ip:192.0.2.7 1h0m0s", ""},
		{"longer ban by a second case replaces it", func() { must(d.Apply(ctx, caseOf("b"), long)) },
			"Ip:192.0.2.7 3h0m0s", "Ip:192.0.2.7 0s"},
		{"shorter case withdrawn: nothing to tell", func() { must(d.Withdraw(ctx, caseOf("a"), short)) }, "", ""},
		{"shorter case again: the longer stays", func() { must(d.Apply(ctx, caseOf("a"), short)) }, "", ""},
		{"longer withdrawn: back to the shorter", func() { must(d.Withdraw(ctx, caseOf("b"), long)) },
			"Ip:192.0.2.7 1h0m0s", "Ip:192.0.2.7 0s"},
		{"last withdrawn", func() { must(d.Withdraw(ctx, caseOf("a"), short)) }, "", "Ip:192.0.2.7 0s"},
	}
	for i, st := range steps {
		st.do()
		added, deleted := d.Stream("fw", i == 0)
		if brief(added) != st.wantNew || brief(deleted) != st.wantDel {
			t.Errorf("%s: new %q deleted %q, want %q %q", st.name, brief(added), brief(deleted), st.wantNew, st.wantDel)
		}
		if len(added) == 1 && len(deleted) == 1 && added[0].ID == deleted[0].ID {
			t.Errorf("%s: the same id %d is both deleted and new", st.name, added[0].ID)
		}
	}
}

func TestHeadIsNotAPull(t *testing.T) {
	f := newFixture(t)
	if err := f.dec.Apply(context.Background(), caseOf("c1"), block("192.0.2.7", time.Hour)); err != nil {
		t.Fatal(err)
	}
	code, body := f.get(t, http.MethodHead, "/v1/decisions/stream", "key-one")
	if code != http.StatusOK || body != "" {
		t.Errorf("HEAD = %d %q, want 200 and no body", code, body)
	}
	if lp := f.dec.LastPull("fw1"); !lp.IsZero() {
		t.Errorf("LastPull after HEAD = %s, want zero", lp)
	}
	if r := f.stream(t, "key-one", false); len(r.New) != 1 {
		t.Errorf("GET after HEAD: new = %s", brief(r.New))
	}
	if lp := f.dec.LastPull("fw1"); !lp.Equal(t0) {
		t.Errorf("LastPull after GET = %s, want %s", lp, t0)
	}
}

func TestStreamFilters(t *testing.T) {
	f := newFixture(t)
	for _, a := range []struct{ id, target string }{{"c1", "192.0.2.7"}, {"c2", "198.51.100.0/24"}} {
		if err := f.dec.Apply(context.Background(), caseOf(a.id), block(a.target, time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, query string
		code        int
		want        string // brief of new
	}{
		{"no filter", "", 200, "Ip:192.0.2.7 1h0m0s,Range:198.51.100.0/24 1h0m0s"},
		{"scopes", "&scopes=Range", 200, "Range:198.51.100.0/24 1h0m0s"},
		{"origins other", "&origins=crowdsec,cscli", 200, ""},
		{"origins acd", "&origins=cscli,acd", 200, "Ip:192.0.2.7 1h0m0s,Range:198.51.100.0/24 1h0m0s"},
		{"scenarios_containing", "&scenarios_containing=CASE/C2", 200, "Range:198.51.100.0/24 1h0m0s"},
		{"scenarios_not_containing", "&scenarios_not_containing=case/c2,ssh", 200, "Ip:192.0.2.7 1h0m0s"},
		{"empty item", "&origins=acd,", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.get(t, http.MethodGet, "/v1/decisions/stream?startup=true"+tc.query, "key-one")
			if code != tc.code {
				t.Fatalf("%d %s, want %d", code, body, tc.code)
			}
			if code != 200 {
				return
			}
			r := f.stream(t, "key-one", true) // same query without filter must still be complete
			if len(r.New) != 2 {
				t.Errorf("unfiltered startup: %s", brief(r.New))
			}
			var got StreamResponse
			decodeJSON(t, body, &got)
			if brief(got.New) != tc.want {
				t.Errorf("new = %q, want %q", brief(got.New), tc.want)
			}
		})
	}
}

func item(c string, i int, a cases.Action) enforce.Item {
	return enforce.Item{Case: caseOf(c), Index: i, Action: a}
}

func TestSync(t *testing.T) {
	clk := &clock{t: t0}
	cfg := DefaultConfig()
	cfg.PullInterval = 10 * time.Second
	d := newDecisions(t, cfg, clk.now)
	ctx := context.Background()
	for _, a := range []struct{ id, target string }{{"c1", "192.0.2.1"}, {"c2", "192.0.2.2"}, {"c3", "192.0.2.3"}} {
		if err := d.Apply(ctx, caseOf(a.id), block(a.target, time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	d.Stream("fw-old", true)
	clk.add(20 * time.Second)
	d.Stream("fw", true)
	clk.add(15 * time.Second) // fw-old: 35 s > 3×10 s; fw: 15 s

	ported := block("192.0.2.9", time.Hour)
	ported.Scope.Protocol = 6
	desired := []enforce.Item{
		item("c1", 0, block("192.0.2.1", time.Hour)),   // unchanged
		item("c2", 0, block("192.0.2.2", 2*time.Hour)), // end changed
		item("c4", 1, block("192.0.2.4", time.Hour)),   // missing
		item("c5", 0, ported),                          // refused
		item("c6", 0, block("192.0.2.6", 0)),           // ended: not in effect
		// c3 is extra
	}
	drift, err := d.Sync(ctx, desired)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "c5/0") {
		t.Errorf("Sync error = %v, want ErrUnsupported naming c5/0", err)
	}
	want := enforce.Drift{Desired: 5, Missing: 1, Extra: 1, Changed: 1, Details: []string{
		"changed 192.0.2.2 (c2/0): until 2026-11-26T14:00:00Z",
		"extra 192.0.2.3 (case c3)",
		"missing 192.0.2.4 (c4/1)",
		"stale bouncer fw-old: last pull 35s ago (expected every 10s)",
	}}
	if diff := cmp.Diff(drift, want); diff != "" {
		t.Errorf("drift (-got, +want):\n%s", diff)
	}
	added, deleted := d.Stream("fw", false)
	if got, wantNew := brief(added), "Ip:192.0.2.2 1h59m25s,Ip:192.0.2.4 59m25s"; got != wantNew {
		t.Errorf("new after sync = %s, want %s", got, wantNew)
	}
	if got, wantDel := brief(deleted), "Ip:192.0.2.2 0s,Ip:192.0.2.3 0s"; got != wantDel {
		t.Errorf("deleted after sync = %s, want %s", got, wantDel)
	}
	// A second sync with the same items repairs nothing.
	drift, _ = d.Sync(ctx, desired)
	if drift.Total() != 0 {
		t.Errorf("second sync: %+v", drift)
	}
	st := d.Bouncers()
	wantSt := []BouncerStatus{
		{Name: "fw", LastPull: t0.Add(35 * time.Second), Pulls: 2, DecisionsSent: 7, Holding: 3},
		{Name: "fw-old", LastPull: t0, Pulls: 1, DecisionsSent: 3, Holding: 3, Stale: true},
	}
	if diff := cmp.Diff(st, wantSt); diff != "" {
		t.Errorf("Bouncers (-got, +want):\n%s", diff)
	}
	if lp := d.LastPull("nobody"); !lp.IsZero() {
		t.Errorf("LastPull(nobody) = %s", lp)
	}
}

func TestSyncDetailsBounded(t *testing.T) {
	d := newDecisions(t, DefaultConfig(), func() time.Time { return t0 })
	var items []enforce.Item
	for i := range 200 {
		items = append(items, item("c", i, block(fmt.Sprintf("10.0.%d.%d", i/250, i%250), time.Hour)))
	}
	drift, err := d.Sync(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if drift.Missing != 200 || len(drift.Details) != maxDetails || !strings.HasPrefix(drift.Details[maxDetails-1], "… and 151 more") {
		t.Errorf("missing %d, %d details, last %q", drift.Missing, len(drift.Details), drift.Details[len(drift.Details)-1])
	}
}

func decodeJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
}

// TestStreamGolden fixes the stream's JSON as bouncers read it.
func TestStreamGolden(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, a := range []struct{ id, target string }{{"c1", "192.0.2.7"}, {"c2", "198.51.100.0/24"}, {"c3", "2001:db8::7"}} {
		if err := f.dec.Apply(ctx, caseOf(a.id), block(a.target, 4*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	f.clk.add(90 * time.Second)
	steps := []struct {
		name    string
		do      func() error
		startup bool
	}{
		{"stream-startup", nil, true},
		{"stream-delta", func() error {
			if err := f.dec.Withdraw(ctx, caseOf("c1"), block("192.0.2.7", 4*time.Hour)); err != nil {
				return err
			}
			return f.dec.Apply(ctx, caseOf("c4"), block("203.0.113.0/28", time.Hour))
		}, false},
	}
	for _, st := range steps {
		if st.do != nil {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
		}
		path := "/v1/decisions/stream?startup=false"
		if st.startup {
			path = "/v1/decisions/stream?startup=true"
		}
		code, body := f.get(t, http.MethodGet, path, "key-one")
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", st.name, code, body)
		}
		golden(t, st.name+".json", body)
	}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(got, string(want)); diff != "" {
		t.Errorf("%s (-got, +want):\n%s", path, diff)
	}
}

// BenchmarkStream measures one bouncer pull with 10 000 active
// decisions: a delta pull with nothing new, a delta pull after one
// apply, and a startup pull.
func BenchmarkStream(b *testing.B) {
	d := newDecisions(b, DefaultConfig(), func() time.Time { return t0 })
	ctx := context.Background()
	for i := range 10000 {
		if err := d.Apply(ctx, caseOf(fmt.Sprint(i)), block(fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255), time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	extra := block("192.0.2.1", time.Hour)
	for _, bc := range []struct {
		name    string
		startup bool
		change  bool
	}{{"unchanged", false, false}, {"one-change", false, true}, {"startup", true, false}} {
		b.Run(bc.name, func(b *testing.B) {
			d.Stream("fw", true)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if bc.change {
					i++
					extra.NotAfter = t0.Add(time.Hour + time.Duration(i)*time.Second)
					if err := d.Apply(ctx, caseOf("extra"), extra); err != nil {
						b.Fatal(err)
					}
				}
				if a, _ := d.Stream("fw", bc.startup); bc.change && len(a) != 1 {
					b.Fatalf("new = %d decisions, want 1", len(a))
				}
			}
		})
	}
}
