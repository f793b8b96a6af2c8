package rpz

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/acd-org/acd/cases"
)

func TestIPTrigger(t *testing.T) {
	for _, tc := range []struct{ prefix, want string }{
		{"198.51.100.7/32", "32.7.100.51.198"},
		{"198.51.100.0/24", "24.0.100.51.198"},
		{"198.51.100.10/24", "24.0.100.51.198"}, // masked
		{"2001:db8::10/128", "128.10.zz.db8.2001"},
		{"2001:db8::10/32", "32.zz.db8.2001"},
		{"2001:db8:0:1::/64", "64.zz.1.0.db8.2001"},
		{"::1/128", "128.1.zz"},
		{"2001:db8:1:2:3:4:5:6/128", "128.6.5.4.3.2.1.db8.2001"},
		{"2001:db8::/32", "32.zz.db8.2001"},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			p := netip.MustParsePrefix(tc.prefix)
			got := IPTrigger(p)
			if got != tc.want {
				t.Fatalf("IPTrigger(%s) = %q, want %q", p, got, tc.want)
			}
			back, err := ParseIPTrigger(got)
			if err != nil || back != p.Masked() {
				t.Fatalf("ParseIPTrigger(%q) = %v, %v; want %s", got, back, err, p.Masked())
			}
		})
	}
}

func TestParseIPTriggerErrors(t *testing.T) {
	for _, s := range []string{"", "32.1.2.3", "x.4.3.2.1", "33.4.3.2.1", "0.4.3.2.1", "24.4.3.2.1",
		"128.zz.1.zz.2", "032.4.3.2.1", "128.1.2.3.4.5.6.7.8.9"} {
		if p, err := ParseIPTrigger(s); err == nil {
			t.Errorf("ParseIPTrigger(%q) = %s, want an error", s, p)
		}
	}
	// The full IPv6 form is read too.
	if p, err := ParseIPTrigger("128.10.0.0.0.0.0.db8.2001"); err != nil || p != netip.MustParsePrefix("2001:db8::10/128") {
		t.Errorf("full form: %v %v", p, err)
	}
}

func FuzzParseIPTrigger(f *testing.F) {
	for _, s := range []string{"32.7.100.51.198", "24.0.100.51.198", "128.10.zz.db8.2001", "32.zz.db8.2001",
		"128.1.zz", "128.zz", "64.zz.1.0.db8.2001", "1.0.0.0.128"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseIPTrigger(s)
		if err != nil {
			return
		}
		// What parses writes back to a trigger that parses to the same.
		back, err := ParseIPTrigger(IPTrigger(p))
		if err != nil || back != p {
			t.Fatalf("%q -> %s -> %q -> %s, %v", s, p, IPTrigger(p), back, err)
		}
	})
}

func TestRecordsRefused(t *testing.T) {
	cfg := DefaultConfig()
	block := sinkhole("198.51.100.7", false)
	block.Type = cases.ActionBlock
	ports := sinkhole("evil.example", false)
	ports.Scope.Protocol = 6
	subIP := sinkhole("198.51.100.0/24", true)
	long := sinkhole(strings.Repeat("a", 60)+"."+strings.Repeat("b", 60)+"."+strings.Repeat("c", 60)+"."+strings.Repeat("d", 60)+".example", false)
	for name, a := range map[string]cases.Action{"block": block, "protocol": ports, "subdomains on prefix": subIP, "too long": long, "no target": {Type: cases.ActionSinkhole}} {
		t.Run(name, func(t *testing.T) {
			if rrs, err := cfg.records(a); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("records = %v, %v; want ErrUnsupported", rrs, err)
			}
		})
	}
}
