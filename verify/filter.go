package verify

import (
	"encoding/binary"
	"net/netip"

	"github.com/acd-org/acd/flow"
)

// filter answers "certainly not watched" for most addresses before the
// map and prefix-table lookups: a bitmap of host-target hashes, one of
// the IPv4 /16s that prefix targets touch, and two of hashed IPv6 /32s
// and /48s (for prefixes of /32 to /47, and of /48 or longer).
// It has false positives, never false negatives. Bits are only set when
// a target is indexed; removals leave them stale (harmless) until enough
// accumulate for a rebuild.
type filter struct {
	hosts  []uint64 // hostBits bits, by hashAddr
	v4     []uint64 // 1<<16 bits, by the /16
	v6     []uint64 // 1<<16 bits, by a hash of the /32
	v648   []uint64 // 1<<16 bits, by a hash of the /48
	v6wide bool     // an IPv6 prefix shorter than /32 is watched: always look
	stale  int      // removals since the last rebuild
}

const hostBits = 1 << 20 // 128 KiB: about 1 % false positives at 10 000 hosts

func newFilter() filter {
	return filter{hosts: make([]uint64, hostBits/64), v4: make([]uint64, 1<<16/64), v6: make([]uint64, 1<<16/64),
		v648: make([]uint64, 1<<16/64)}
}

func set(bm []uint64, i uint64)        { bm[i/64] |= 1 << (i % 64) }
func isSet(bm []uint64, i uint64) bool { return bm[i/64]&(1<<(i%64)) != 0 }

func hostSlot(a flow.Addr) uint64 { return hashAddr(a) % hostBits }

func v6Slot(a flow.Addr) uint64 {
	x := uint64(binary.BigEndian.Uint32(a[:4])) * 0x9e3779b97f4a7c15
	return x >> 48
}

func v6Slot48(a flow.Addr) uint64 {
	x := (binary.BigEndian.Uint64(a[:8]) >> 16) * 0x9e3779b97f4a7c15
	return x >> 48
}

// addHost notes a host target.
func (f *filter) addHost(a flow.Addr) { set(f.hosts, hostSlot(a)) }

// addPrefix notes a prefix target.
func (f *filter) addPrefix(p netip.Prefix) {
	if p.Addr().Is4() {
		b := p.Addr().As4()
		first := uint64(b[0])<<8 | uint64(b[1])
		n := uint64(1)
		if p.Bits() < 16 {
			n = 1 << (16 - p.Bits())
		}
		for i := first; i < first+n; i++ {
			set(f.v4, i)
		}
		return
	}
	if p.Bits() < 32 {
		f.v6wide = true
		return
	}
	if a := flow.AddrFromNetip(p.Addr()); p.Bits() < 48 {
		set(f.v6, v6Slot(a))
	} else {
		set(f.v648, v6Slot48(a))
	}
}

// maybeHost reports whether a may be a host target.
func (f *filter) maybeHost(a flow.Addr) bool { return isSet(f.hosts, hostSlot(a)) }

// maybeNet reports whether a may lie in a prefix target.
func (f *filter) maybeNet(a flow.Addr) bool {
	if a.Is4() {
		return isSet(f.v4, uint64(a[12])<<8|uint64(a[13]))
	}
	return f.v6wide || isSet(f.v6, v6Slot(a)) || isSet(f.v648, v6Slot48(a))
}
