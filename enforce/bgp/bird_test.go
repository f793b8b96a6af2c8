package bgp

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/peertest"
)

// Integration tests against a real BIRD 2 on loopback: BIRD (AS 65001,
// passive, its own port) peers with the speaker (AS 65000), which
// connects out. They skip without bird/birdc unless ACD_INTEGRATION=1.
// They do not run in parallel: one Speaker runs per process.

// birdPair starts BIRD and a speaker peering with it, and waits for the
// session.
func birdPair(t testing.TB) (*peertest.BIRD, *Speaker) {
	t.Helper()
	b := peertest.StartBIRD(t, 65001, 65000)
	s := startSpeaker(t, testConfig(neighbor(b)))
	b.WaitFor("the BGP session with acd", b.Established)
	return b, s
}

// trafficRateCommunity is how BIRD shows a traffic-rate-bytes extended
// community from AS 65000 for rate: (generic, 0x8006fde8, <float bits>).
func trafficRateCommunity(rate float32) string {
	return fmt.Sprintf("(generic, 0x8006fde8, 0x%x)", math.Float32bits(rate))
}

func TestBIRDRTBH(t *testing.T) {
	b, s := birdPair(t)
	ctx := context.Background()
	for _, tc := range []struct {
		target, table, prefix, nextHop string
	}{
		{"203.0.113.7", "master4", "203.0.113.7/32", "192.0.2.1"},
		{"2001:db8:1::7", "master6", "2001:db8:1::7/128", "100::1"},
	} {
		t.Run(tc.table, func(t *testing.T) {
			c := caseOf("rtbh-"+tc.table, action(cases.ActionRTBH, tc.target, cases.Scope{}))
			start := time.Now()
			if err := s.Apply(ctx, c, c.Actions[0]); err != nil {
				t.Fatal(err)
			}
			var out string
			b.WaitFor(tc.prefix+" in BIRD", func() bool {
				out = b.Route(tc.table, tc.prefix)
				return strings.Contains(out, tc.prefix)
			})
			t.Logf("apply → visible in BIRD: %s", time.Since(start))
			for _, want := range []string{
				"BGP.community: (65535,666) (65535,65281)",
				"BGP.next_hop: " + tc.nextHop,
				"BGP.large_community: (65000, 7999, 0)",
				"BGP.as_path: 65000",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("BIRD's route lacks %q:\n%s", want, out)
				}
			}
			if err := s.Withdraw(ctx, c, c.Actions[0]); err != nil {
				t.Fatal(err)
			}
			b.WaitFor(tc.prefix+" gone from BIRD", func() bool { return !strings.Contains(b.Route(tc.table, tc.prefix), tc.prefix) })
		})
	}
}

func TestBIRDFlowSpec(t *testing.T) {
	b, s := birdPair(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		a     cases.Action
		table string
		rule  string // as BIRD writes it
		ext   string
	}{
		{"v4 drop", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{}),
			"flowtab4", "flow4 { src 198.51.100.7/32; }", trafficRateCommunity(0)},
		{"v4 rate limit", action(cases.ActionFlowSpec, "198.51.100.0/24", cases.Scope{
			Destination: cases.MustTarget("203.0.113.0/24"), Protocol: 6,
			Ports: []cases.PortRange{{From: 80, To: 80}, {From: 8000, To: 8080}}, RateBps: 125000}),
			"flowtab4", "flow4 { dst 203.0.113.0/24; src 198.51.100.0/24; proto 6; dport 80,8000..8080; }",
			"(generic, 0x8006fde8, 0x47f42400)"},
		{"v6 drop", action(cases.ActionFlowSpec, "2001:db8:66::/48", cases.Scope{
			Destination: cases.MustTarget("2001:db8:1::/64"), Protocol: 17, Ports: []cases.PortRange{{From: 53, To: 53}}}),
			"flowtab6", "flow6 { dst 2001:db8:1::/64; src 2001:db8:66::/48; next header 17; dport 53; }", trafficRateCommunity(0)},
		{"v6 rate limit", action(cases.ActionFlowSpec, "2001:db8:66::1", cases.Scope{RateBps: 10000}),
			"flowtab6", "flow6 { src 2001:db8:66::1/128; }", trafficRateCommunity(10000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := caseOf("fs", tc.a)
			start := time.Now()
			if err := s.Apply(ctx, c, tc.a); err != nil {
				t.Fatal(err)
			}
			var out string
			b.WaitFor(tc.rule+" in BIRD", func() bool {
				out = b.Table(tc.table)
				return strings.Contains(out, tc.rule)
			})
			t.Logf("apply → visible in BIRD: %s", time.Since(start))
			for _, want := range []string{"BGP.ext_community: " + tc.ext, "BGP.large_community: (65000, 8955, 0)"} {
				if !strings.Contains(out, want) {
					t.Errorf("BIRD's rule lacks %q:\n%s", want, out)
				}
			}
			if err := s.Withdraw(ctx, c, tc.a); err != nil {
				t.Fatal(err)
			}
			b.WaitFor(tc.rule+" gone from BIRD", func() bool { return !strings.Contains(b.Table(tc.table), tc.rule) })
		})
	}
}

// TestBIRDDrift: a BIRD restart and a disable/enable lose the routes;
// the speaker re-announces them when the session is back and counts
// the resets. A path removed from the RIB behind the adapter's back is
// put back by Sync (Missing 1).
func TestBIRDDrift(t *testing.T) {
	b, s := birdPair(t)
	ctx := context.Background()
	c := caseOf("drift", action(cases.ActionRTBH, "203.0.113.9", cases.Scope{}),
		action(cases.ActionFlowSpec, "198.51.100.9", cases.Scope{Protocol: 17}))
	for _, a := range c.Actions {
		if err := s.Apply(ctx, c, a); err != nil {
			t.Fatal(err)
		}
	}
	visible := func() bool {
		return strings.Contains(b.Route("master4", "203.0.113.9/32"), "203.0.113.9/32") &&
			strings.Contains(b.Table("flowtab4"), "flow4 { src 198.51.100.9/32; proto 17; }")
	}
	b.WaitFor("the routes in BIRD", visible)

	restart := time.Now()
	b.Kill()
	b.Start()
	b.WaitFor("the session after BIRD's restart", b.Established)
	b.WaitFor("the routes in BIRD after its restart", visible)
	t.Logf("BIRD restart → routes back: %s", time.Since(restart))
	b.WaitFor("the reset counted", func() bool { return resets(t, s) == 1 })

	birdc(t, b, "disable", "acd")
	b.WaitFor("the second reset counted", func() bool { return resets(t, s) == 2 })
	enable := time.Now()
	birdc(t, b, "enable", "acd")
	b.WaitFor("the session after enable", b.Established)
	b.WaitFor("the routes in BIRD after enable", visible)
	t.Logf("birdc enable → routes back: %s", time.Since(enable))

	st, err := s.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status: %+v", st)
	if n := st.Neighbors[0]; !n.Established || n.Since.IsZero() || n.Sent[Unicast4] != 1 || n.Sent[FlowSpec4] != 1 || n.Resets != 2 {
		t.Errorf("neighbor status %+v: want established, 1 unicast4 and 1 flowspec4 route sent, 2 resets", n)
	}

	behind(t, s, c.Actions[0], true)
	b.WaitFor("the host route gone from BIRD", func() bool { return !strings.Contains(b.Route("master4", "203.0.113.9/32"), "203.0.113.9/32") })
	d, err := s.Sync(ctx, items(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("drift: %+v", d)
	if d.Missing != 1 || d.Extra != 0 || d.Changed != 0 || d.Desired != 2 {
		t.Errorf("drift %+v: want Desired 2, Missing 1", d)
	}
	if !strings.Contains(strings.Join(d.Details, "\n"), "2 BGP session reset(s)") {
		t.Errorf("drift details %q do not report the 2 resets", d.Details)
	}
	b.WaitFor("the host route back in BIRD", visible)
}

func resets(t testing.TB, s *Speaker) int {
	st, err := s.Status(context.Background())
	if err != nil || len(st.Neighbors) != 1 {
		t.Fatalf("status: %+v, %v", st, err)
	}
	return st.Neighbors[0].Resets
}

// TestBIRDRefusals: refused actions reach neither the RIB nor BIRD.
func TestBIRDRefusals(t *testing.T) {
	b, s := birdPair(t)
	ctx := context.Background()
	refused := caseOf("refused",
		action(cases.ActionRTBH, "198.51.100.7", cases.Scope{}),     // outside owned prefixes
		action(cases.ActionRTBH, "203.0.113.0/28", cases.Scope{}),   // wider than a host route
		action(cases.ActionFlowSpec, "evil.example", cases.Scope{}), // domain target
	)
	for _, a := range refused.Actions {
		if err := s.Apply(ctx, refused, a); err == nil {
			t.Errorf("Apply %s %s: accepted", a.Type, a.Target)
		}
	}
	// A route applied after the refusals: once BIRD has it, it would
	// have the refused ones too had they been sent.
	ok := caseOf("ok", action(cases.ActionRTBH, "203.0.113.1", cases.Scope{}))
	if err := s.Apply(ctx, ok, ok.Actions[0]); err != nil {
		t.Fatal(err)
	}
	b.WaitFor("the accepted route", func() bool { return strings.Contains(b.Route("master4", "203.0.113.1/32"), "203.0.113.1/32") })
	for _, table := range []string{"master4", "master6", "flowtab4", "flowtab6"} {
		out := b.Table(table)
		if n := strings.Count(out, "[acd "); n != map[string]int{"master4": 1}[table] {
			t.Errorf("BIRD table %s has %d routes from acd:\n%s", table, n, out)
		}
	}
}

// BenchmarkApplyToBIRD measures the time from Apply to the route
// visible in BIRD (birdc polled without pause; each poll is a birdc
// process, a few milliseconds of the figure).
func BenchmarkApplyToBIRD(b *testing.B) {
	br, s := birdPair(b)
	ctx := context.Background()
	i, polls := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		target := fmt.Sprintf("203.0.113.%d", 1+i%250)
		c := caseOf(fmt.Sprintf("bench-%d", i), action(cases.ActionRTBH, target, cases.Scope{}))
		if err := s.Apply(ctx, c, c.Actions[0]); err != nil {
			b.Fatal(err)
		}
		br.WaitFor(target, func() bool {
			polls++
			return strings.Contains(br.Route("master4", target+"/32"), target+"/32")
		})
		b.StopTimer()
		if err := s.Withdraw(ctx, c, c.Actions[0]); err != nil {
			b.Fatal(err)
		}
		br.WaitFor(target+" gone", func() bool { return !strings.Contains(br.Route("master4", target+"/32"), target+"/32") })
		b.StartTimer()
	}
	b.ReportMetric(float64(polls)/float64(i), "polls/op")
}

// TestBIRDStop: Stop closes the session with a CEASE (BIRD records the
// notification) and BIRD drops acd's routes.
func TestBIRDStop(t *testing.T) {
	b, s := birdPair(t)
	ctx := context.Background()
	c := caseOf("stop", action(cases.ActionRTBH, "203.0.113.5", cases.Scope{}))
	if err := s.Apply(ctx, c, c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	b.WaitFor("the route in BIRD", func() bool { return strings.Contains(b.Route("master4", "203.0.113.5/32"), "203.0.113.5/32") })
	s.Stop()
	b.WaitFor("the session closed", func() bool { return !b.Established() })
	if out := birdc(t, b, "show", "protocols", "all", "acd"); !strings.Contains(out, "Received: Peer de-configured") {
		t.Errorf("BIRD did not receive a CEASE (peer de-configured):\n%s", out)
	}
	b.WaitFor("the route gone", func() bool { return !strings.Contains(b.Route("master4", "203.0.113.5/32"), "203.0.113.5/32") })
}
