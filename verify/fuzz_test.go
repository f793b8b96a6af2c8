package verify

import (
	"net/netip"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/flow"
)

// fuzzPool is the addresses fuzzed records use: inside and outside the
// fuzzed targets, both families.
var fuzzPool = [16]string{"203.0.113.9", "203.0.113.10", "203.0.200.1", "198.51.100.7", "172.16.1.1", "172.16.5.5",
	"10.0.0.1", "192.0.2.1", "2001:db8:bad::1", "2001:db8:bad:1::2", "2001:db8::1", "::ffff:203.0.113.9",
	"100.64.0.1", "0.0.0.0", "::", "203.0.113.255"}

// fuzzItems are the watches: every measurable type, nested targets,
// scopes.
func fuzzItems() []struct {
	key string
	a   cases.Action
} {
	mk := func(typ cases.ActionType, target string, s cases.Scope) cases.Action {
		return cases.Action{Type: typ, Target: cases.MustTarget(target), Scope: s}
	}
	return []struct {
		key string
		a   cases.Action
	}{
		{"host", mk(cases.ActionBlock, "203.0.113.9", cases.Scope{})},
		{"net24", mk(cases.ActionBlock, "203.0.113.0/24", cases.Scope{Protocol: 17, Ports: []cases.PortRange{{From: 50, To: 60}}})},
		{"net16", mk(cases.ActionAbuseReport, "203.0.0.0/16", cases.Scope{})},
		{"rtbh", mk(cases.ActionRTBH, "198.51.100.7", cases.Scope{})},
		{"fs", mk(cases.ActionFlowSpec, "2001:db8:bad::/48", cases.Scope{Destination: cases.MustTarget("2001:db8::/64")})},
		{"fs4", mk(cases.ActionFlowSpec, "203.0.113.10", cases.Scope{Protocol: 6, Destination: cases.MustTarget("172.16.0.0/16")})},
	}
}

// oracle counts, the slow obvious way, whether r counts for action a.
func oracle(a cases.Action, r *flow.Record) bool {
	p := a.Target.Prefix()
	in := func(x flow.Addr, pseudo bool) bool { return !pseudo && !x.IsZero() && p.Contains(x.Netip()) }
	srcIn, dstIn := in(r.SrcAddr, r.Pseudo&flow.PseudoSrc != 0), in(r.DstAddr, r.Pseudo&flow.PseudoDst != 0)
	ok := func(far flow.Addr, farPseudo bool, port uint16) bool {
		s := a.Scope
		if s.Protocol != 0 && r.Proto != s.Protocol {
			return false
		}
		if len(s.Ports) > 0 && (port < s.Ports[0].From || port > s.Ports[0].To) {
			return false
		}
		return s.Destination.IsZero() || !farPseudo && s.Destination.Prefix().Contains(far.Netip())
	}
	if a.Type == cases.ActionRTBH {
		return dstIn
	}
	if srcIn {
		return ok(r.DstAddr, r.Pseudo&flow.PseudoDst != 0, r.DstPort)
	}
	return dstIn && ok(r.SrcAddr, r.Pseudo&flow.PseudoSrc != 0, r.SrcPort)
}

// FuzzObserve feeds records built from the input (6 bytes each: source
// and destination from fuzzPool, protocol, ports, pseudonym flags,
// minute) and checks every watch counted exactly what the oracle counts.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{0, 4, 17, 55, 0, 0})                                // host and net24, udp 55
	f.Add([]byte{4, 3, 6, 80, 0, 1, 3, 4, 6, 80, 0, 1})              // rtbh both ways
	f.Add([]byte{8, 10, 6, 1, 0, 2, 10, 9, 6, 1, 2, 2})              // flowspec v6, a pseudonym
	f.Add([]byte{11, 0, 17, 52, 3, 0, 0, 1, 17, 52, 0, 3})           // mapped, both ends in the target
	f.Add([]byte{1, 5, 6, 9, 0, 0, 13, 14, 0, 0, 0, 0, 15, 2, 1, 1}) // zero addresses
	items := fuzzItems()
	var pool [16]flow.Addr
	for i, s := range fuzzPool {
		pool[i] = flow.AddrFromNetip(netip.MustParseAddr(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := New(DefaultConfig(), Deps{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if err := v.Prewatch(item(it.key, it.a.Type, it.a.Target.String(), it.a.Scope), end); err != nil {
				t.Fatal(err)
			}
		}
		var recs []flow.Record
		want := map[string]float64{}
		for ; len(data) >= 6; data = data[6:] {
			r := flow.Record{SrcAddr: pool[data[0]%16], DstAddr: pool[data[1]%16], Proto: data[2] % 20,
				SrcPort: uint16(data[3]), DstPort: uint16(data[3] ^ data[5]), Pseudo: flow.Pseudo(data[4] % 4),
				Packets: 1, Bytes: 40, Start: t0.Add(time.Duration(data[5]%4) * time.Minute).UnixMilli()}
			recs = append(recs, r)
			for _, it := range items {
				if oracle(it.a, &r) {
					want[it.key]++
				}
			}
		}
		v.Observe(recs)
		for _, it := range items {
			w := v.watches[enforce.ItemKey(it.key, 0)]
			got := sumRange(w.ring, -1<<62, 1<<62).flows
			if got != want[it.key] {
				t.Errorf("%s counted %v, oracle %v", it.key, got, want[it.key])
			}
		}
	})
}
