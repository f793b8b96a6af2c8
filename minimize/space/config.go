package space

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Config says which addresses are domestic (key "screen.domestic").
type Config struct {
	// Countries lists ISO 3166-1 alpha-2 codes (case-insensitive) whose
	// allocated and assigned records in the delegated files are domestic.
	Countries []string `yaml:"countries"`
	// Delegated lists paths of RIR delegated or delegated-extended
	// statistics files, plain or gzip-compressed.
	Delegated []string `yaml:"delegated"`
	// Add lists CIDRs or single addresses added to the space.
	Add []string `yaml:"add"`
	// Remove lists CIDRs or single addresses removed from the space; it
	// wins over the files and Add.
	Remove []string `yaml:"remove"`
}

// DefaultConfig returns the empty space: nothing is domestic.
func DefaultConfig() Config { return Config{} }

// Validate checks c's syntax (country codes, CIDRs) without reading any
// file, and reports every problem. Each line of the error names its key
// relative to the section, e.g. "add[2]: ..."; use ValidateKey to name
// keys in full.
func (c Config) Validate() error { return c.ValidateKey("") }

// ValidateKey is Validate with every key prefixed by section and a dot,
// e.g. ValidateKey("screen.domestic") reports
// "screen.domestic.add[2]: ...".
func (c Config) ValidateKey(section string) error {
	key := func(name string, i int) string {
		k := fmt.Sprintf("%s[%d]", name, i)
		if section != "" {
			k = section + "." + k
		}
		return k
	}
	var errs []error
	for i, cc := range c.Countries {
		if !isCountry(strings.ToUpper(cc)) {
			errs = append(errs, fmt.Errorf("%s: %q is not an ISO 3166-1 alpha-2 country code (e.g. JP)", key("countries", i), cc))
		}
	}
	for i, path := range c.Delegated {
		if strings.TrimSpace(path) == "" {
			errs = append(errs, fmt.Errorf("%s: empty path", key("delegated", i)))
		}
	}
	if len(c.Delegated) > 0 && len(c.Countries) == 0 {
		k := "delegated"
		if section != "" {
			k = section + "." + k
		}
		errs = append(errs, fmt.Errorf("%s: files given but no countries: nothing in them would be domestic", k))
	}
	for i, s := range c.Add {
		if _, err := ParsePrefix(s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key("add", i), err))
		}
	}
	for i, s := range c.Remove {
		if _, err := ParsePrefix(s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key("remove", i), err))
		}
	}
	return errors.Join(errs...)
}

// ParsePrefix parses a CIDR ("192.0.2.0/24", "2001:db8::/32") or a single
// address (a /32 or /128). Host bits must be zero, zones and
// IPv4-mapped IPv6 forms are refused (write the IPv4 form).
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix", s)
		}
	} else {
		ip, err := netip.ParseAddr(s)
		if err != nil || ip.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix", s)
		}
		p = netip.PrefixFrom(ip, ip.BitLen())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix: write it in IPv4 form", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set: did you mean %s?", s, m)
	}
	return p, nil
}
