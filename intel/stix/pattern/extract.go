package pattern

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrNotActionable says a pattern is more than a list of addresses,
// prefixes and domains: acd does not turn it into suspects.
var ErrNotActionable = errors.New("pattern: not actionable")

// Target is an address, a prefix or a domain a pattern names: Prefix is
// valid for an address (a single-IP prefix) or a prefix, Domain is set
// for a domain name.
type Target struct {
	Prefix netip.Prefix
	Domain string
}

// String renders the target ("198.51.100.7", "198.51.100.0/24",
// "example.com").
func (t Target) String() string {
	switch {
	case t.Domain != "":
		return t.Domain
	case t.Prefix.IsSingleIP():
		return t.Prefix.Addr().String()
	}
	return t.Prefix.String()
}

// ExtractString parses s and extracts its targets.
func ExtractString(s string) ([]Target, error) {
	p, err := Parse(s)
	if err != nil {
		return nil, err
	}
	return Extract(p)
}

// Extract returns the addresses, prefixes and domains a pattern names
// when it is a disjunction (OR, in or across observation expressions,
// without qualifiers) of comparisons
//
//	ipv4-addr:value = '…'         (an address or a CIDR prefix)
//	ipv6-addr:value = '…'
//	ipv4-addr:value ISSUBSET '…'  (ipv6-addr alike)
//	domain-name:value = '…'
//
// Anything else (AND, FOLLOWEDBY, qualifiers, NOT, other operators,
// other objects or properties, values that are not addresses or domain
// names) returns an error wrapping ErrNotActionable. Targets come in
// pattern order, without duplicates.
func Extract(p *Pattern) ([]Target, error) {
	var out []Target
	seen := map[Target]bool{}
	add := func(t Target) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if err := extractObs(p.Expr, add); err != nil {
		return nil, err
	}
	return out, nil
}

func extractObs(e ObsExpr, add func(Target)) error {
	switch e := e.(type) {
	case *ObsBinary:
		if e.Op != "OR" {
			return fmt.Errorf("%w: observation expressions joined by %s", ErrNotActionable, e.Op)
		}
		if err := extractObs(e.L, add); err != nil {
			return err
		}
		return extractObs(e.R, add)
	case *Qualified:
		return fmt.Errorf("%w: %s qualifier", ErrNotActionable, e.Q.Kind)
	case *Observation:
		return extractComp(e.Comp, add)
	}
	return fmt.Errorf("%w: unknown expression", ErrNotActionable)
}

func extractComp(e CompExpr, add func(Target)) error {
	switch e := e.(type) {
	case *CompBinary:
		if e.Op != "OR" {
			return fmt.Errorf("%w: comparisons joined by %s", ErrNotActionable, e.Op)
		}
		if err := extractComp(e.L, add); err != nil {
			return err
		}
		return extractComp(e.R, add)
	case *Exists:
		return fmt.Errorf("%w: EXISTS test", ErrNotActionable)
	case *Comparison:
		t, err := target(e)
		if err != nil {
			return err
		}
		add(t)
		return nil
	}
	return fmt.Errorf("%w: unknown comparison", ErrNotActionable)
}

// target reads one comparison as a target.
func target(c *Comparison) (Target, error) {
	if c.Not || (c.Op != "=" && c.Op != "ISSUBSET") {
		return Target{}, fmt.Errorf("%w: operator %s", ErrNotActionable, notOp(c))
	}
	if len(c.Path.Steps) != 1 || c.Path.Steps[0].Kind != StepKey || c.Path.Steps[0].Key != "value" {
		return Target{}, fmt.Errorf("%w: property %s", ErrNotActionable, c.Path)
	}
	if c.Value.Kind != KindString {
		return Target{}, fmt.Errorf("%w: %s compared with a non-string", ErrNotActionable, c.Path)
	}
	v := c.Value.Str
	switch c.Path.Type {
	case "domain-name":
		if c.Op != "=" {
			return Target{}, fmt.Errorf("%w: domain-name with %s", ErrNotActionable, c.Op)
		}
		d, err := CheckDomain(v)
		if err != nil {
			return Target{}, fmt.Errorf("%w: %w", ErrNotActionable, err)
		}
		return Target{Domain: d}, nil
	case "ipv4-addr", "ipv6-addr":
		want4 := c.Path.Type == "ipv4-addr"
		var pfx netip.Prefix
		if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" && c.Op == "=" {
			pfx = netip.PrefixFrom(a, a.BitLen())
		} else if p, err := netip.ParsePrefix(v); err == nil {
			pfx = p.Masked()
		} else {
			return Target{}, fmt.Errorf("%w: %s value %q is not an address or a prefix", ErrNotActionable, c.Path.Type, v)
		}
		if pfx.Addr().Is4() != want4 {
			return Target{}, fmt.Errorf("%w: %s value %q of the other IP version", ErrNotActionable, c.Path.Type, v)
		}
		return Target{Prefix: pfx}, nil
	}
	return Target{}, fmt.Errorf("%w: object type %s", ErrNotActionable, c.Path.Type)
}

func notOp(c *Comparison) string {
	if c.Not {
		return "NOT " + c.Op
	}
	return c.Op
}

// ParseTarget reads an address, a prefix or a domain name as a Target
// (addresses and prefixes canonical and masked, domains checked and
// lower-cased).
func ParseTarget(s string) (Target, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return Target{Prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96))
		}
		return Target{Prefix: p.Masked()}, nil
	}
	d, err := CheckDomain(s)
	if err != nil {
		return Target{}, fmt.Errorf("target %q is not an address, a prefix or a domain: %w", s, err)
	}
	return Target{Domain: d}, nil
}
