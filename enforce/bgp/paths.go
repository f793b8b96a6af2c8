package bgp

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// Well-known communities of RTBH routes.
const (
	// CommunityBlackhole is BLACKHOLE, 65535:666 (RFC 7999).
	CommunityBlackhole uint32 = 0xFFFF029A
	// CommunityNoExport is NO_EXPORT, 65535:65281 (RFC 1997).
	CommunityNoExport uint32 = 0xFFFFFF01
)

// Marker large communities: every path acd announces carries
// (asn, MarkRTBH or MarkFlowSpec, 0), so that the routers' policies can
// match acd's routes and Sync recognises its own paths.
const (
	MarkRTBH     uint32 = 7999
	MarkFlowSpec uint32 = 8955
)

// ErrUnsupported is returned for an action the speaker cannot carry out
// faithfully: another type than flowspec or rtbh, a target or scope BGP
// cannot express, an RTBH target wider than a host route or outside the
// owned prefixes.
var ErrUnsupported = fmt.Errorf("bgp: %w", enforce.ErrUnsupported)

// route is one path acd announces: its NLRI, its attributes and, for a
// FlowSpec rule, its rate (several items may want the same NLRI at
// different rates; the lowest is announced).
type route struct {
	family bgp.RouteFamily
	nlri   bgp.AddrPrefixInterface
	wire   []byte // the NLRI as sent
	attrs  []bgp.PathAttributeInterface
	rate   uint64 // flowspec bytes per second; 0 drops
}

// key identifies the route's NLRI in its family (binary: the family and
// the NLRI's wire encoding): two routes with the same key replace each
// other in the RIB.
func (r route) key() string { return routeKey(r.family, r.wire) }

func routeKey(f bgp.RouteFamily, wire []byte) string {
	return string([]byte{byte(f >> 24), byte(f >> 16), byte(f >> 8), byte(f)}) + string(wire)
}

// String names the route for logs and drift details:
// "ipv4-unicast 203.0.113.7/32".
func (r route) String() string {
	if r.nlri == nil {
		d, err := r.decoded()
		if err != nil {
			return fmt.Sprintf("%s %x", r.family, r.wire)
		}
		r = d
	}
	return r.family.String() + " " + r.nlri.String()
}

// finish encodes the NLRI and sorts the attributes.
func (r route) finish() (route, error) {
	w, err := r.nlri.Serialize()
	if err != nil {
		return route{}, fmt.Errorf("unable to encode %s: %w", r.nlri, err)
	}
	r.wire = w
	slices.SortStableFunc(r.attrs, func(x, y bgp.PathAttributeInterface) int { return int(x.GetType()) - int(y.GetType()) })
	return r, nil
}

// builder turns actions into routes under the configuration.
type builder struct {
	asn        uint32
	nextHop4   netip.Addr
	nextHop6   netip.Addr
	owned      []netip.Prefix
	extraComms []uint32
}

func newBuilder(c Config) (builder, error) {
	b := builder{asn: c.ASN, nextHop4: c.BlackholeNextHopV4, nextHop6: c.BlackholeNextHopV6, owned: c.OwnedPrefixes}
	for _, s := range c.Communities {
		v, err := ParseCommunity(s)
		if err != nil {
			return builder{}, err
		}
		b.extraComms = append(b.extraComms, v)
	}
	return b, nil
}

// build returns the route that carries out a, or an error wrapping
// ErrUnsupported.
func (b builder) build(a cases.Action) (route, error) {
	switch a.Type {
	case cases.ActionRTBH:
		return b.rtbh(a)
	case cases.ActionFlowSpec:
		return b.flowSpec(a)
	}
	return route{}, fmt.Errorf("%w: action type %s (only flowspec and rtbh)", ErrUnsupported, a.Type)
}

func (b builder) rtbh(a cases.Action) (route, error) {
	p := a.Target.Prefix()
	switch {
	case a.Target.Kind() == cases.KindDomain || !p.IsValid():
		return route{}, fmt.Errorf("%w: rtbh needs a host address, not %q", ErrUnsupported, a.Target)
	case !p.IsSingleIP():
		return route{}, fmt.Errorf("%w: rtbh %s is wider than a host route (/32 or /128 only)", ErrUnsupported, p)
	case !slices.ContainsFunc(b.owned, func(o netip.Prefix) bool { return o.Addr().Is4() == p.Addr().Is4() && o.Contains(p.Addr()) }):
		return route{}, fmt.Errorf("%w: rtbh %s is outside the owned prefixes", ErrUnsupported, p.Addr())
	case !scopeIsZero(a.Scope):
		return route{}, fmt.Errorf("%w: rtbh takes no scope (it blackholes all traffic to %s)", ErrUnsupported, p.Addr())
	}
	comms := append(slices.Clone(b.extraComms), CommunityBlackhole, CommunityNoExport)
	slices.Sort(comms)
	comms = slices.Compact(comms)
	attrs := []bgp.PathAttributeInterface{bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP)}
	var r route
	if p.Addr().Is4() {
		r.family = bgp.RF_IPv4_UC
		r.nlri = bgp.NewIPAddrPrefix(32, p.Addr().String())
		attrs = append(attrs, bgp.NewPathAttributeNextHop(b.nextHop4.String()))
	} else {
		r.family = bgp.RF_IPv6_UC
		r.nlri = bgp.NewIPv6AddrPrefix(128, p.Addr().String())
		attrs = append(attrs, bgp.NewPathAttributeMpReachNLRI(b.nextHop6.String(), []bgp.AddrPrefixInterface{r.nlri}))
	}
	r.attrs = append(attrs, bgp.NewPathAttributeCommunities(comms), b.marker(MarkRTBH))
	return r.finish()
}

func scopeIsZero(s cases.Scope) bool {
	return s.Destination.IsZero() && s.Protocol == 0 && len(s.Ports) == 0 && s.RateBps == 0 &&
		!s.Subdomains && len(s.Pseudonyms) == 0 && s.Recipient == ""
}

func (b builder) marker(kind uint32) bgp.PathAttributeInterface {
	return bgp.NewPathAttributeLargeCommunities([]*bgp.LargeCommunity{bgp.NewLargeCommunity(b.asn, kind, 0)})
}

func (b builder) flowSpec(a cases.Action) (route, error) {
	src := a.Target.Prefix()
	if a.Target.Kind() == cases.KindDomain || !src.IsValid() {
		return route{}, fmt.Errorf("%w: flowspec needs an address or prefix source, not %q", ErrUnsupported, a.Target)
	}
	s := a.Scope
	if s.Subdomains || len(s.Pseudonyms) > 0 || s.Recipient != "" {
		return route{}, fmt.Errorf("%w: flowspec takes destination, protocol, ports and rate_bps only", ErrUnsupported)
	}
	v4 := src.Addr().Is4()
	comps := []bgp.FlowSpecComponentInterface{prefixComponent(src, v4, false)}
	if !s.Destination.IsZero() {
		dst := s.Destination.Prefix()
		if s.Destination.Kind() == cases.KindDomain || !dst.IsValid() {
			return route{}, fmt.Errorf("%w: flowspec destination %q is not an address or prefix", ErrUnsupported, s.Destination)
		}
		if dst.Addr().Is4() != v4 {
			return route{}, fmt.Errorf("%w: flowspec source %s and destination %s are of different families", ErrUnsupported, src, dst)
		}
		comps = append(comps, prefixComponent(dst, v4, true))
	}
	if s.Protocol != 0 {
		comps = append(comps, bgp.NewFlowSpecComponent(bgp.FLOW_SPEC_TYPE_IP_PROTO,
			[]*bgp.FlowSpecComponentItem{bgp.NewFlowSpecComponentItem(bgp.DEC_NUM_OP_EQ|bgp.DEC_NUM_OP_END, uint64(s.Protocol))}))
	}
	if len(s.Ports) > 0 {
		c, err := portComponent(s.Protocol, s.Ports)
		if err != nil {
			return route{}, err
		}
		comps = append(comps, c)
	}
	rate, err := trafficRate(s.RateBps)
	if err != nil {
		return route{}, err
	}
	r := route{rate: s.RateBps}
	nextHop := "0.0.0.0"
	if v4 {
		r.family, r.nlri = bgp.RF_FS_IPv4_UC, bgp.NewFlowSpecIPv4Unicast(comps)
	} else {
		r.family, r.nlri, nextHop = bgp.RF_FS_IPv6_UC, bgp.NewFlowSpecIPv6Unicast(comps), "::"
	}
	asn := uint16(0) // RFC 8955 §7.3: the ID field is not interpreted; a 4-byte ASN does not fit
	if b.asn <= math.MaxUint16 {
		asn = uint16(b.asn)
	}
	r.attrs = []bgp.PathAttributeInterface{
		bgp.NewPathAttributeOrigin(bgp.BGP_ORIGIN_ATTR_TYPE_IGP),
		bgp.NewPathAttributeMpReachNLRI(nextHop, []bgp.AddrPrefixInterface{r.nlri}),
		bgp.NewPathAttributeExtendedCommunities([]bgp.ExtendedCommunityInterface{bgp.NewTrafficRateExtended(asn, rate)}),
		b.marker(MarkFlowSpec),
	}
	return r.finish()
}

func prefixComponent(p netip.Prefix, v4, dst bool) bgp.FlowSpecComponentInterface {
	bits, addr := uint8(p.Bits()), p.Addr().String()
	switch {
	case v4 && dst:
		return bgp.NewFlowSpecDestinationPrefix(bgp.NewIPAddrPrefix(bits, addr))
	case v4:
		return bgp.NewFlowSpecSourcePrefix(bgp.NewIPAddrPrefix(bits, addr))
	case dst:
		return bgp.NewFlowSpecDestinationPrefix6(bgp.NewIPv6AddrPrefix(bits, addr), 0)
	}
	return bgp.NewFlowSpecSourcePrefix6(bgp.NewIPv6AddrPrefix(bits, addr), 0)
}

// portComponent writes port ranges as a destination-port component:
// "==p" for a single port, ">=from&<=to" for a range, the terms ORed.
func portComponent(proto uint8, ports []cases.PortRange) (bgp.FlowSpecComponentInterface, error) {
	if proto != 6 && proto != 17 && proto != 132 {
		return nil, fmt.Errorf("%w: flowspec ports need protocol 6, 17 or 132, not %d", ErrUnsupported, proto)
	}
	var items []*bgp.FlowSpecComponentItem
	for _, r := range ports {
		if r.From == 0 || r.To < r.From {
			return nil, fmt.Errorf("%w: flowspec port range %d-%d", ErrUnsupported, r.From, r.To)
		}
		if r.From == r.To {
			items = append(items, bgp.NewFlowSpecComponentItem(bgp.DEC_NUM_OP_EQ, uint64(r.From)))
			continue
		}
		items = append(items, bgp.NewFlowSpecComponentItem(bgp.DEC_NUM_OP_GT_EQ, uint64(r.From)),
			bgp.NewFlowSpecComponentItem(bgp.DEC_NUM_OP_AND|bgp.DEC_NUM_OP_LT_EQ, uint64(r.To)))
	}
	items[len(items)-1].Op |= bgp.DEC_NUM_OP_END
	return bgp.NewFlowSpecComponent(bgp.FLOW_SPEC_TYPE_DST_PORT, items), nil
}

// trafficRate converts a rate in bytes per second to the IEEE 754
// single-precision float of the traffic-rate-bytes community, rounding
// toward zero when it is not exact (above 2^24 the float has 24
// significant bits: the announced rate is at most 6e-8 lower than
// approved, never higher).
func trafficRate(bps uint64) (float32, error) {
	if bps >= 1<<63 {
		return 0, fmt.Errorf("%w: flowspec rate %d bytes/s is too large", ErrUnsupported, bps)
	}
	f := float32(bps)
	if uint64(f) > bps {
		f = math.Nextafter32(f, 0)
	}
	return f, nil
}

// signature renders what Sync compares of a path besides its NLRI: the
// next hop (unicast only), the communities, extended and large
// communities, each sorted.
func signature(f bgp.RouteFamily, attrs []bgp.PathAttributeInterface) string {
	var parts []string
	for _, a := range attrs {
		switch a := a.(type) {
		case *bgp.PathAttributeNextHop:
			parts = append(parts, "nexthop "+a.Value.String())
		case *bgp.PathAttributeMpReachNLRI:
			if f == bgp.RF_IPv4_UC || f == bgp.RF_IPv6_UC {
				parts = append(parts, "nexthop "+a.Nexthop.String())
			}
		case *bgp.PathAttributeCommunities:
			parts = append(parts, "communities "+joinSorted(a.Value, formatCommunity))
		case *bgp.PathAttributeExtendedCommunities:
			parts = append(parts, "extcommunities "+joinSorted(a.Value, func(v bgp.ExtendedCommunityInterface) string { return v.String() }))
		case *bgp.PathAttributeLargeCommunities:
			parts = append(parts, "large "+joinSorted(a.Values, func(v *bgp.LargeCommunity) string { return v.String() }))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// formatCommunity writes a standard community as "asn:value".
func formatCommunity(v uint32) string { return fmt.Sprintf("%d:%d", v>>16, v&0xFFFF) }

func joinSorted[T any](vs []T, str func(T) string) string {
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = str(v)
	}
	slices.Sort(ss)
	return strings.Join(ss, " ")
}

// isOurs reports whether attrs carry acd's marker for asn.
func isOurs(asn uint32, attrs []bgp.PathAttributeInterface) bool {
	for _, a := range attrs {
		if lc, ok := a.(*bgp.PathAttributeLargeCommunities); ok {
			for _, v := range lc.Values {
				if v.ASN == asn && (v.LocalData1 == MarkRTBH || v.LocalData1 == MarkFlowSpec) && v.LocalData2 == 0 {
					return true
				}
			}
		}
	}
	return false
}

// render writes a route as the golden files show it: family, NLRI, then
// one attribute a line.
func (r route) render() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %s\n", r.family, r.nlri)
	for _, a := range r.attrs {
		if mp, ok := a.(*bgp.PathAttributeMpReachNLRI); ok {
			fmt.Fprintf(&sb, "  mp_reach nexthop %s\n", mp.Nexthop)
			continue
		}
		fmt.Fprintf(&sb, "  %s\n", a)
	}
	return sb.String()
}
