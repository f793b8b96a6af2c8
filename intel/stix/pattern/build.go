package pattern

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// addrType is the SCO type of an address: ipv4-addr or ipv6-addr.
func addrType(a netip.Addr) string {
	if a.Is4() {
		return "ipv4-addr"
	}
	return "ipv6-addr"
}

// Addr returns [ipv4-addr:value = 'a'] (ipv6-addr for IPv6). An
// IPv4-mapped IPv6 address is written as IPv4.
func Addr(a netip.Addr) string {
	a = a.Unmap()
	return "[" + addrType(a) + ":value = " + Quote(a.String()) + "]"
}

// Prefix returns [ipv4-addr:value ISSUBSET 'p'] for a prefix, or Addr
// for a single-address prefix (/32, /128).
func Prefix(p netip.Prefix) string {
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr()))
	if p.IsSingleIP() {
		return Addr(p.Addr())
	}
	p = p.Masked()
	return "[" + addrType(p.Addr()) + ":value ISSUBSET " + Quote(p.String()) + "]"
}

func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

// Domain returns [domain-name:value = 'd'] for a checked, lower-cased
// domain name.
func Domain(d string) (string, error) {
	d, err := CheckDomain(d)
	if err != nil {
		return "", err
	}
	return "[domain-name:value = " + Quote(d) + "]", nil
}

// Direction says which end of a connection a network-traffic pattern
// names.
type Direction uint8

// Directions.
const (
	Dst Direction = iota // the address is the destination (a C2 server, a scanned service)
	Src                  // the address is the source (a scanner, a flood source)
)

// NetworkTraffic returns a pattern for traffic to (Dst) or from (Src) an
// address or prefix, and to destination port port when port > 0:
//
//	[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]
//
// A prefix is compared with ISSUBSET.
func NetworkTraffic(dir Direction, p netip.Prefix, port int) (string, error) {
	if !p.IsValid() {
		return "", errors.New("unable to build a network-traffic pattern: invalid address")
	}
	if port < 0 || port > 65535 {
		return "", fmt.Errorf("unable to build a network-traffic pattern: port %d out of range", port)
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr()))
	ref := "dst_ref"
	if dir == Src {
		ref = "src_ref"
	}
	parts := []string{"network-traffic:" + ref + ".type = " + Quote(addrType(p.Addr()))}
	if p.IsSingleIP() {
		parts = append(parts, "network-traffic:"+ref+".value = "+Quote(p.Addr().String()))
	} else {
		parts = append(parts, "network-traffic:"+ref+".value ISSUBSET "+Quote(p.Masked().String()))
	}
	if port > 0 {
		parts = append(parts, "network-traffic:dst_port = "+itoa(int64(port)))
	}
	return "[" + strings.Join(parts, " AND ") + "]", nil
}

// Or joins patterns (each a full pattern) into one, as OR of their
// observation expressions.
func Or(patterns ...string) string {
	return strings.Join(patterns, " OR ")
}

// CheckDomain lower-cases a domain name (a trailing dot removed) and
// checks it: labels of 1 to 63 letters, digits, hyphens or underscores,
// not starting or ending with a hyphen, 253 characters at most, at
// least two labels.
func CheckDomain(d string) (string, error) {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	if len(d) == 0 || len(d) > 253 {
		return "", fmt.Errorf("invalid domain name %q: length", d)
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("invalid domain name %q: a single label", d)
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("invalid domain name %q: label %q", d, l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("invalid domain name %q: character %q", d, c)
			}
		}
	}
	return d, nil
}
