package space

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pfxs parses prefixes for expectations.
func pfxs(t *testing.T, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

var cmpPrefix = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

// collect returns prefixesOf's output as a slice.
func collect(s span, width int) []netip.Prefix {
	var out []netip.Prefix
	prefixesOf(s, width, func(p netip.Prefix) { out = append(out, p) })
	return out
}

func v4span(start string, count uint64) span {
	lo := u128FromAddr(netip.MustParseAddr(start))
	return span{lo, u128{0, lo.lo + count - 1}}
}

func TestIPv4RangeToPrefixes(t *testing.T) {
	tests := []struct {
		name  string
		start string
		count uint64
		want  []string
	}{
		{"one address", "192.0.2.7", 1, []string{"192.0.2.7/32"}},
		{"aligned /24", "192.0.2.0", 256, []string{"192.0.2.0/24"}},
		{"768 from /22 boundary", "43.224.12.0", 768, []string{"43.224.12.0/23", "43.224.14.0/24"}},
		{"768 from /24 boundary", "43.224.13.0", 768, []string{"43.224.13.0/24", "43.224.14.0/23"}},
		{"non-aligned start", "203.0.112.96", 160, []string{"203.0.112.96/27", "203.0.112.128/25"}},
		{"odd everything", "10.0.0.1", 6, []string{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"}},
		{"five /16s", "58.0.0.0", 5 << 16, []string{"58.0.0.0/14", "58.4.0.0/16"}},
		{"whole space", "0.0.0.0", 1 << 32, []string{"0.0.0.0/0"}},
		{"upper half", "128.0.0.0", 1 << 31, []string{"128.0.0.0/1"}},
		{"last address", "255.255.255.255", 1, []string{"255.255.255.255/32"}},
		{"up to the top", "255.255.255.254", 2, []string{"255.255.255.254/31"}},
		{"all but the first", "0.0.0.1", 1<<32 - 1, []string{
			"0.0.0.1/32", "0.0.0.2/31", "0.0.0.4/30", "0.0.0.8/29", "0.0.0.16/28", "0.0.0.32/27",
			"0.0.0.64/26", "0.0.0.128/25", "0.0.1.0/24", "0.0.2.0/23", "0.0.4.0/22", "0.0.8.0/21",
			"0.0.16.0/20", "0.0.32.0/19", "0.0.64.0/18", "0.0.128.0/17", "0.1.0.0/16", "0.2.0.0/15",
			"0.4.0.0/14", "0.8.0.0/13", "0.16.0.0/12", "0.32.0.0/11", "0.64.0.0/10", "0.128.0.0/9",
			"1.0.0.0/8", "2.0.0.0/7", "4.0.0.0/6", "8.0.0.0/5", "16.0.0.0/4", "32.0.0.0/3",
			"64.0.0.0/2", "128.0.0.0/1"}},
		{"crossing /8", "9.255.255.0", 512, []string{"9.255.255.0/24", "10.0.0.0/24"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(v4span(tt.start, tt.count), 32)
			if diff := cmp.Diff(got, pfxs(t, tt.want...), cmpPrefix); diff != "" {
				t.Errorf("prefixes (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestIPv6PrefixRoundTrip(t *testing.T) {
	// Every length 0..128 at an aligned start converts back to itself.
	base := netip.MustParseAddr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
	for bits := 0; bits <= 128; bits++ {
		p := netip.PrefixFrom(base, bits).Masked()
		got := collect(spanOfPrefix(p), 128)
		if diff := cmp.Diff(got, []netip.Prefix{p}, cmpPrefix); diff != "" {
			t.Errorf("/%d (-got, +want):\n%s", bits, diff)
		}
	}
}

func TestIPv6RangeToPrefixes(t *testing.T) {
	a := func(s string) u128 { return u128FromAddr(netip.MustParseAddr(s)) }
	tests := []struct {
		name   string
		lo, hi string
		want   []string
	}{
		{"whole space", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"::/0"}},
		{"top address", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
			[]string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"}},
		{"across the 64-bit halves", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8:0:1::",
			[]string{"2001:db8::ffff:ffff:ffff:ffff/128", "2001:db8:0:1::/128"}},
		{"two /33s and a /34", "2001:db8::", "2001:db8:bfff:ffff:ffff:ffff:ffff:ffff",
			[]string{"2001:db8::/33", "2001:db8:8000::/34"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(span{a(tt.lo), a(tt.hi)}, 128)
			if diff := cmp.Diff(got, pfxs(t, tt.want...), cmpPrefix); diff != "" {
				t.Errorf("prefixes (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestNormalizeSubtract(t *testing.T) {
	sp := func(ss ...string) []span {
		var out []span
		for _, s := range ss {
			out = append(out, spanOfPrefix(netip.MustParsePrefix(s)))
		}
		return out
	}
	tests := []struct {
		name     string
		in, rm   []span
		wantPfxs []string
	}{
		{"adjacent merge", sp("10.0.1.0/24", "10.0.0.0/24"), nil, []string{"10.0.0.0/23"}},
		{"overlap merge", sp("10.0.0.0/16", "10.0.5.0/24", "10.0.255.0/24"), nil, []string{"10.0.0.0/16"}},
		{"top of space", sp("255.0.0.0/8", "254.0.0.0/8", "255.255.255.255/32"), nil, []string{"254.0.0.0/7"}},
		{"remove splits", sp("10.0.0.0/16"), sp("10.0.128.0/24"), []string{
			"10.0.0.0/17", "10.0.129.0/24", "10.0.130.0/23", "10.0.132.0/22", "10.0.136.0/21",
			"10.0.144.0/20", "10.0.160.0/19", "10.0.192.0/18"}},
		{"remove covers all", sp("10.0.0.0/24", "10.0.2.0/24"), sp("10.0.0.0/16"), nil},
		{"remove edges", sp("10.0.0.0/24"), sp("10.0.0.0/32", "10.0.0.255/32"), []string{
			"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/30", "10.0.0.8/29", "10.0.0.16/28", "10.0.0.32/27",
			"10.0.0.64/26", "10.0.0.128/26", "10.0.0.192/27", "10.0.0.224/28", "10.0.0.240/29",
			"10.0.0.248/30", "10.0.0.252/31", "10.0.0.254/32"}},
		{"one remove across two ranges", sp("10.0.0.0/24", "10.0.2.0/24"), sp("10.0.0.128/25", "10.0.1.0/24", "10.0.2.0/25"),
			[]string{"10.0.0.0/25", "10.0.2.128/25"}},
		{"remove elsewhere", sp("10.0.0.0/24"), sp("192.0.2.0/24"), []string{"10.0.0.0/24"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []netip.Prefix
			for _, s := range subtract(normalize(tt.in), normalize(tt.rm)) {
				got = append(got, collect(s, 32)...)
			}
			if diff := cmp.Diff(got, pfxs(t, tt.wantPfxs...), cmpPrefix); diff != "" {
				t.Errorf("prefixes (-got, +want):\n%s", diff)
			}
		})
	}
}
