package abuse

import (
	"net/netip"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	keep := netip.MustParsePrefix("198.51.100.0/24")
	for _, tc := range []struct{ in, want string }{
		{"198.51.100.7 probed 192.0.2.10.", "198.51.100.7 probed [withheld]."},
		{"to 10.1.2.3:443, from 198.51.100.7:5060", "to [withheld], from 198.51.100.7:5060"},
		{"victim 2001:db8::1 and [2001:db8::2]:53", "victim [withheld] and [[withheld]]:53"},
		{"net 192.0.2.0/24; wider 198.51.0.0/16; inside 198.51.100.128/25", "net [withheld]; wider [withheld]; inside 198.51.100.128/25"},
		{"mapped ::ffff:10.0.0.1 and ::ffff:198.51.100.9", "mapped [withheld] and ::ffff:198.51.100.9"},
		{"period 1m0s, jitter ±5%, 97% of 22/tcp, score 0.93, at 08:00:00", "period 1m0s, jitter ±5%, 97% of 22/tcp, score 0.93, at 08:00:00"},
		{"deadbeef cafe 1.5 2026-03-14", "deadbeef cafe 1.5 2026-03-14"},
	} {
		if got := Redact(tc.in, keep); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzRedact checks that no address outside the kept prefix survives.
func FuzzRedact(f *testing.F) {
	f.Add("198.51.100.7 sent 412 flood records (3.0e4 packets) so far to 10.9.8.7, the victim")
	f.Add("3 internal host(s) connect to 203.0.113.5 port 443/tcp at regular intervals (period 1m0s, jitter ±5%)")
	f.Add("[2001:db8::2]:53 ::ffff:10.0.0.1 192.0.2.0/24")
	f.Fuzz(func(t *testing.T, s string) {
		keep := netip.MustParsePrefix("198.51.100.0/24")
		out := Redact(s, keep)
		for _, tok := range strings.FieldsFunc(out, func(r rune) bool { return r > 0x7f || !isAddrByte(byte(r)) }) {
			core := strings.TrimRight(tok, ".:/")
			if p, ok := parseAddrToken(core); ok && !(keep.Bits() <= p.Bits() && keep.Contains(p.Addr())) {
				t.Fatalf("Redact(%q) = %q keeps %s", s, out, tok)
			}
		}
	})
}
