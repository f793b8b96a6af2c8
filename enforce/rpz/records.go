package rpz

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// ErrUnsupported is returned for an action the RPZ cannot carry out
// faithfully: another type than sinkhole, a scope field other than
// subdomains, subdomains on an address or prefix.
var ErrUnsupported = fmt.Errorf("rpz: %w", enforce.ErrUnsupported)

// records returns the policy records of action a under c: a QNAME
// trigger (and its wildcard with scope.subdomains) for a domain, an IP
// trigger for an address or prefix.
func (c Config) records(a cases.Action) ([]dns.RR, error) {
	if a.Type != cases.ActionSinkhole {
		return nil, fmt.Errorf("%w: %s (only sinkhole)", ErrUnsupported, a.Type)
	}
	s := a.Scope
	if !s.Destination.IsZero() || s.Protocol != 0 || len(s.Ports) > 0 || s.RateBps != 0 ||
		len(s.Pseudonyms) > 0 || s.Recipient != "" {
		return nil, fmt.Errorf("%w: sinkhole %s is narrowed by a scope field a DNS policy cannot express (only subdomains)", ErrUnsupported, a.Target)
	}
	zone := dns.CanonicalName(c.Zone)
	var owners []string
	switch a.Target.Kind() {
	case cases.KindDomain:
		owners = append(owners, a.Target.Domain()+"."+zone)
		if s.Subdomains {
			owners = append(owners, "*."+a.Target.Domain()+"."+zone)
		}
	case cases.KindAddress, cases.KindPrefix:
		if s.Subdomains {
			return nil, fmt.Errorf("%w: scope.subdomains has no meaning for the address trigger %s", ErrUnsupported, a.Target)
		}
		owners = append(owners, IPTrigger(a.Target.Prefix())+".rpz-ip."+zone)
	default:
		return nil, fmt.Errorf("%w: sinkhole without a target", ErrUnsupported)
	}
	var rrs []dns.RR
	for _, o := range owners {
		if _, ok := dns.IsDomainName(o); !ok || len(o) > 254 {
			return nil, fmt.Errorf("%w: %s gives the owner name %q, too long under zone %s", ErrUnsupported, a.Target, o, zone)
		}
		rrs = append(rrs, c.answers(o)...)
	}
	return rrs, nil
}

// answers returns the policy records at owner name o.
func (c Config) answers(o string) []dns.RR {
	ttl := uint32(c.TTL.Seconds())
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: o, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	if c.Policy != PolicySinkhole {
		return []dns.RR{&dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: "."}}
	}
	if c.SinkholeCNAME != "" {
		return []dns.RR{&dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: dns.CanonicalName(c.SinkholeCNAME)}}
	}
	var rrs []dns.RR
	if c.SinkholeV4 != "" {
		rrs = append(rrs, &dns.A{Hdr: hdr(dns.TypeA), A: net.ParseIP(c.SinkholeV4).To4()})
	}
	if c.SinkholeV6 != "" {
		rrs = append(rrs, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.ParseIP(c.SinkholeV6)})
	}
	return rrs
}

// IPTrigger writes prefix p as the labels of an RPZ IP trigger (before
// ".rpz-ip.<zone>"): the prefix length, then the address's labels in
// reverse order — IPv4 bytes in decimal (198.51.100.7/32 is
// "32.7.100.51.198"), IPv6 16-bit groups in hex with the longest run of
// zero groups written "zz" (2001:db8::10/128 is "128.10.zz.db8.2001").
func IPTrigger(p netip.Prefix) string {
	p = p.Masked()
	a := p.Addr()
	var labels []string
	if a.Is4() {
		labels = strings.Split(a.String(), ".")
	} else {
		s := a.String() // RFC 5952: lower-case, "::" for the longest zero run
		if strings.Contains(s, "::") {
			s = strings.Trim(strings.Replace(s, "::", ":zz:", 1), ":")
		}
		labels = strings.Split(s, ":")
	}
	slices.Reverse(labels)
	return strconv.Itoa(p.Bits()) + "." + strings.Join(labels, ".")
}

// ParseIPTrigger reads the labels IPTrigger writes (the part before
// ".rpz-ip."); it accepts both the "zz" and the full IPv6 form.
func ParseIPTrigger(s string) (netip.Prefix, error) {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(s, ".")), ".")
	if len(labels) < 2 {
		return netip.Prefix{}, fmt.Errorf("rpz-ip trigger %q: too few labels", s)
	}
	bits, err := strconv.Atoi(labels[0])
	if err != nil || labels[0] != strconv.Itoa(bits) {
		return netip.Prefix{}, fmt.Errorf("rpz-ip trigger %q: prefix length %q is not a number", s, labels[0])
	}
	rest := slices.Clone(labels[1:])
	slices.Reverse(rest)
	var text string
	if len(rest) == 4 && !slices.Contains(rest, "zz") {
		text = strings.Join(rest, ".")
	} else {
		text = strings.Replace(strings.Join(rest, ":"), "zz", "", 1)
		if strings.Contains(text, "zz") {
			return netip.Prefix{}, fmt.Errorf("rpz-ip trigger %q: more than one zz", s)
		}
		switch {
		case text == "":
			text = "::"
		case strings.HasPrefix(text, ":"):
			text = ":" + text
		case strings.HasSuffix(text, ":"):
			text += ":"
		}
	}
	a, err := netip.ParseAddr(text)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return netip.Prefix{}, fmt.Errorf("rpz-ip trigger %q: bad address %q", s, text)
	}
	p, err := a.Prefix(bits)
	if err != nil || bits == 0 || p.Addr() != a {
		return netip.Prefix{}, fmt.Errorf("rpz-ip trigger %q: prefix length %d does not fit %s", s, bits, a)
	}
	return p, nil
}
