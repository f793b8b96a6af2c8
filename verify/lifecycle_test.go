package verify

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/flow"
)

// TestSilence: on a live feed where every flow stops at activation, event
// time follows the injected wall clock and the verdict still comes, but
// not before the after window has closed.
func TestSilence(t *testing.T) {
	const c2 = "192.0.2.66"
	clock := &fakeClock{t: t0}
	var got []Result
	cfg := DefaultConfig()
	v := newVerifier(t, cfg, Deps{Live: true, Now: clock.Now, OnVerdict: func(r Result) { got = append(got, r) }})
	it := item("silent", cases.ActionBlock, c2, cases.Scope{})
	if err := v.Prewatch(it, end); err != nil {
		t.Fatal(err)
	}
	recs := stream(beacon(c2, "10.0.0.5"))
	var before []flow.Record
	for _, r := range recs {
		if r.Start < activeAt.UnixMilli() {
			before = append(before, r)
		}
	}
	feed(v, clock, before, 32)
	if err := v.Watch(it, activeAt, nil); err != nil {
		t.Fatal(err)
	}
	// The after window is [12:10, 12:15). The last record started at
	// 12:07:59 and was consumed at 12:08:00 (wall); event time then
	// follows the wall clock with that 1 s offset and a minute of
	// lateness, so the verdict is due at 12:16:01.
	for _, tc := range []struct {
		now  time.Time
		want int
	}{
		{activeAt.Add(time.Minute), 0},
		{t0.Add(15 * time.Minute), 0},
		{t0.Add(16 * time.Minute), 0},
		{t0.Add(16*time.Minute + time.Second), 1},
		{t0.Add(30 * time.Minute), 1},
	} {
		clock.Set(tc.now)
		v.Evaluate(clock.Now())
		if len(got) != tc.want {
			t.Fatalf("at %s: %d verdicts, want %d", tc.now.Format(time.TimeOnly), len(got), tc.want)
		}
	}
	if got[0].Verdict != Effective || got[0].Before.Flows != 12 {
		t.Errorf("verdict %+v, want effective from 12 flows/min", got[0])
	}
}

// TestRestart: after a restart the lead calls Watch again with the
// original activation time; the counts before the restart are lost, so
// the after window starts at the first minute observed and the baseline
// must come from a hint.
func TestRestart(t *testing.T) {
	const c2 = "192.0.2.66"
	recs := stream(within(t0, activeAt.Add(30*time.Second), beacon(c2, "10.0.0.5")))
	restartAt := activeAt.Add(3 * time.Minute)
	var pre, post []flow.Record
	for _, r := range recs {
		if r.Start < restartAt.UnixMilli() {
			pre = append(pre, r)
		} else {
			post = append(post, r)
		}
	}
	it := item("restart", cases.ActionBlock, c2, cases.Scope{})
	for _, tc := range []struct {
		name string
		hint *Rate
		want Verdict
	}{
		{"no hint", nil, Unmeasurable},
		{"hint", &Rate{Flows: 12, Packets: 42}, Effective},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{t: t0}
			var got []Result
			deps := Deps{Live: true, Now: clock.Now, OnVerdict: func(r Result) { got = append(got, r) }}
			v1 := newVerifier(t, DefaultConfig(), deps)
			if err := v1.Prewatch(it, end); err != nil {
				t.Fatal(err)
			}
			feed(v1, clock, pre[:len(pre)/2], 32)
			if err := v1.Watch(it, activeAt, tc.hint); err != nil {
				t.Fatal(err)
			}
			feed(v1, clock, pre[len(pre)/2:], 32)
			if len(got) != 0 {
				t.Fatalf("verdict before the restart: %+v", got)
			}
			// The process restarts: a new verifier, Watch with the
			// original activation time.
			v2 := newVerifier(t, DefaultConfig(), deps)
			for range 2 { // idempotent
				if err := v2.Watch(it, activeAt, tc.hint); err != nil {
					t.Fatal(err)
				}
			}
			feed(v2, clock, post, 32)
			clock.Set(end.Add(time.Hour))
			v2.Evaluate(clock.Now())
			if err := v2.Watch(it, activeAt, tc.hint); err != nil {
				t.Fatal(err)
			}
			v2.Evaluate(clock.Now())
			if len(got) != 1 {
				t.Fatalf("%d verdicts, want 1: %+v", len(got), got)
			}
			r := got[0]
			// The restart happened at 12:11 (wall clock at the last record
			// consumed): the first whole minute observed is 12:12.
			wantAfter := Span{t0.Add(12 * time.Minute), t0.Add(17 * time.Minute)}
			if r.Verdict != tc.want || r.AfterWindow != wantAfter || r.Before.Minutes != 0 {
				t.Errorf("got %s, after window %v, before %+v; want %s, after window %v: %s", r.Verdict, r.AfterWindow,
					r.Before, tc.want, wantAfter, r.Reason)
			}
		})
	}
}

// TestMatching checks which records count for which watch, with
// overlapping targets.
func TestMatching(t *testing.T) {
	at := t0.Add(time.Minute)
	watches := map[string]string{ // key case → target
		"host": "203.0.113.9", "net24": "203.0.113.0/24", "net16": "203.0.0.0/16",
		"v6": "2001:db8:bad::/48", "other": "198.51.100.0/24",
		"v6-40": "2001:db8:ab00::/40", "wide6": "2400::/12", "wide4": "100.0.0.0/8",
	}
	tests := []struct {
		name string
		rec  flow.Record
		want []string // watches that count it
	}{
		{"source in three nested targets", rec(at, "203.0.113.9", "172.16.1.1", 6, 1, 2, 1), []string{"host", "net16", "net24"}},
		{"destination in two", rec(at, "172.16.1.1", "203.0.113.10", 6, 1, 2, 1), []string{"net16", "net24"}},
		{"both ends in one target count once", rec(at, "203.0.113.9", "203.0.113.10", 6, 1, 2, 1), []string{"host", "net16", "net24"}},
		{"ipv6", rec(at, "2001:db8:bad::1", "2001:db8::1", 17, 1, 2, 1), []string{"v6"}},
		{"ipv4-mapped is not ipv6", rec(at, "172.16.1.1", "::ffff:198.51.100.1", 17, 1, 2, 1), []string{"other"}},
		{"ipv6 /40", rec(at, "2001:db8:abcd::1", "2001:db8::1", 17, 1, 2, 1), []string{"v6-40"}},
		{"ipv6 /12", rec(at, "2001:db8::1", "240f:1::1", 17, 1, 2, 1), []string{"wide6"}},
		{"ipv4 /8", rec(at, "100.127.3.4", "172.16.1.1", 17, 1, 2, 1), []string{"wide4"}},
		{"miss", rec(at, "172.16.1.1", "172.16.2.2", 6, 1, 2, 1), nil},
		{"pseudonymized source", func() flow.Record {
			r := rec(at, "203.0.113.9", "172.16.1.1", 6, 1, 2, 1)
			r.Pseudo = flow.PseudoSrc
			return r
		}(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, DefaultConfig(), Deps{})
			for k, target := range watches {
				if err := v.Prewatch(item(k, cases.ActionBlock, target, cases.Scope{}), end); err != nil {
					t.Fatal(err)
				}
			}
			v.Observe([]flow.Record{tc.rec})
			v.Observe([]flow.Record{rec(at.Add(2*time.Minute), "1.1.1.1", "2.2.2.2", 6, 1, 2, 1)}) // moves event time
			v.Evaluate(time.Time{})
			var counted []string
			for _, s := range v.Status() {
				if s.Before.Flows > 0 {
					counted = append(counted, s.CaseID)
					if total := s.Before.Flows * float64(s.Before.Minutes); total != 1 {
						t.Errorf("%s: %+v, want one flow in all", s.CaseID, s.Before)
					}
				}
			}
			if strings.Join(counted, ",") != strings.Join(tc.want, ",") {
				t.Errorf("counted by %v, want %v", counted, tc.want)
			}
		})
	}
}

// TestRefilter: after many removals the filter is rebuilt and what is
// still watched still matches.
func TestRefilter(t *testing.T) {
	v := newVerifier(t, DefaultConfig(), Deps{})
	for i := range 300 {
		target := "45.0." + itoa(i/200) + "." + itoa(i%200+1)
		if i%2 == 1 {
			target = "101." + itoa(i/256) + "." + itoa(i%256) + ".0/24"
		}
		if err := v.Prewatch(item("w"+itoa(i), cases.ActionBlock, target, cases.Scope{}), end); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 290 {
		v.Unwatch(enforce.ItemKey("w"+itoa(i), 0))
	}
	if v.filter.stale >= 290 {
		t.Fatalf("filter never rebuilt (%d stale)", v.filter.stale)
	}
	at := t0.Add(time.Minute)
	v.Observe([]flow.Record{
		rec(at, "45.0.1.91", "172.16.1.1", 6, 1, 2, 1),  // w290
		rec(at, "45.0.1.89", "172.16.1.1", 6, 1, 2, 1),  // w288, removed
		rec(at, "172.16.1.1", "101.1.35.7", 6, 1, 2, 1), // w291
		rec(at, "172.16.1.1", "101.1.31.7", 6, 1, 2, 1), // w287, removed
	})
	if m := testutil.ToFloat64(v.m.matched); m != 2 {
		t.Errorf("matched %v, want 2", m)
	}
}

// TestLifecycle covers Unwatch, prewatch expiry, max_watches, a changed
// action and the metrics.
func TestLifecycle(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxWatches = 2
	reg := prometheus.NewPedanticRegistry()
	v := newVerifier(t, cfg, Deps{Registerer: reg})
	a := item("a", cases.ActionBlock, "203.0.113.1", cases.Scope{})
	b := item("b", cases.ActionBlock, "203.0.113.2", cases.Scope{})
	c := item("c", cases.ActionBlock, "203.0.113.3", cases.Scope{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(v.Prewatch(a, t0.Add(time.Hour)))
	must(v.Prewatch(b, t0.Add(2*time.Minute)))
	if err := v.Prewatch(c, t0.Add(time.Hour)); !errors.Is(err, ErrFull) {
		t.Fatalf("third prewatch: %v, want ErrFull", err)
	}
	// A watch may push the oldest prewatch out.
	must(v.Watch(c, t0, nil))
	if got := states(v); got != "b:prewatch c:watching" {
		t.Fatalf("states %q", got)
	}
	// b expires once event time passes its until.
	v.Observe([]flow.Record{rec(t0.Add(4*time.Minute), "203.0.113.2", "172.16.1.1", 6, 1, 2, 1)})
	v.Evaluate(time.Time{})
	if got := states(v); got != "c:watching" {
		t.Fatalf("after expiry: states %q", got)
	}
	// A new case version with another target starts afresh.
	c2 := item("c", cases.ActionBlock, "203.0.113.33", cases.Scope{})
	must(v.Watch(c2, t0, nil))
	if s := v.Status(); len(s) != 1 || s[0].Target != "203.0.113.33" {
		t.Fatalf("status after the change: %+v", s)
	}
	v.Unwatch(c2.Key())
	v.Unwatch("nothing/0")
	if len(v.Status()) != 0 || len(v.hosts) != 0 || v.nNets != 0 {
		t.Fatalf("after Unwatch: %+v, %d hosts, %d nets", v.Status(), len(v.hosts), v.nNets)
	}
	if n := testutil.ToFloat64(v.m.records); n != 1 {
		t.Errorf("records_total %v, want 1", n)
	}
	if n := testutil.ToFloat64(v.m.matched); n != 1 {
		t.Errorf("matched_total %v, want 1 (b counted its record)", n)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader("# HELP acd_verify_watches Targets followed (prewatched, watched and judged).\n# TYPE acd_verify_watches gauge\nacd_verify_watches 0\n"),
		"acd_verify_watches"); err != nil {
		t.Error(err)
	}
	for _, bad := range []struct {
		name string
		err  error
	}{
		{"no case", v.Watch(item("", cases.ActionBlock, "203.0.113.1", cases.Scope{}), t0, nil)},
		{"no time", v.Watch(a, time.Time{}, nil)},
	} {
		if bad.err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
}

func states(v *Verifier) string {
	var s []string
	for _, w := range v.Status() {
		s = append(s, w.CaseID+":"+string(w.State))
	}
	return strings.Join(s, " ")
}

// TestLateRecords: a record whose minute has left a watch's history is
// ignored and counted as late.
func TestLateRecords(t *testing.T) {
	v := newVerifier(t, DefaultConfig(), Deps{})
	it := item("late", cases.ActionBlock, "203.0.113.1", cases.Scope{})
	if err := v.Prewatch(it, end.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ring := time.Duration(v.ring) * time.Minute
	v.Observe([]flow.Record{rec(t0.Add(ring), "203.0.113.1", "172.16.1.1", 6, 1, 2, 1)})
	v.Observe([]flow.Record{rec(t0, "203.0.113.1", "172.16.1.1", 6, 1, 2, 1)}) // same slot, older minute
	if m, l := testutil.ToFloat64(v.m.matched), testutil.ToFloat64(v.m.late); m != 1 || l != 1 {
		t.Errorf("matched %v late %v, want 1 and 1", m, l)
	}
}

// TestConcurrent runs Consume from several goroutines beside the
// control calls (for -race) and checks no record is lost.
func TestConcurrent(t *testing.T) {
	v := newVerifier(t, DefaultConfig(), Deps{})
	it := item("conc", cases.ActionBlock, "203.0.113.0/24", cases.Scope{})
	if err := v.Prewatch(it, end.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := v.Start(ctx); err != nil {
		t.Fatal(err)
	}
	const workers, batches = 4, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range batches {
				at := t0.Add(time.Duration(i) * time.Second)
				v.Consume(&flow.Batch{Records: []flow.Record{
					rec(at, "203.0.113.7", "172.16.1."+itoa(w+1), 6, 1, 2, 1),
					rec(at, "172.16.1.1", "172.16.1.2", 6, 1, 2, 1),
				}})
				if i%10 == 0 {
					v.Evaluate(time.Now())
					_ = v.Status()
					_ = v.Watch(item("other"+itoa(i), cases.ActionBlock, "198.51.100."+itoa(i+1), cases.Scope{}), at, nil)
				}
			}
		})
	}
	wg.Wait()
	cancel()
	v.Stop()
	if m := testutil.ToFloat64(v.m.matched); m != workers*batches {
		t.Errorf("matched %v, want %d", m, workers*batches)
	}
}

// TestStatusAndRewatch follows one item through Status, its verdict, and
// a second execution at another time (a new judgement, afresh).
func TestStatusAndRewatch(t *testing.T) {
	const c2 = "192.0.2.66"
	var got []Result
	v := newVerifier(t, DefaultConfig(), Deps{OnVerdict: func(r Result) { got = append(got, r) }})
	it := item("st", cases.ActionBlock, c2, cases.Scope{})
	if err := v.Prewatch(it, end.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	recs := stream(within(t0, activeAt.Add(30*time.Second), beacon(c2, "10.0.0.5")))
	cut := func(at time.Time) int {
		for i, r := range recs {
			if r.Start >= at.UnixMilli() {
				return i
			}
		}
		return len(recs)
	}
	a, b := cut(activeAt), cut(t0.Add(12*time.Minute))
	feed(v, nil, recs[:a], 50)
	if s := v.Status(); len(s) != 1 || s[0].State != StatePrewatch || s[0].Before.Flows != 12 {
		t.Fatalf("prewatch status %+v, want 12 flows/min so far", s)
	}
	if err := v.Watch(it, activeAt, nil); err != nil {
		t.Fatal(err)
	}
	feed(v, nil, recs[a:b], 50)
	s := v.Status()
	if len(s) != 1 || s[0].State != StateWatching || s[0].Before.Flows != 12 || s[0].After.Minutes != 0 ||
		s[0].AfterWindow.From != t0.Add(10*time.Minute) || s[0].Result != nil {
		t.Fatalf("watching status %+v", s)
	}
	feed(v, nil, recs[b:], 50)
	s = v.Status()
	if len(got) != 1 || len(s) != 1 || s[0].State != StateJudged || s[0].Result == nil ||
		s[0].Result.Verdict != Effective || s[0].Before.Flows != 12 {
		t.Fatalf("judged status %+v, verdicts %+v", s, got)
	}
	// Executed again at 12:20 (after a withdrawal): a new judgement,
	// with no baseline this time (nothing was prewatched).
	again := end
	if err := v.Watch(it, again, nil); err != nil {
		t.Fatal(err)
	}
	more := stream()
	for i := range more {
		more[i].Start += 20 * 60_000
		more[i].End += 20 * 60_000
	}
	feed(v, nil, more, 50)
	if len(got) != 2 || got[1].Verdict != Unmeasurable || !got[1].ActiveAt.Equal(again) {
		t.Fatalf("verdicts %+v, want a second one, unmeasurable", got)
	}
}
