package cases

import (
	"fmt"
	"net/netip"
	"strings"
)

// TargetKind says what a Target names.
type TargetKind string

// Target kinds.
const (
	KindAddress TargetKind = "address" // one host: an IPv4 or IPv6 address
	KindPrefix  TargetKind = "prefix"  // a network: an address prefix
	KindDomain  TargetKind = "domain"  // a DNS name
)

// Target is what a case or an action is aimed at: an address, a prefix
// or a domain. The zero Target names nothing. It is written as text:
// "192.0.2.1", "198.51.100.0/24", "2001:db8::/48", "evil.example".
// An address is kept as its host prefix (/32, /128) and written without
// the length; a prefix is kept masked ("192.0.2.7/24" reads as
// "192.0.2.0/24"); a domain is kept lower-case without a trailing dot.
type Target struct {
	prefix netip.Prefix
	domain string
}

// ParseTarget reads a target written as an address, a prefix or a domain.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Target{}, fmt.Errorf("empty target")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return Target{}, fmt.Errorf("target %q: an address with a zone is not a network target", s)
		}
		a = a.Unmap()
		return Target{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return Target{prefix: p.Masked()}, nil
	}
	if strings.ContainsAny(s, ":/") || isNumeric(s) {
		return Target{}, fmt.Errorf("target %q is neither an address, a prefix nor a domain", s)
	}
	d, err := parseDomain(s)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", s, err)
	}
	return Target{domain: d}, nil
}

// MustTarget is ParseTarget for constants in tests and examples; it
// panics on an invalid target.
func MustTarget(s string) Target {
	t, err := ParseTarget(s)
	if err != nil {
		panic(err)
	}
	return t
}

func isNumeric(s string) bool {
	return strings.Trim(s, "0123456789.") == ""
}

// parseDomain checks a DNS name: 2 to 127 labels of letters, digits,
// '-' and '_', each 1 to 63 bytes, not starting or ending with '-', 253
// bytes at most.
func parseDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSuffix(s, "."))
	if len(d) > 253 {
		return "", fmt.Errorf("domain longer than 253 bytes")
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return "", fmt.Errorf("a domain needs at least two labels")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("domain label %q must be 1 to 63 bytes", l)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", fmt.Errorf("domain label %q starts or ends with '-'", l)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("domain label %q has %q (write internationalized names in their xn-- form)", l, c)
			}
		}
	}
	return d, nil
}

// IsZero reports whether t names nothing.
func (t Target) IsZero() bool { return !t.prefix.IsValid() && t.domain == "" }

// Kind says whether t is an address, a prefix or a domain ("" when zero).
func (t Target) Kind() TargetKind {
	switch {
	case t.domain != "":
		return KindDomain
	case !t.prefix.IsValid():
		return ""
	case t.prefix.IsSingleIP():
		return KindAddress
	default:
		return KindPrefix
	}
}

// Prefix returns the network t names (an address as its host prefix),
// invalid for a domain.
func (t Target) Prefix() netip.Prefix { return t.prefix }

// Domain returns the domain t names, "" for an address or prefix.
func (t Target) Domain() string { return t.domain }

// String writes t as ParseTarget reads it.
func (t Target) String() string {
	switch t.Kind() {
	case KindDomain:
		return t.domain
	case KindAddress:
		return t.prefix.Addr().String()
	case KindPrefix:
		return t.prefix.String()
	}
	return ""
}

// Covers reports whether every address u names lies in t (a domain
// covers only itself).
func (t Target) Covers(u Target) bool {
	if t.domain != "" || u.domain != "" {
		return t.domain != "" && t.domain == u.domain
	}
	return t.prefix.IsValid() && u.prefix.IsValid() &&
		t.prefix.Bits() <= u.prefix.Bits() && t.prefix.Contains(u.prefix.Addr())
}

// MarshalText writes t as String does.
func (t Target) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads t as ParseTarget does; empty text is the zero Target.
func (t *Target) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = Target{}
		return nil
	}
	v, err := ParseTarget(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}
