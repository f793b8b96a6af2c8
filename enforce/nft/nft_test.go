package nft

import (
	"context"
	"flag"
	"fmt"
	mathrand "math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/nftables"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

func TestApplyWithdrawKernel(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	ns, path := newNS(t)
	a := newAdapter(t, path, nil, nil)
	now := time.Now()
	c1 := blockCase("case-1", now, time.Hour, "198.51.100.7", "203.0.113.0/24", "2001:db8::1", "2001:db8:1::/48")
	c2 := blockCase("case-2", now, 2*time.Hour, "198.51.100.7", "203.0.113.128/25")
	for i, act := range c1.Actions {
		start := time.Now()
		if err := a.Apply(ctx, c1, act); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
		applied := time.Since(start)
		waitFor(t, act.Target.String()+" in the kernel set", func() bool { return inKernel(t, path, act.Target.Prefix().Addr()) })
		t.Logf("apply %s: returned after %s, seen in the kernel set by another netlink socket after %s", act.Target, applied, time.Since(start))
	}
	for _, act := range c2.Actions {
		if err := a.Apply(ctx, c2, act); err != nil {
			t.Fatal(err)
		}
		if err := a.Apply(ctx, c2, act); err != nil { // idempotent
			t.Fatal(err)
		}
	}
	got := listSets(t, ns, "acd")
	t.Logf("%+v", got)
	want4 := []string{"198.51.100.7", "203.0.113.0/25", "203.0.113.128/25"}
	if diff := cmp.Diff(sorted(vals(got["block4"])), want4); diff != "" {
		t.Errorf("block4 (-got, +want):\n%s", diff)
	}
	if diff := cmp.Diff(sorted(vals(got["block6"])), []string{"2001:db8:1::/48", "2001:db8::1"}); diff != "" {
		t.Errorf("block6 (-got, +want):\n%s", diff)
	}
	for _, act := range c1.Actions {
		if err := a.Withdraw(ctx, c1, act); err != nil {
			t.Fatal(err)
		}
		if err := a.Withdraw(ctx, c1, act); err != nil { // idempotent
			t.Fatal(err)
		}
	}
	got = listSets(t, ns, "acd")
	if diff := cmp.Diff(sorted(vals(got["block4"])), []string{"198.51.100.7", "203.0.113.128/25"}); diff != "" {
		t.Errorf("block4 after withdrawing case-1 (-got, +want):\n%s", diff)
	}
	if diff := cmp.Diff(vals(got["block6"]), []string{}); diff != "" {
		t.Errorf("block6 after withdrawing case-1 (-got, +want):\n%s", diff)
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

// veth links namespaces attacker and victim (198.51.100.1/.2,
// 2001:db8:100::1/::2).
func veth(t *testing.T, attacker, victim string) {
	t.Helper()
	a, v := "acda"+randHex(3), "acdv"+randHex(3)
	run(t, "ip", "link", "add", a, "netns", attacker, "type", "veth", "peer", "name", v, "netns", victim)
	run(t, "ip", "-n", attacker, "addr", "add", "198.51.100.1/24", "dev", a)
	run(t, "ip", "-n", victim, "addr", "add", "198.51.100.2/24", "dev", v)
	run(t, "ip", "-n", attacker, "addr", "add", "2001:db8:100::1/64", "dev", a, "nodad")
	run(t, "ip", "-n", victim, "addr", "add", "2001:db8:100::2/64", "dev", v, "nodad")
	run(t, "ip", "-n", attacker, "link", "set", a, "up")
	run(t, "ip", "-n", victim, "link", "set", v, "up")
}

// TestBlocksTraffic checks the effect: TCP from the blocked address to
// the victim fails after Apply and works again after Withdraw, for IPv4
// and IPv6, and the rule's counter shows the drops.
func TestBlocksTraffic(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	attacker, apath := newNS(t)
	victim, vpath := newNS(t)
	veth(t, attacker, victim)
	a := newAdapter(t, vpath, nil, nil)
	for _, tc := range []struct{ name, listen, target string }{
		{"ipv4", "198.51.100.2:0", "198.51.100.1"},
		{"ipv6", "[2001:db8:100::2]:0", "2001:db8:100::/64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := listen(t, vpath, tc.listen)
			waitFor(t, "the victim to be reachable", func() bool { return dial(t, apath, addr, time.Second) == nil })
			c := blockCase("case-"+tc.name, time.Now(), time.Hour, tc.target)
			start := time.Now()
			if err := a.Apply(ctx, c, c.Actions[0]); err != nil {
				t.Fatal(err)
			}
			t.Logf("apply took %s", time.Since(start))
			if err := dial(t, apath, addr, time.Second); err == nil {
				t.Fatalf("a connection from blocked %s to %s succeeded", tc.target, addr)
			}
			if err := a.Withdraw(ctx, c, c.Actions[0]); err != nil {
				t.Fatal(err)
			}
			if err := dial(t, apath, addr, 5*time.Second); err != nil {
				t.Fatalf("after withdraw: %v", err)
			}
		})
	}
	out := run(t, "ip", "netns", "exec", victim, "nft", "list", "chain", "inet", "acd", "input")
	if !slices.ContainsFunc(splitLines(out), func(l string) bool {
		return containsAll(l, "ip saddr @block4", "drop") && !containsAll(l, "packets 0 ")
	}) {
		t.Errorf("the ipv4 rule's counter shows no drop:\n%s", out)
	}
}

// TestSyncDrift breaks the table by hand in several ways; each Sync
// repairs it and counts the repairs; a table of another owner is never
// touched.
func TestSyncDrift(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	ns, path := newNS(t)
	nft := func(args ...string) {
		t.Helper()
		run(t, "ip", append([]string{"netns", "exec", ns, "nft"}, args...)...)
	}
	nft("add table inet other")
	nft("add set inet other keep { type ipv4_addr; }")
	nft("add element inet other keep { 198.51.100.7 }")
	a := newAdapter(t, path, nil, nil)
	now := time.Now()
	desired := items(blockCase("case-1", now, time.Hour, "198.51.100.7", "2001:db8::/32"),
		blockCase("case-2", now, time.Hour, "203.0.113.9"))
	for _, tc := range []struct {
		name                    string
		breakIt                 func()
		missing, extra, changed int
	}{
		{name: "first", missing: 3},
		{name: "in sync"},
		{name: "element deleted", breakIt: func() { nft("delete element inet acd block4 { 198.51.100.7 }") }, missing: 1},
		{name: "element added", breakIt: func() { nft("add element inet acd block6 { 2001:db9::1 timeout 1h }") }, extra: 1},
		{name: "timeout changed", breakIt: func() {
			nft("delete element inet acd block4 { 203.0.113.9 }")
			nft(`add element inet acd block4 { 203.0.113.9 timeout 10m comment "case-2/0" }`)
		}, changed: 1},
		{name: "rules flushed", breakIt: func() { nft("flush chain inet acd input") }, changed: 1},
		{name: "chain deleted", breakIt: func() { nft("delete chain inet acd forward") }, changed: 1},
		{name: "table deleted", breakIt: func() { nft("delete table inet acd") }, changed: 1, missing: 3},
		{name: "set replaced", breakIt: func() {
			nft("delete table inet acd")
			nft("add table inet acd")
			nft("add set inet acd block4 { type ipv4_addr; }")
		}, changed: 1, missing: 3},
		{name: "repaired", breakIt: nil},
	} {
		if tc.breakIt != nil {
			tc.breakIt()
		}
		d, err := a.Sync(ctx, desired)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		t.Logf("%s: %+v", tc.name, d)
		if d.Desired != 3 || d.Missing != tc.missing || d.Extra != tc.extra || d.Changed != tc.changed {
			t.Errorf("%s: drift %+v, want missing %d extra %d changed %d", tc.name, d, tc.missing, tc.extra, tc.changed)
		}
		got := listSets(t, ns, "acd")
		if diff := cmp.Diff(sorted(vals(got["block4"])), []string{"198.51.100.7", "203.0.113.9"}); diff != "" {
			t.Errorf("%s: block4 (-got, +want):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(vals(got["block6"]), []string{"2001:db8::/32"}); diff != "" {
			t.Errorf("%s: block6 (-got, +want):\n%s", tc.name, diff)
		}
	}
	for _, chain := range []string{"input", "forward"} {
		out := run(t, "ip", "netns", "exec", ns, "nft", "list", "chain", "inet", "acd", chain)
		if !containsAll(out, "ip saddr @block4 counter", "ip6 saddr @block6 counter", "priority filter - 10") {
			t.Errorf("chain %s not restored:\n%s", chain, out)
		}
	}
	// Withdrawn while acd was down: Sync removes it.
	d, err := a.Sync(ctx, desired[:1])
	if err != nil || d.Extra != 2 {
		t.Errorf("sync to one item: %+v, %v; want 2 extra", d, err)
	}
	if err := a.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listSets(t, ns, "acd"); got != nil {
		t.Errorf("table acd still there after Remove: %v", got)
	}
	if diff := cmp.Diff(vals(listSets(t, ns, "other")["keep"]), []string{"198.51.100.7"}); diff != "" {
		t.Errorf("table other was touched (-got, +want):\n%s", diff)
	}
}

// TestTimeoutSafetyNet: an element whose action ends in 2 s leaves the
// kernel set by itself, without Withdraw (acd could be dead); the set
// then takes new elements over the same range.
func TestTimeoutSafetyNet(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	ns, path := newNS(t)
	a := newAdapter(t, path, func(c *Config) { c.TimeoutSlack = 0 }, nil)
	now := time.Now()
	short := blockCase("case-short", now, 2*time.Second, "198.51.100.0/24", "2001:db8::7")
	long := blockCase("case-long", now, time.Hour, "198.51.101.1")
	for _, c := range []cases.Case{short, long} {
		for _, act := range c.Actions {
			if err := a.Apply(ctx, c, act); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := listSets(t, ns, "acd"); len(got["block4"]) != 2 || len(got["block6"]) != 1 {
		t.Fatalf("before the timeout: %+v", got)
	}
	start := time.Now()
	waitFor(t, "the short elements to time out", func() bool {
		got := listSets(t, ns, "acd")
		return slices.Equal(vals(got["block4"]), []string{"198.51.101.1"}) && len(got["block6"]) == 0
	})
	t.Logf("gone %s after apply (timeout 2s)", time.Since(start))
	// The adapter finds the set as the kernel left it.
	d, err := a.Sync(ctx, items(long))
	if err != nil || d.Total() != 0 {
		t.Errorf("sync after the timeout: %+v, %v; want no drift", d, err)
	}
	again := blockCase("case-again", time.Now(), time.Hour, "198.51.100.0/24", "198.51.100.128/25")
	d, err = a.Sync(ctx, items(long, again))
	if err != nil || d.Missing != 2 {
		t.Errorf("re-adding the range: %+v, %v; want 2 missing", d, err)
	}
	if diff := cmp.Diff(sorted(vals(listSets(t, ns, "acd")["block4"])),
		[]string{"198.51.100.0/25", "198.51.100.128/25", "198.51.101.1"}); diff != "" {
		t.Errorf("block4 (-got, +want):\n%s", diff)
	}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenRuleset compares the table the adapter builds, as `nft list
// table` prints it (expiries and counters normalised), with
// testdata/ruleset.golden.
func TestGoldenRuleset(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	ns, path := newNS(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return t0 }
	table := "acdgold"
	a := newAdapter(t, path, func(c *Config) { c.Table = table }, clock)
	desired := items(
		blockCase("case-1", t0, time.Hour, "198.51.100.7", "203.0.113.0/24", "2001:db8::/32"),
		blockCase("case-2", t0, 2*time.Hour, "198.51.100.7", "203.0.113.64/26", "2001:db8:0:1::5"))
	if _, err := a.Sync(ctx, desired); err != nil {
		t.Fatal(err)
	}
	out := run(t, "ip", "netns", "exec", ns, "nft", "list", "table", "inet", table)
	got := normalize(out)
	file := filepath.Join("testdata", "ruleset.golden")
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(got, string(want)); diff != "" {
		t.Errorf("ruleset (-got, +want):\n%s", diff)
	}
}

var (
	expiresRe = regexp.MustCompile(`expires [0-9hmsd]+`)
	counterRe = regexp.MustCompile(`packets [0-9]+ bytes [0-9]+`)
)

// normalize replaces what changes from run to run: the time left and
// the counter values.
func normalize(s string) string {
	s = expiresRe.ReplaceAllString(s, "expires X")
	return counterRe.ReplaceAllString(s, "packets N bytes N")
}

// TestRestart: a new adapter (acd restarted) learns the blocks in the
// table from their comments; a Withdraw before the first Sync lifts only
// its own item, and an Apply keeps the others.
func TestRestart(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	ns, path := newNS(t)
	now := time.Now()
	c1 := blockCase("case-1", now, time.Hour, "198.51.100.7", "203.0.113.0/24")
	c2 := blockCase("case-2", now, 2*time.Hour, "198.51.100.7", "203.0.113.128/25")
	first := newAdapter(t, path, nil, nil)
	if _, err := first.Sync(ctx, items(c1, c2)); err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listSets(t, ns, "acd"); len(got["block4"]) != 3 {
		t.Fatalf("Stop must leave the blocks: %+v", got)
	}
	second := newAdapter(t, path, nil, nil)
	if err := second.Withdraw(ctx, c2, c2.Actions[0]); err != nil {
		t.Fatal(err)
	}
	c3 := blockCase("case-3", now, time.Hour, "192.0.2.1")
	if err := second.Apply(ctx, c3, c3.Actions[0]); err != nil {
		t.Fatal(err)
	}
	got := listSets(t, ns, "acd")["block4"]
	want := []listed{
		{Val: "192.0.2.1", Comment: "case-3/0"},
		{Val: "198.51.100.7", Comment: "case-1/0"},
		{Val: "203.0.113.0/25", Comment: "case-1/1"},
		{Val: "203.0.113.128/25", Comment: "case-1/1 case-2/1"},
	}
	slices.SortFunc(got, func(a, b listed) int { return strings.Compare(a.Val, b.Val) })
	if diff := cmp.Diff(got, want, cmpopts.IgnoreFields(listed{}, "Timeout", "Expires")); diff != "" {
		t.Errorf("block4 (-got, +want):\n%s", diff)
	}
	d, err := second.Sync(ctx, items(c1, c2, c3))
	// case-2/0 is desired again: 198.51.100.7 is present, but its
	// comment must name case-2/0 again.
	if err != nil || d.Missing != 0 || d.Extra != 0 || d.Changed != 1 {
		t.Errorf("first sync after restart: %+v, %v; want 198.51.100.7 changed only", d, err)
	}
}

// inKernel reports whether addr starts an element of acd's sets in
// namespace path, read over a netlink socket of its own.
func inKernel(t *testing.T, path string, addr netip.Addr) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conn, err := nftables.New(nftables.WithNetNSFd(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	tbl := &nftables.Table{Family: nftables.TableFamilyINet, Name: "acd"}
	name := Set4
	if addr.Is6() {
		name = Set6
	}
	els, err := conn.GetSetElements(&nftables.Set{Table: tbl, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(els, func(e nftables.SetElement) bool { return !e.IntervalEnd && string(e.Key) == string(addr.AsSlice()) })
}

func TestMetrics(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	_, path := newNS(t)
	reg := prometheus.NewPedanticRegistry()
	cfg := DefaultConfig()
	cfg.NetNS = path
	a, err := New(cfg, Deps{Logger: testLogger(t), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Remove(ctx); _ = a.Stop(ctx) })
	c := blockCase("case-1", time.Now(), time.Hour, "198.51.100.7", "203.0.113.0/24", "2001:db8::1")
	for _, act := range c.Actions {
		if err := a.Apply(ctx, c, act); err != nil {
			t.Fatal(err)
		}
	}
	bad := c.Actions[0].Clone()
	bad.Scope.Protocol = 6
	if err := a.Apply(ctx, c, bad); err == nil {
		t.Fatal("a block narrowed by protocol was accepted")
	}
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"ranges block4", testutil.ToFloat64(a.m.ranges.WithLabelValues(Set4)), 2},
		{"ranges block6", testutil.ToFloat64(a.m.ranges.WithLabelValues(Set6)), 1},
		{"batches (table, then one per apply)", testutil.ToFloat64(a.m.batches), 4},
		{"apply errors", testutil.ToFloat64(a.m.errors.WithLabelValues("apply")), 1},
		{"apply observations", float64(testutil.CollectAndCount(a.m.applied)), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Errorf("gather: %d metrics, %v", n, err)
	}
}

// TestFastPathFallback: Apply and Withdraw change the sets from what the
// adapter last committed; when the kernel drifted meanwhile, the batch
// fails and they read the table and repair it instead.
func TestFastPathFallback(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	ns, path := newNS(t)
	nft := func(args ...string) {
		t.Helper()
		run(t, "ip", append([]string{"netns", "exec", ns, "nft"}, args...)...)
	}
	a := newAdapter(t, path, nil, nil)
	c := blockCase("case-1", time.Now(), time.Hour, "198.51.100.7", "198.51.100.8", "203.0.113.0/24")
	for _, act := range c.Actions[:2] {
		if err := a.Apply(ctx, c, act); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		breakIt func()
		do      func() error
		want    []string
	}{
		{"withdraw an element deleted by hand", func() { nft("delete element inet acd block4 { 198.51.100.7 }") },
			func() error { return a.Withdraw(ctx, c, c.Actions[0]) }, []string{"198.51.100.8"}},
		{"apply over an element added by hand", func() { nft("add element inet acd block4 { 203.0.113.5 timeout 1h }") },
			func() error { return a.Apply(ctx, c, c.Actions[2]) }, []string{"198.51.100.8", "203.0.113.0/24"}},
		{"apply after the table was deleted", func() { nft("delete table inet acd") },
			func() error { return a.Apply(ctx, c, c.Actions[0]) }, []string{"198.51.100.7", "198.51.100.8", "203.0.113.0/24"}},
	} {
		tc.breakIt()
		if err := tc.do(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(sorted(vals(listSets(t, ns, "acd")["block4"])), tc.want); diff != "" {
			t.Errorf("%s: block4 (-got, +want):\n%s", tc.name, diff)
		}
	}
}

// TestRandomOps applies and withdraws random nested blocks (and moves
// their ends) and checks after each call that the kernel holds exactly
// the ranges computed from scratch for the items in effect; a final Sync
// finds no drift.
func TestRandomOps(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	_, path := newNS(t)
	a := newAdapter(t, path, nil, nil)
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	now := time.Now()
	var cs []cases.Case
	for i := range 12 {
		c := cases.Case{ID: fmt.Sprintf("case-%d", i), Version: 1}
		for range 3 {
			bits := 16 + rng.IntN(17)
			addr := netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(4)), byte(rng.IntN(256))})
			if rng.IntN(4) == 0 {
				addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(rng.IntN(256))})
				bits += 96
			}
			c.Actions = append(c.Actions, cases.Action{Type: cases.ActionBlock,
				Target:    cases.MustTarget(netip.PrefixFrom(addr, bits).Masked().String()),
				NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Duration(1+rng.IntN(5)) * time.Hour)})
		}
		cs = append(cs, c)
	}
	live := map[string]enforce.Item{}
	for op := range 150 {
		c := cs[rng.IntN(len(cs))]
		i := rng.IntN(len(c.Actions))
		it := enforce.Item{Case: c, Index: i, Action: c.Actions[i]}
		switch rng.IntN(3) {
		case 0:
			if err := a.Withdraw(ctx, c, c.Actions[i]); err != nil {
				t.Fatalf("op %d: withdraw %s: %v", op, it.Key(), err)
			}
			delete(live, it.Key())
		case 1: // a new end for the same action
			c = c.Clone()
			c.Actions[i].NotAfter = now.Add(time.Duration(1+rng.IntN(5)) * time.Hour)
			it = enforce.Item{Case: c, Index: i, Action: c.Actions[i]}
			fallthrough
		default:
			if err := a.Apply(ctx, c, c.Actions[i]); err != nil {
				t.Fatalf("op %d: apply %s: %v", op, it.Key(), err)
			}
			live[it.Key()] = it
		}
		var ws []want
		for k, it := range live {
			ws = append(ws, want{p: it.Action.Target.Prefix(), exp: it.Action.NotAfter.Add(a.cfg.TimeoutSlack), key: k})
		}
		want := segments(ws)
		var got []segment
		for _, s := range []*nftables.Set{a.rs.set4, a.rs.set6} {
			els, err := a.conn.GetSetElements(s)
			if err != nil {
				t.Fatal(err)
			}
			segs, err := decodeElements(els, int(s.KeyType.Bytes), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, segs...)
		}
		near := cmp.Comparer(func(x, y segment) bool {
			return x.from == y.from && x.to == y.to && x.exp.Sub(y.exp).Abs() < expiryTolerance && slices.Equal(x.keys, y.keys)
		})
		if diff := cmp.Diff(got, want, near); diff != "" {
			t.Fatalf("op %d (%s): kernel (-got, +want):\n%s", op, it.Key(), diff)
		}
	}
	var desired []enforce.Item
	for _, it := range live {
		desired = append(desired, it)
	}
	d, err := a.Sync(ctx, desired)
	if err != nil || d.Total() != 0 {
		t.Errorf("final sync: %+v, %v; want no drift", d, err)
	}
}
