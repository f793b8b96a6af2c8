package scenario

import (
	"net/netip"

	"github.com/acd-org/acd/flow"
)

// The address plan. Internal (domestic) space is where clients, internal
// servers, scan targets and attack victims live; external space holds
// Internet servers, attackers, reflectors and C2 servers. Both are
// documentation or reserved ranges.
var (
	internal4 = netip.MustParsePrefix("198.18.0.0/15")
	internal6 = netip.MustParsePrefix("2001:db8:100::/48")
	external4 = netip.MustParsePrefix("100.64.0.0/10")
	external6 = netip.MustParsePrefix("2001:db8:e000::/48")
	exporter  = flow.AddrFrom4([4]byte{192, 0, 2, 1})
)

// InternalPrefixes returns the internal address space of every scenario:
// configure it as domestic in the screening stage.
func InternalPrefixes() []netip.Prefix { return []netip.Prefix{internal4, internal6} }

// ExternalPrefixes returns the external address space of every scenario.
func ExternalPrefixes() []netip.Prefix { return []netip.Prefix{external4, external6} }

// Index layout. Internal: clients 1..Clients, internal servers from
// internalServerBase. External: block 0 holds Internet servers (from 1) and
// external clients (from extClientBase); attack i uses block i+1.
const (
	internalServerBase = 1 << 16
	internalServers    = 16
	extClientBase      = 1 << 15
	blockSize          = 1 << 16
	maxAttacks         = 63
)

func hostAddr(p netip.Prefix, i uint32, v6 bool) flow.Addr {
	if v6 {
		return hostAddr6(p, i)
	}
	b := p.Addr().As4()
	h := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	h += i
	return flow.AddrFrom4([4]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)})
}

func hostAddr6(p netip.Prefix, i uint32) flow.Addr {
	a := p.Addr().As16()
	a[12], a[13], a[14], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	return flow.Addr(a)
}

func intAddr(i uint32, v6 bool) flow.Addr {
	if v6 {
		return hostAddr6(internal6, i)
	}
	return hostAddr(internal4, i, false)
}

func extAddr(i uint32, v6 bool) flow.Addr {
	if v6 {
		return hostAddr6(external6, i)
	}
	return hostAddr(external4, i, false)
}
