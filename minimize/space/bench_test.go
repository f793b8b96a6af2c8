package space

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/acd-org/acd/flow"
	"github.com/gaissmai/bart"
)

// countrySpans generates a country-like space: about n4 IPv4 delegations
// in a few dozen /8s (sizes from /24 to /14, some not powers of two) and
// n6 IPv6 delegations (/20 to /48) in APNIC-like /12s.
func countrySpans(rng *rand.Rand, n4, n6 int) (v4, v6 []span) {
	var slash8 []uint32
	for range 40 {
		slash8 = append(slash8, 1+rng.Uint32N(222))
	}
	sizes4 := []int{24, 24, 24, 24, 23, 23, 22, 22, 22, 21, 20, 20, 19, 18, 17, 16, 16, 15, 14}
	for range n4 {
		bits := sizes4[rng.IntN(len(sizes4))]
		start := slash8[rng.IntN(len(slash8))]<<24 | rng.Uint32N(1<<24)&^(1<<(32-bits)-1)
		count := uint64(1) << (32 - bits)
		if rng.IntN(10) == 0 { // non-power-of-two count, /24 granularity
			count = uint64(1+rng.IntN(12)) << 8
		}
		end := min(uint64(start)+count-1, 0xffffffff)
		v4 = append(v4, span{u128{0, uint64(start)}, u128{0, end}})
	}
	sizes6 := []int{32, 32, 32, 32, 32, 29, 48, 48, 48, 48, 40, 36, 44, 56, 28}
	tops := []uint64{0x2001_0, 0x2400, 0x2401, 0x2402, 0x2403, 0x2404, 0x2405, 0x2406, 0x2407, 0x2408, 0x2409, 0x240b, 0x240d, 0x2c0f}
	for range n6 {
		bits := sizes6[rng.IntN(len(sizes6))]
		hi := (tops[rng.IntN(len(tops))]<<48 | rng.Uint64N(1<<48)) &^ (1<<(64-bits) - 1)
		p := netip.PrefixFrom(addrFromU128(u128{hi, 0}, 128), bits)
		v6 = append(v6, spanOfPrefix(p))
	}
	return v4, v6
}

// lookupMix returns n addresses like the endpoints of flow records: 80%
// IPv4, half of them domestic, with half the lookups drawn from a small
// pool of busy addresses.
func lookupMix(rng *rand.Rand, s *Set, n int) []flow.Addr {
	fresh := func() flow.Addr {
		v6 := rng.IntN(5) == 0
		if rng.IntN(2) == 0 { // domestic
			sp := s.s4
			if v6 {
				sp = s.s6
			}
			r := sp[rng.IntN(len(sp))]
			d := r.hi.sub(r.lo)
			v := u128{r.lo.hi, r.lo.lo + rng.Uint64N(min(d.lo, 1<<62)+1)}
			if v.lo < r.lo.lo {
				v.hi++
			}
			w := 32
			if v6 {
				w = 128
			}
			return flow.AddrFromNetip(addrFromU128(v, w))
		}
		if v6 {
			return flow.AddrFromNetip(addrFromU128(u128{0x2000<<48 | rng.Uint64N(1<<60), rng.Uint64()}, 128))
		}
		return flow.AddrFromNetip(addrFromU128(u128{0, uint64(rng.Uint32())}, 32))
	}
	hot := make([]flow.Addr, 512)
	for i := range hot {
		hot[i] = fresh()
	}
	out := make([]flow.Addr, n)
	for i := range out {
		if rng.IntN(2) == 0 {
			out[i] = hot[rng.IntN(len(hot))]
		} else {
			out[i] = fresh()
		}
	}
	return out
}

func benchSet(b *testing.B) (*Set, []flow.Addr) {
	b.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	v4, v6 := countrySpans(rng, 18000, 5200)
	s := build(v4, v6, nil, nil)
	return s, lookupMix(rng, s, 1<<16)
}

// BenchmarkContains compares Set.Contains with bart's tables holding the
// same prefixes, on a mix of 64k addresses (1 MiB: lookups miss the CPU
// caches as on a busy collector). The flow.Addr to netip.Addr conversion
// bart needs is included: it is what the caller would pay. baseline is
// the loop alone.
func BenchmarkContains(b *testing.B) {
	s, addrs := benchSet(b)
	benchContains(b, s, addrs)
}

// BenchmarkContainsHot is BenchmarkContains with 1024 distinct addresses,
// so the tables stay in cache.
func BenchmarkContainsHot(b *testing.B) {
	s, addrs := benchSet(b)
	hot := make([]flow.Addr, 1024)
	for i := range hot {
		hot[i] = addrs[i*7]
	}
	benchContains(b, s, hot)
}

func benchContains(b *testing.B, s *Set, addrs []flow.Addr) {
	lite := new(bart.Lite)
	table := new(bart.Table[struct{}])
	fast := new(bart.Fast[struct{}])
	for _, p := range s.Prefixes() {
		lite.Insert(p)
		table.Insert(p, struct{}{})
		fast.Insert(p, struct{}{})
	}
	st := s.Stats()
	b.Logf("set: %d v4 prefixes (%d ranges), %d v6 prefixes (%d ranges)", st.PrefixesV4, st.RangesV4, st.PrefixesV6, st.RangesV6)
	for _, a := range addrs {
		if s.Contains(a) != lite.Contains(a.Netip()) {
			b.Fatalf("Set and bart disagree on %s", a)
		}
	}
	run := func(b *testing.B, contains func(flow.Addr) bool) {
		b.ReportAllocs()
		n := 0
		i := 0
		for b.Loop() {
			if contains(addrs[i&(len(addrs)-1)]) {
				n++
			}
			i++
		}
		if n == 0 {
			b.Fatal("no address found")
		}
	}
	b.Run("baseline", func(b *testing.B) { run(b, func(a flow.Addr) bool { return a[15]&1 == 0 }) })
	b.Run("own", func(b *testing.B) { run(b, s.Contains) })
	b.Run("bart-lite", func(b *testing.B) { run(b, func(a flow.Addr) bool { return lite.Contains(a.Netip()) }) })
	b.Run("bart-table", func(b *testing.B) { run(b, func(a flow.Addr) bool { return table.Contains(a.Netip()) }) })
	b.Run("bart-fast", func(b *testing.B) { run(b, func(a flow.Addr) bool { return fast.Contains(a.Netip()) }) })
}

// BenchmarkLoadSample measures parsing the sample file.
func BenchmarkLoadSample(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(Config{Countries: []string{"JP"}, Delegated: []string{sample}}); err != nil {
			b.Fatal(err)
		}
	}
}
