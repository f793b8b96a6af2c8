package flow

import (
	"net/netip"
	"testing"
)

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{"198.51.100.0/24": "198.51.100.255", "198.51.100.7/32": "198.51.100.7",
		"10.1.2.3/8": "10.255.255.255", "2001:db8::/64": "2001:db8::ffff:ffff:ffff:ffff", "0.0.0.0/0": "255.255.255.255"} {
		if got := LastAddr(netip.MustParsePrefix(in)); got.String() != want {
			t.Errorf("LastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
