package bgp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// rib renders acd's paths in the speaker's RIB, one "key => signature"
// line each, sorted.
func rib(t testing.TB, s *Speaker) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.listOurs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for k, p := range m {
		r, err := p.r.decoded()
		if err != nil {
			t.Fatal(err)
		}
		if k != r.key() {
			t.Fatalf("RIB path %s under the wrong key", r)
		}
		out = append(out, r.String()+" => "+p.sig)
	}
	slices.Sort(out)
	return out
}

const (
	rtbh7   = "ipv4-unicast 203.0.113.7/32 => communities 65535:65281 65535:666; large 65000:7999:0; nexthop 192.0.2.1"
	rtbh8   = "ipv4-unicast 203.0.113.8/32 => communities 65535:65281 65535:666; large 65000:7999:0; nexthop 192.0.2.1"
	rtbh6   = "ipv6-unicast 2001:db8:1::7/128 => communities 65535:65281 65535:666; large 65000:7999:0; nexthop 100::1"
	fsDrop  = "ipv4-flowspec [source: 198.51.100.7/32][protocol: ==udp] => extcommunities discard(as: 65000); large 65000:8955:0"
	fsRate  = "ipv4-flowspec [source: 198.51.100.7/32][protocol: ==udp] => extcommunities rate: 1000.000000(as: 65000); large 65000:8955:0"
	fsDrop6 = "ipv6-flowspec [source: 2001:db8:66::/48/0] => extcommunities discard(as: 65000); large 65000:8955:0"
)

func TestApplyWithdraw(t *testing.T) {
	s := startSpeaker(t, testConfig())
	ctx := context.Background()
	udpDrop := action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Protocol: 17})
	udpRate := action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Protocol: 17, RateBps: 1000})
	c1 := caseOf("c1", action(cases.ActionRTBH, "203.0.113.7", cases.Scope{}), udpRate, action(cases.ActionRTBH, "2001:db8:1::7", cases.Scope{}))
	c2 := caseOf("c2", action(cases.ActionRTBH, "203.0.113.7", cases.Scope{}), udpDrop)
	apply := func(c cases.Case, i int) func() error { return func() error { return s.Apply(ctx, c, c.Actions[i]) } }
	withdraw := func(c cases.Case, i int) func() error {
		return func() error { return s.Withdraw(ctx, c, c.Actions[i]) }
	}
	for _, step := range []struct {
		name string
		do   func() error
		want []string
	}{
		{"apply rtbh", apply(c1, 0), []string{rtbh7}},
		{"apply rtbh again", apply(c1, 0), []string{rtbh7}},
		{"apply rtbh v6", apply(c1, 2), []string{rtbh7, rtbh6}},
		{"second case, same host", apply(c2, 0), []string{rtbh7, rtbh6}},
		{"withdraw the first: the second keeps it", withdraw(c1, 0), []string{rtbh7, rtbh6}},
		{"withdraw the first again", withdraw(c1, 0), []string{rtbh7, rtbh6}},
		{"withdraw the second: gone", withdraw(c2, 0), []string{rtbh6}},
		{"withdraw what is absent", withdraw(c2, 0), []string{rtbh6}},
		{"rate limit", apply(c1, 1), []string{fsRate, rtbh6}},
		{"drop of the same flow wins", apply(c2, 1), []string{fsDrop, rtbh6}},
		{"withdraw the drop: the rate limit is back", withdraw(c2, 1), []string{fsRate, rtbh6}},
		{"withdraw the rate limit", withdraw(c1, 1), []string{rtbh6}},
		{"withdraw v6", withdraw(c1, 2), []string{}},
	} {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if diff := cmp.Diff(rib(t, s), step.want); diff != "" {
			t.Fatalf("%s: RIB (-got, +want):\n%s", step.name, diff)
		}
	}
}

func TestApplyRefuses(t *testing.T) {
	s := startSpeaker(t, testConfig())
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		a    cases.Action
		want error
	}{
		{"rtbh outside owned prefixes", action(cases.ActionRTBH, "198.51.100.7", cases.Scope{}), ErrUnsupported},
		{"rtbh wider than a host route", action(cases.ActionRTBH, "203.0.113.0/24", cases.Scope{}), ErrUnsupported},
		{"flowspec with a domain target", action(cases.ActionFlowSpec, "evil.example", cases.Scope{}), ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Apply(ctx, caseOf("c1", tc.a), tc.a)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Apply: %v, want %v", err, tc.want)
			}
			if got := rib(t, s); len(got) != 0 {
				t.Fatalf("RIB after a refusal: %q", got)
			}
		})
	}
	t.Run("action not in the case", func(t *testing.T) {
		a := action(cases.ActionRTBH, "203.0.113.7", cases.Scope{})
		if err := s.Apply(ctx, caseOf("c1"), a); err == nil || !strings.Contains(err.Error(), "not one of case c1's actions") {
			t.Fatalf("Apply: %v", err)
		}
	})
}

func TestNotRunning(t *testing.T) {
	s, err := New(testConfig(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	c := caseOf("c1", action(cases.ActionRTBH, "203.0.113.7", cases.Scope{}))
	if err := s.Apply(context.Background(), c, c.Actions[0]); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Apply before Start: %v", err)
	}
	if _, err := s.Sync(context.Background(), nil); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Sync before Start: %v", err)
	}
	st, err := s.Status(context.Background())
	if err != nil || st.Running {
		t.Errorf("Status before Start: %+v, %v", st, err)
	}
	s.Stop() // stopping what is not running is a no-op
}

// TestRestart: routes applied before a Stop are announced again by the
// next Start.
func TestRestart(t *testing.T) {
	s := startSpeaker(t, testConfig())
	ctx := context.Background()
	c := caseOf("c1", action(cases.ActionRTBH, "203.0.113.7", cases.Scope{}))
	if err := s.Apply(ctx, c, c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rib(t, s), []string{rtbh7}); diff != "" {
		t.Fatalf("RIB after restart (-got, +want):\n%s", diff)
	}
}

func items(c cases.Case) []enforce.Item {
	var out []enforce.Item
	for i, a := range c.Actions {
		out = append(out, enforce.Item{Case: c, Index: i, Action: a})
	}
	return out
}

// behind adds or removes a path in the RIB behind the adapter's back.
func behind(t *testing.T, s *Speaker, a cases.Action, remove bool) {
	t.Helper()
	r, err := s.b.build(a)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if remove {
		err = s.withdraw(context.Background(), r)
	} else {
		err = s.announce(context.Background(), r)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestSync(t *testing.T) {
	host7 := action(cases.ActionRTBH, "203.0.113.7", cases.Scope{})
	host8 := action(cases.ActionRTBH, "203.0.113.8", cases.Scope{})
	udpDrop := action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Protocol: 17})
	udpRate := action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Protocol: 17, RateBps: 1000})
	v6 := action(cases.ActionFlowSpec, "2001:db8:66::/48", cases.Scope{})
	for _, tc := range []struct {
		name    string
		applied cases.Case     // applied through the adapter first
		tamper  func(*Speaker) // then changed behind its back
		desired cases.Case     // what Sync is given
		want    enforce.Drift  // Details left out
		rib     []string
	}{
		{name: "in sync", applied: caseOf("c1", host7, v6), desired: caseOf("c1", host7, v6),
			want: enforce.Drift{Desired: 2}, rib: []string{rtbh7, fsDrop6}},
		{name: "after a restart: everything missing", applied: caseOf("c1"), desired: caseOf("c1", host7, v6, udpDrop),
			want: enforce.Drift{Desired: 3, Missing: 3}, rib: []string{fsDrop, rtbh7, fsDrop6}},
		{name: "removed behind the back", applied: caseOf("c1", host7, v6),
			tamper:  func(s *Speaker) { behind(t, s, host7, true) },
			desired: caseOf("c1", host7, v6), want: enforce.Drift{Desired: 2, Missing: 1}, rib: []string{rtbh7, fsDrop6}},
		{name: "withdrawn while acd was down", applied: caseOf("c1", host7, host8), desired: caseOf("c1", host7),
			want: enforce.Drift{Desired: 1, Extra: 1}, rib: []string{rtbh7}},
		{name: "added behind the back", applied: caseOf("c1", host7),
			tamper:  func(s *Speaker) { behind(t, s, host8, false) },
			desired: caseOf("c1", host7), want: enforce.Drift{Desired: 1, Extra: 1}, rib: []string{rtbh7}},
		{name: "rate changed behind the back", applied: caseOf("c1", udpDrop),
			tamper:  func(s *Speaker) { behind(t, s, udpRate, false) },
			desired: caseOf("c1", udpDrop), want: enforce.Drift{Desired: 1, Changed: 1}, rib: []string{fsDrop}},
		{name: "two items, one route", applied: caseOf("c1"), desired: caseOf("c1", host7, host7),
			want: enforce.Drift{Desired: 2, Missing: 2}, rib: []string{rtbh7}},
		{name: "empty", applied: caseOf("c1", host7, udpRate, v6), desired: caseOf("c1"),
			want: enforce.Drift{Extra: 3}, rib: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSpeaker(t, testConfig())
			ctx := context.Background()
			for _, a := range tc.applied.Actions {
				if err := s.Apply(ctx, tc.applied, a); err != nil {
					t.Fatal(err)
				}
			}
			if tc.tamper != nil {
				tc.tamper(s)
			}
			d, err := s.Sync(ctx, items(tc.desired))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("details: %q", d.Details)
			if len(d.Details) == 0 && d.Total() > 0 {
				t.Errorf("no details for %d repairs", d.Total())
			}
			d.Details = nil
			if diff := cmp.Diff(d, tc.want); diff != "" {
				t.Errorf("drift (-got, +want):\n%s", diff)
			}
			if diff := cmp.Diff(rib(t, s), tc.rib); diff != "" {
				t.Errorf("RIB (-got, +want):\n%s", diff)
			}
			// A second Sync finds nothing to repair.
			d, err = s.Sync(ctx, items(tc.desired))
			if err != nil || d.Total() != 0 {
				t.Errorf("second sync: %+v, %v", d, err)
			}
			// Withdraw after Sync releases what Sync installed.
			for _, a := range tc.desired.Actions {
				if err := s.Withdraw(ctx, tc.desired, a); err != nil {
					t.Fatal(err)
				}
			}
			if got := rib(t, s); len(got) != 0 {
				t.Errorf("RIB after withdrawing everything: %q", got)
			}
		})
	}
}

// TestSyncRefusedItem: an item BGP cannot carry out is reported, the
// others are still installed.
func TestSyncRefusedItem(t *testing.T) {
	s := startSpeaker(t, testConfig())
	c := caseOf("c1", action(cases.ActionRTBH, "198.51.100.7", cases.Scope{}), action(cases.ActionRTBH, "203.0.113.7", cases.Scope{}))
	d, err := s.Sync(context.Background(), items(c))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "item c1/0") {
		t.Errorf("Sync error %v: want the refusal of c1/0", err)
	}
	if d.Missing != 1 {
		t.Errorf("drift %+v: want Missing 1", d)
	}
	if diff := cmp.Diff(rib(t, s), []string{rtbh7}); diff != "" {
		t.Errorf("RIB (-got, +want):\n%s", diff)
	}
}

// TestImportPolicy: a path without acd's marker never enters the RIB,
// so Sync cannot meet (and remove) anything acd did not announce.
func TestImportPolicy(t *testing.T) {
	s := startSpeaker(t, testConfig())
	nlri := bgp.NewIPAddrPrefix(32, "203.0.113.9")
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(0), bgp.NewPathAttributeNextHop("192.0.2.1")}
	p, err := apiutil.NewPath(nlri, false, attrs, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.srv.AddPath(context.Background(), &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: p}); err != nil {
		t.Fatal(err)
	}
	n := 0
	err = s.srv.ListPath(context.Background(), &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: p.Family},
		func(*api.Destination) { n++ })
	if err != nil || n != 0 {
		t.Fatalf("RIB has %d paths (%v); want the unmarked one rejected", n, err)
	}
}

// BenchmarkSync measures a Sync of 10,000 desired items against a RIB
// that already holds them (the periodic case) and one that holds none
// (after a restart).
func BenchmarkSync(b *testing.B) {
	const n = 10_000
	c := caseOf("bench")
	for i := range n {
		c.Actions = append(c.Actions, action(cases.ActionFlowSpec, fmt.Sprintf("198.%d.%d.%d", 18+i>>16, (i>>8)&255, i&255),
			cases.Scope{Protocol: 17, Ports: []cases.PortRange{{From: 53, To: 53}}, RateBps: uint64(1000 + i)}))
	}
	desired := items(c)
	b.Run("in-sync", func(b *testing.B) {
		s := startSpeaker(b, testConfig())
		if d, err := s.Sync(context.Background(), desired); err != nil || d.Missing != n {
			b.Fatalf("first sync: %+v %v", d.Total(), err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if d, err := s.Sync(context.Background(), desired); err != nil || d.Total() != 0 {
				b.Fatalf("sync: %d repairs, %v", d.Total(), err)
			}
		}
	})
	b.Run("all-missing", func(b *testing.B) {
		s := startSpeaker(b, testConfig())
		b.ReportAllocs()
		for b.Loop() {
			if d, err := s.Sync(context.Background(), desired); err != nil || d.Missing != n {
				b.Fatalf("sync: %+v, %v", d.Total(), err)
			}
			b.StopTimer()
			if d, err := s.Sync(context.Background(), nil); err != nil || d.Extra != n {
				b.Fatalf("emptying sync: %+v, %v", d.Total(), err)
			}
			b.StartTimer()
		}
	})
}

// TestStatusNoPeer: a neighbor nobody answers for is reported, not
// established.
func TestStatusNoPeer(t *testing.T) {
	cfg := testConfig()
	s := startSpeaker(t, cfg)
	st, err := s.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running || len(st.Neighbors) != 1 {
		t.Fatalf("status %+v", st)
	}
	n := st.Neighbors[0]
	if n.Established || !n.Since.IsZero() || n.Address != cfg.Neighbors[0].Address || n.ASN != 65001 || n.State == "" {
		t.Errorf("neighbor %+v: want 127.0.0.1 AS65001, a state, not established", n)
	}
}

// TestSecondSpeaker: one speaker runs per process.
func TestSecondSpeaker(t *testing.T) {
	startSpeaker(t, testConfig())
	s2, err := New(testConfig(), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "another speaker") {
		s2.Stop()
		t.Fatalf("second Start: %v", err)
	}
}
