package space

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/acd-org/acd/flow"
	"github.com/google/go-cmp/cmp"
)

func TestDefaultConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	set, err := Load(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"0.0.0.0", "192.0.2.1", "255.255.255.255", "::", "2001:db8::1"} {
		if set.Contains(addr(s)) {
			t.Errorf("empty space contains %s", s)
		}
	}
	if p := set.Prefixes(); len(p) != 0 {
		t.Errorf("empty space has prefixes %v", p)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings, one per expected problem
	}{
		{"good", Config{Countries: []string{"JP", "kr"}, Delegated: []string{"a"}, Add: []string{"192.0.2.0/24", "2001:db8::1"}, Remove: []string{"10.0.0.1"}}, nil},
		{"country", Config{Countries: []string{"JP", "JPN", "1A", ""}}, []string{
			`screen.domestic.countries[1]: "JPN" is not an ISO 3166-1 alpha-2`, `screen.domestic.countries[2]: "1A"`, `screen.domestic.countries[3]: ""`}},
		{"files without countries", Config{Delegated: []string{"x"}}, []string{"screen.domestic.delegated: files given but no countries"}},
		{"empty path", Config{Countries: []string{"JP"}, Delegated: []string{" "}}, []string{"screen.domestic.delegated[0]: empty path"}},
		{"add", Config{Add: []string{"192.0.2.0/24", "192.0.2.1/24", "300.0.0.0/8", "2001:db8::/129", "fe80::1%eth0", "::ffff:192.0.2.0/120", "example.com"}}, []string{
			`screen.domestic.add[1]: "192.0.2.1/24" has host bits set: did you mean 192.0.2.0/24?`,
			`screen.domestic.add[2]: "300.0.0.0/8" is not a CIDR prefix`,
			`screen.domestic.add[3]: "2001:db8::/129" is not a CIDR prefix`,
			`screen.domestic.add[4]: "fe80::1%eth0" is not an address`,
			`screen.domestic.add[5]: "::ffff:192.0.2.0/120" is an IPv4-mapped IPv6 prefix`,
			`screen.domestic.add[6]: "example.com" is not an address`}},
		{"remove", Config{Remove: []string{"10.0.0.0/33"}}, []string{`screen.domestic.remove[0]: "10.0.0.0/33" is not a CIDR prefix`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.ValidateKey("screen.domestic")
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// Validate names the same keys relative to the section, and
			// Load refuses the config the same way.
			if rel := tt.cfg.Validate(); rel == nil || !strings.Contains(rel.Error(), strings.TrimPrefix(strings.SplitN(tt.want[0], ":", 2)[0], "screen.domestic.")) {
				t.Errorf("Validate: %v", rel)
			}
			if set, err := Load(tt.cfg); err == nil || set != nil {
				t.Errorf("Load accepted an invalid config: %v", err)
			}
		})
	}
}

func addr(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }

func TestAddRemove(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		want    []string
		in, out []string
	}{
		{"add overlapping", Config{Add: []string{"10.0.0.0/8", "10.1.0.0/16", "10.255.255.255", "11.0.0.0/8", "2001:db8::/32", "2001:db8:1::/48"}},
			[]string{"10.0.0.0/7", "2001:db8::/32"},
			[]string{"10.0.0.0", "11.255.255.255", "2001:db8:ffff::1"}, []string{"9.255.255.255", "12.0.0.0", "2001:db9::"}},
		{"remove splits a prefix", Config{Add: []string{"192.0.2.0/24"}, Remove: []string{"192.0.2.128/26"}},
			[]string{"192.0.2.0/25", "192.0.2.192/26"},
			[]string{"192.0.2.127", "192.0.2.192"}, []string{"192.0.2.128", "192.0.2.191"}},
		{"remove wins over add and files", Config{Countries: []string{"JP"}, Delegated: []string{sample},
			Add: []string{"192.0.2.0/24"}, Remove: []string{"133.0.0.0/8", "192.0.2.0/25", "2001:200::/32"}},
			nil,
			[]string{"192.0.2.128", "1.0.16.1", "2400:2000::1"}, []string{"133.1.2.3", "192.0.2.1", "2001:200::1"}},
		{"families are separate", Config{Add: []string{"::/0"}},
			[]string{"::/0"},
			[]string{"::", "2001:db8::1", "::ffff:0:0:1"}, []string{"192.0.2.1", "0.0.0.0"}},
		{"v6 index edges", Config{Add: []string{"::/2", "f000::/4"}, Remove: []string{"2100::/8", "2fff:f000::/20"}},
			[]string{"::/3", "2000::/8", "2200::/7", "2400::/6", "2800::/6", "2c00::/7", "2e00::/8",
				"2f00::/9", "2f80::/10", "2fc0::/11", "2fe0::/12", "2ff0::/13", "2ff8::/14", "2ffc::/15", "2ffe::/16",
				"2fff::/17", "2fff:8000::/18", "2fff:c000::/19", "2fff:e000::/20", "3000::/4", "f000::/4"},
			[]string{"::1", "1fff:ffff::", "2000::", "20ff::1", "2200::", "2fff:e000::1", "2fff:efff:ffff:ffff:ffff:ffff:ffff:ffff", "3000::", "3fff::ffff", "f123::"},
			[]string{"2100::1", "2fff:f000::", "2fff:ffff:ffff::", "4000::", "e000::"}},
		{"whole IPv4 space", Config{Add: []string{"0.0.0.0/0"}, Remove: []string{"255.255.255.255"}},
			nil,
			[]string{"0.0.0.0", "255.255.255.254"}, []string{"255.255.255.255", "::"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Load(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				if diff := cmp.Diff(set.Prefixes(), pfxs(t, tt.want...), cmpPrefix); diff != "" {
					t.Errorf("prefixes (-got, +want):\n%s", diff)
				}
			}
			for _, s := range tt.in {
				if !set.Contains(addr(s)) {
					t.Errorf("%s not in the space", s)
				}
			}
			for _, s := range tt.out {
				if set.Contains(addr(s)) {
					t.Errorf("%s in the space", s)
				}
			}
		})
	}
}

func TestNilSet(t *testing.T) {
	var s *Set
	if s.Contains(addr("192.0.2.1")) || s.Prefixes() != nil || s.Stats().RangesV4 != 0 {
		t.Error("nil set is not empty")
	}
	var z Set
	if z.Contains(addr("192.0.2.1")) || z.Contains(addr("2001:db8::")) {
		t.Error("zero set is not empty")
	}
}

func TestContainsAllocs(t *testing.T) {
	set, err := Load(Config{Countries: []string{"JP"}, Delegated: []string{sample}})
	if err != nil {
		t.Fatal(err)
	}
	a4, a6 := addr("133.1.2.3"), addr("2400:2000::1")
	if n := testing.AllocsPerRun(100, func() { set.Contains(a4); set.Contains(a6) }); n != 0 {
		t.Errorf("Contains allocates %v times", n)
	}
}

// reference is the naive domestic space: in some add prefix and in no
// remove prefix.
type reference struct{ add, remove []netip.Prefix }

func (r reference) contains(a flow.Addr) bool {
	ip := a.Netip()
	if !ip.IsValid() {
		ip = netip.IPv6Unspecified()
	}
	in := func(ps []netip.Prefix) bool {
		return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(ip) })
	}
	return in(r.add) && !in(r.remove)
}

func (r reference) config() Config {
	var c Config
	for _, p := range r.add {
		c.Add = append(c.Add, p.String())
	}
	for _, p := range r.remove {
		c.Remove = append(c.Remove, p.String())
	}
	return c
}

// randPrefix returns a random prefix, mostly of realistic lengths.
func randPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(3) > 0 {
		var b [4]byte
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		b[0] = 10 + byte(rng.UintN(4)) // cluster so prefixes overlap
		bits := []int{8, 12, 16, 20, 22, 24, 32, 0, rng.IntN(33)}[rng.IntN(9)]
		return netip.PrefixFrom(netip.AddrFrom4(b), bits).Masked()
	}
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	b[0], b[1], b[2] = 0x20, 0x01, byte(rng.UintN(3))
	bits := []int{20, 24, 32, 48, 56, 64, 128, 0, rng.IntN(129)}[rng.IntN(9)]
	return netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked()
}

// probes returns addresses worth asking about: the edges of every
// prefix, just outside them, and random ones.
func probes(rng *rand.Rand, ps []netip.Prefix, extra int) []flow.Addr {
	var out []flow.Addr
	for _, p := range ps {
		s := spanOfPrefix(p)
		w := p.Addr().BitLen()
		for _, v := range []u128{s.lo, s.hi, s.lo.sub(u128{0, 1}), s.hi.add1()} {
			if w == 32 {
				v.hi, v.lo = 0, v.lo&0xffffffff
			}
			out = append(out, flow.AddrFromNetip(addrFromU128(v, w)))
		}
	}
	for range extra {
		out = append(out, flow.AddrFromNetip(randPrefix(rng).Addr().Next()))
	}
	return append(out, flow.Addr{})
}

func checkAgainstReference(t *testing.T, ref reference, probes []flow.Addr) {
	t.Helper()
	set, err := Load(ref.config())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range probes {
		if got, want := set.Contains(a), ref.contains(a); got != want {
			t.Fatalf("Contains(%s) = %v, reference %v; add %v remove %v", a, got, want, ref.add, ref.remove)
		}
	}
	// Prefixes is minimal and sorted: no overlap, and no two siblings
	// that should have been one prefix; and it describes the same set.
	ps := set.Prefixes()
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		if a.Addr().Is4() == b.Addr().Is4() {
			if a.Overlaps(b) || !a.Addr().Less(b.Addr()) {
				t.Fatalf("prefixes %s and %s overlap or are out of order", a, b)
			}
			if a.Bits() == b.Bits() && a.Bits() > 0 {
				if parent, _ := a.Addr().Prefix(a.Bits() - 1); parent.Contains(b.Addr()) {
					t.Fatalf("siblings %s and %s not merged", a, b)
				}
			}
		}
	}
	again := reference{add: ps}
	for _, a := range probes {
		if got, want := again.contains(a), set.Contains(a); got != want {
			t.Fatalf("Prefixes() disagrees with Contains at %s", a)
		}
	}
}

func TestContainsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		var ref reference
		for range 1 + rng.IntN(40) {
			ref.add = append(ref.add, randPrefix(rng))
		}
		for range rng.IntN(10) {
			ref.remove = append(ref.remove, randPrefix(rng))
		}
		checkAgainstReference(t, ref, probes(rng, append(slices.Clone(ref.add), ref.remove...), 200))
	}
}

// FuzzContains decodes prefixes from the input (a flags byte: bit 0
// remove, bit 1 IPv6; a length byte; 4 or 16 address bytes) and checks
// Contains against the reference at every prefix edge.
func FuzzContains(f *testing.F) {
	f.Add([]byte{0, 24, 192, 0, 2, 0, 1, 26, 192, 0, 2, 64})
	f.Add([]byte{2, 32, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 48, 0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 1, 32, 255, 255, 255, 255, 2, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ref reference
		for len(data) >= 2 && len(ref.add)+len(ref.remove) < 64 {
			flags, bits := data[0], int(data[1])
			data = data[2:]
			n := 4
			if flags&2 != 0 {
				n = 16
			}
			var b [16]byte
			copy(b[:n], data)
			data = data[min(n, len(data)):]
			var ip netip.Addr
			if n == 4 {
				ip = netip.AddrFrom4([4]byte(b[:4]))
			} else {
				ip = netip.AddrFrom16(b)
			}
			p := netip.PrefixFrom(ip, bits%(ip.BitLen()+1)).Masked()
			if p.Addr().Is4In6() {
				continue // refused by ParsePrefix
			}
			if flags&1 != 0 {
				ref.remove = append(ref.remove, p)
			} else {
				ref.add = append(ref.add, p)
			}
		}
		rng := rand.New(rand.NewPCG(uint64(len(ref.add)), uint64(len(ref.remove))))
		checkAgainstReference(t, ref, probes(rng, append(slices.Clone(ref.add), ref.remove...), 16))
	})
}
