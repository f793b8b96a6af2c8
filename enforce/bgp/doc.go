// Package bgp carries out flowspec and rtbh actions through an embedded
// GoBGP v3 speaker (in-process, no gRPC listener) that peers with the
// operator's routers. Speaker is the enforce.Syncer for both types.
//
// What it announces, one path per route:
//
//	rtbh (RFC 7999), target a host address inside owned_prefixes:
//	  NLRI       ipv4-unicast a.b.c.d/32 or ipv6-unicast x::y/128 (nothing wider)
//	  NEXT_HOP   blackhole_next_hop_v4 (192.0.2.1) / _v6 (100::1, in MP_REACH_NLRI)
//	  COMMUNITY  65535:666 (BLACKHOLE), 65535:65281 (NO_EXPORT), plus communities
//	  LARGE_COMMUNITY asn:7999:0 (acd's marker)
//
//	flowspec (RFC 8955 IPv4, RFC 8956 IPv6):
//	  NLRI       destination prefix   scope.destination, if set (type 1)
//	             source prefix        the action's target (type 2; offset 0 in IPv6)
//	             IP protocol          ==scope.protocol, if set (type 3; next header in IPv6)
//	             destination port     scope.ports: ==p, or >=from&<=to, ORed (type 5)
//	  EXTENDED_COMMUNITY traffic-rate-bytes (0x8006), ID = asn (0 if it is
//	             a 4-byte ASN), rate = scope.rate_bps as an IEEE float32
//	             rounded toward zero; 0 drops
//	  LARGE_COMMUNITY asn:8955:0 (acd's marker)
//
// Several items (case/action) may want the same NLRI: the route stays
// while one does; for a FlowSpec rule the lowest rate is announced.
// Which items want which route is kept in memory; the marker tells
// acd's paths from any other in the RIB, and the import policy only lets
// marked paths in, so nothing the neighbors send is kept or passed on.
//
// Actions BGP cannot carry out as approved are refused with
// ErrUnsupported: other types, domain targets or destinations, an rtbh
// target wider than a host route or outside owned_prefixes, ports
// without protocol 6, 17 or 132, mixed address families.
//
// Sync lists acd's paths in GoBGP's global RIB (ipv4/ipv6 unicast and
// flowspec), announces what is missing or different, withdraws what is
// not desired. A BGP session reset needs no repair (GoBGP announces the
// RIB again when the session comes back); resets are counted in Status
// and named in the next Sync's Details.
package bgp
