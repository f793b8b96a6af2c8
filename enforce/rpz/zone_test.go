package rpz

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// goldenCase is the table of actions of the golden zones.
func goldenCase() cases.Case {
	return kase("case-1",
		sinkhole("evil.example", false),
		sinkhole("c2.bad.example", true),
		sinkhole("Mixed-Case.Example", false),
		sinkhole("198.51.100.7", false),
		sinkhole("203.0.113.0/24", false),
		sinkhole("2001:db8::10", false),
		sinkhole("2001:db8:abcd::/48", false),
	)
}

func TestZoneGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"nxdomain", func(*Config) {}},
		{"sinkhole-address", func(c *Config) { c.Policy, c.SinkholeV4, c.SinkholeV6 = PolicySinkhole, "192.0.2.66", "2001:db8::66" }},
		{"sinkhole-cname", func(c *Config) {
			c.Policy, c.SinkholeCNAME, c.Zone, c.SOA.MName = PolicySinkhole, "walled.garden.example.", "policy.example.", "ns1.example."
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			r, _ := newRPZ(t, cfg)
			c := goldenCase()
			for i := range c.Actions {
				apply(t, r, c, i)
			}
			golden(t, "zone-"+tc.name+".txt", r.ZoneText())
			// Every line is a record miekg/dns reads back.
			zp := dns.NewZoneParser(strings.NewReader(r.ZoneText()), "", "")
			n := 0
			for _, ok := zp.Next(); ok; _, ok = zp.Next() {
				n++
			}
			if err := zp.Err(); err != nil || n != strings.Count(r.ZoneText(), "\n") {
				t.Fatalf("zone text parses to %d records, %v", n, err)
			}
		})
	}
}

func TestApplyWithdrawShared(t *testing.T) {
	r, _ := newRPZ(t, testConfig())
	s0 := r.Serial()
	c1 := kase("case-1", sinkhole("evil.example", true))
	c2 := kase("case-2", sinkhole("198.51.100.9", false), sinkhole("evil.example", false))
	steps := []struct {
		name   string
		do     func()
		bumps  uint32 // serial increase
		owners []string
	}{
		{"apply case-1", func() { apply(t, r, c1, 0) }, 1, []string{"evil.example", "*.evil.example"}},
		{"apply again is idempotent", func() { apply(t, r, c1, 0) }, 0, []string{"evil.example", "*.evil.example"}},
		{"case-2 shares evil.example", func() { apply(t, r, c2, 1) }, 0, []string{"evil.example", "*.evil.example"}},
		{"case-2 ip trigger", func() { apply(t, r, c2, 0) }, 1, []string{"evil.example", "*.evil.example", "32.9.100.51.198.rpz-ip"}},
		{"withdraw case-1 keeps case-2's record", func() { withdraw(t, r, c1, 0) }, 1, []string{"evil.example", "32.9.100.51.198.rpz-ip"}},
		{"withdraw again is not an error", func() { withdraw(t, r, c1, 0) }, 0, []string{"evil.example", "32.9.100.51.198.rpz-ip"}},
		{"withdraw case-2 domain", func() { withdraw(t, r, c2, 1) }, 1, []string{"32.9.100.51.198.rpz-ip"}},
		{"withdraw case-2 ip", func() { withdraw(t, r, c2, 0) }, 1, nil},
	}
	for _, st := range steps {
		before := r.Serial()
		st.do()
		if got := r.Serial() - before; got != st.bumps {
			t.Errorf("%s: serial went up by %d, want %d", st.name, got, st.bumps)
		}
		if diff := cmp.Diff(ownerNames(r), st.owners); diff != "" {
			t.Errorf("%s: owner names (-got, +want):\n%s", st.name, diff)
		}
	}
	if r.Serial()-s0 != 5 {
		t.Errorf("serial %d after 5 changes from %d", r.Serial(), s0)
	}
}

// ownerNames lists the names of the policy records, relative to the zone.
func ownerNames(r *RPZ) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rr := range r.z.records() {
		out = append(out, strings.TrimSuffix(rr.Header().Name, "."+r.z.soa.Hdr.Name))
	}
	return out
}

func TestApplyRefuses(t *testing.T) {
	r, clk := newRPZ(t, testConfig())
	ok := sinkhole("evil.example", false)
	block := sinkhole("198.51.100.7", false)
	block.Type = cases.ActionBlock
	for _, tc := range []struct {
		name string
		c    cases.Case
		a    cases.Action
		is   error
	}{
		{"not the case's action", kase("case-1", sinkhole("other.example", false)), ok, nil},
		{"no case id", cases.Case{Actions: []cases.Action{ok}}, ok, nil},
		{"block", kase("case-1", block), block, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Apply(context.Background(), tc.c, tc.a)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("Apply = %v, want an error (%v)", err, tc.is)
			}
		})
	}
	clk.add(25 * time.Hour)
	if err := r.Apply(context.Background(), kase("case-1", ok), ok); err == nil || !strings.Contains(err.Error(), "ended") {
		t.Fatalf("Apply after the window = %v, want ended", err)
	}
	if got := ownerNames(r); len(got) != 0 {
		t.Fatalf("refused actions left records: %v", got)
	}
}

func TestSerialArithmetic(t *testing.T) {
	for _, tc := range []struct {
		a, b uint32
		less bool
	}{
		{1, 2, true}, {2, 1, false}, {7, 7, false},
		{0xFFFFFFFF, 0, true}, {0, 0xFFFFFFFF, false},
		{0xFFFFFFF0, 5, true}, {5, 0xFFFFFFF0, false},
		{0, 1<<31 - 1, true}, {0, 1 << 31, false}, {1 << 31, 0, false}, // 2^31 apart: incomparable
	} {
		if got := serialLess(tc.a, tc.b); got != tc.less {
			t.Errorf("serialLess(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.less)
		}
	}
	for _, tc := range []struct{ cur, clock, want uint32 }{
		{10, 0, 11},                       // clock behind: +1
		{10, 11, 11},                      // equal
		{10, 500, 500},                    // clock ahead: follow it
		{0xFFFFFFFF, 0, 0},                // wrap
		{0xFFFFFFFE, 3, 3},                // clock ahead across the wrap
		{1_800_000_000, 5, 1_800_000_001}, // clock far behind (2^31 rule)
	} {
		if got := nextSerial(tc.cur, tc.clock); got != tc.want {
			t.Errorf("nextSerial(%d, %d) = %d, want %d", tc.cur, tc.clock, got, tc.want)
		}
	}
}

// behind is a clock value behind every serial of TestIXFR (0xFFFFFFFE to
// 2 in RFC 1982 terms), so that each change is +1.
const behind = 0x9000_0000

// changes applies n distinct sinkholes to z one change at a time with a
// clock behind (serials +1), returning the serials after each.
func changes(t *testing.T, z *zone, cfg Config, names ...string) []uint32 {
	t.Helper()
	var serials []uint32
	for i, n := range names {
		a := sinkhole(n, false)
		rrs, err := cfg.records(a)
		if err != nil {
			t.Fatal(err)
		}
		tx := z.begin()
		tx.put(enforce.ItemKey("c", i), a, rrs)
		if !tx.commit(behind) {
			t.Fatalf("change %d: no commit", i)
		}
		serials = append(serials, z.soa.Serial)
	}
	return serials
}

func rrStrings(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		f := strings.Fields(rr.String())
		out = append(out, f[0]+" "+f[3]+" "+strings.Join(f[4:], " "))
	}
	return out
}

func TestIXFR(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Journal = 3
	z := newZone(cfg, 0xFFFFFFFE) // the journal crosses the wrap
	changes(t, z, cfg, "a.example", "b.example")
	// Withdraw a.example as the third change.
	tx := z.begin()
	tx.drop("c/0")
	tx.commit(behind)
	if z.soa.Serial != 1 {
		t.Fatalf("serial %d, want 1 (0xFFFFFFFE + 3 wraps)", z.soa.Serial)
	}
	soa := func(s uint32) string {
		return "rpz.acd. SOA localhost. hostmaster.rpz.acd. " + map[uint32]string{0xFFFFFFFE: "4294967294", 0xFFFFFFFF: "4294967295", 0: "0", 1: "1"}[s] + " 300 60 86400 60"
	}
	a := "a.example.rpz.acd. CNAME ."
	b := "b.example.rpz.acd. CNAME ."
	for _, tc := range []struct {
		name string
		from uint32
		want []string
		full bool
	}{
		{"current", 1, []string{soa(1)}, false},
		{"ahead", 5, []string{soa(1)}, false},
		{"from oldest", 0xFFFFFFFE, []string{soa(1), soa(0xFFFFFFFE), soa(0xFFFFFFFF), a, soa(0xFFFFFFFF), soa(0), b, soa(0), a, soa(1), soa(1)}, false},
		{"across the wrap", 0, []string{soa(1), soa(0), a, soa(1), soa(1)}, false},
		{"unknown serial falls back to AXFR", 0xFFFFFFF0, []string{soa(1), "rpz.acd. NS localhost.", b, soa(1)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rrs, full := z.ixfr(tc.from)
			if diff := cmp.Diff(rrStrings(rrs), tc.want); diff != "" || full != tc.full {
				t.Fatalf("ixfr(%d) full=%v (-got, +want):\n%s", tc.from, full, diff)
			}
		})
	}
	// A fourth change pushes the oldest out of the journal (3 kept).
	changes(t, z, cfg, "c.example")
	if _, full := z.ixfr(0xFFFFFFFE); !full {
		t.Fatal("ixfr from a serial older than the journal: want the whole zone")
	}
	if _, full := z.ixfr(0xFFFFFFFF); full {
		t.Fatal("ixfr from the oldest journaled serial: want the changes")
	}
}

func TestSync(t *testing.T) {
	r, _ := newRPZ(t, testConfig())
	c1 := kase("case-1", sinkhole("one.example", false), sinkhole("two.example", true))
	c2 := kase("case-2", sinkhole("198.51.100.0/24", false))
	ctx := context.Background()

	d, err := r.Sync(ctx, append(items(c1), items(c2)...))
	if err != nil {
		t.Fatal(err)
	}
	want := enforce.Drift{Desired: 3, Missing: 3, Details: []string{
		"missing one.example (case-1/0)", "missing two.example (case-1/1)", "missing 198.51.100.0/24 (case-2/0)"}}
	if diff := cmp.Diff(d, want); diff != "" {
		t.Fatalf("first sync (-got, +want):\n%s", diff)
	}
	s1 := r.Serial()

	d, err = r.Sync(ctx, append(items(c1), items(c2)...))
	if err != nil || d.Total() != 0 {
		t.Fatalf("second sync: %+v, %v; want no drift", d, err)
	}
	if r.Serial() != s1 {
		t.Fatalf("a sync without drift bumped the serial")
	}

	// case-1/1 now without subdomains (changed), case-2 gone (extra),
	// and an item the zone cannot express (left out, in the error).
	c1b := kase("case-1", sinkhole("one.example", false), sinkhole("two.example", false))
	bad := kase("case-3", sinkhole("evil.example", false))
	bad.Actions[0].Scope.Protocol = 17
	d, err = r.Sync(ctx, append(items(c1b), items(bad)...))
	if err == nil || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "case-3/0") {
		t.Fatalf("sync with an unsupported item: err %v", err)
	}
	want = enforce.Drift{Desired: 3, Extra: 1, Changed: 1, Details: []string{
		"extra 198.51.100.0/24 (case-2/0)", "changed two.example (case-1/1)"}}
	if diff := cmp.Diff(d, want); diff != "" {
		t.Fatalf("third sync (-got, +want):\n%s", diff)
	}
	if r.Serial() != s1+1 {
		t.Fatalf("serial %d, want one bump to %d", r.Serial(), s1+1)
	}
	if diff := cmp.Diff(ownerNames(r), []string{"one.example", "two.example"}); diff != "" {
		t.Fatalf("zone after sync (-got, +want):\n%s", diff)
	}
	// Withdraw after sync finds what sync installed.
	withdraw(t, r, c1b, 1)
	if diff := cmp.Diff(ownerNames(r), []string{"one.example"}); diff != "" {
		t.Fatalf("zone after withdraw (-got, +want):\n%s", diff)
	}
}
