package space

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
)

// u128 is an unsigned 128-bit integer: an IPv6 address, or an IPv4
// address in lo (hi zero). Address arithmetic is done on u128 for both
// families, with the width (32 or 128 bits) passed where it matters.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) less(b u128) bool {
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo)
}

// add1 returns a+1, wrapping at 2^128.
func (a u128) add1() u128 {
	lo := a.lo + 1
	hi := a.hi
	if lo == 0 {
		hi++
	}
	return u128{hi, lo}
}

// sub returns a-b, wrapping.
func (a u128) sub(b u128) u128 {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, borrow)
	return u128{hi, lo}
}

func (a u128) or(b u128) u128 { return u128{a.hi | b.hi, a.lo | b.lo} }

// trailingZeros returns the number of trailing zero bits of a, 128 for 0.
func (a u128) trailingZeros() int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	return 64 + bits.TrailingZeros64(a.hi)
}

// hostMask returns 2^k - 1 (the host part of a prefix with k host bits),
// for k in [0, 128].
func hostMask(k int) u128 {
	switch {
	case k <= 0:
		return u128{}
	case k < 64:
		return u128{0, 1<<uint(k) - 1}
	case k < 128:
		return u128{1<<uint(k-64) - 1, ^uint64(0)}
	}
	return u128{^uint64(0), ^uint64(0)}
}

// span is an inclusive address range [lo, hi].
type span struct{ lo, hi u128 }

// u128FromAddr returns the integer value of ip: 32 bits for IPv4, 128 for
// IPv6.
func u128FromAddr(ip netip.Addr) u128 {
	if ip.Is4() {
		b := ip.As4()
		return u128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := ip.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// addrFromU128 is the inverse of u128FromAddr for the given width.
func addrFromU128(v u128, width int) netip.Addr {
	if width == 32 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b)
}

// spanOfPrefix returns the addresses of the masked prefix p.
func spanOfPrefix(p netip.Prefix) span {
	width := p.Addr().BitLen()
	lo := u128FromAddr(p.Masked().Addr())
	return span{lo, lo.or(hostMask(width - p.Bits()))}
}

// prefixesOf calls fn with the minimal list of CIDR prefixes covering
// exactly [s.lo, s.hi] in an address family of width bits, in address
// order. s.lo <= s.hi must hold and both must fit in width bits.
func prefixesOf(s span, width int, fn func(netip.Prefix)) {
	lo := s.lo
	for {
		k := min(lo.trailingZeros(), width)
		rest := s.hi.sub(lo)
		for k > 0 && rest.less(hostMask(k)) {
			k--
		}
		fn(netip.PrefixFrom(addrFromU128(lo, width), width-k))
		end := lo.or(hostMask(k))
		if !end.less(s.hi) {
			return
		}
		lo = end.add1()
	}
}

// normalize sorts spans and merges those that overlap or touch, in place.
func normalize(spans []span) []span {
	if len(spans) == 0 {
		return spans
	}
	slices.SortFunc(spans, func(a, b span) int { return a.lo.cmp(b.lo) })
	out := spans[:1]
	for _, s := range spans[1:] {
		last := &out[len(out)-1]
		// s touches last when s.lo <= last.hi+1; last.hi+1 wraps to 0
		// only when last reaches the top, and then it covers s anyway.
		next := last.hi.add1()
		if !next.less(s.lo) || (next == u128{}) {
			if last.hi.less(s.hi) {
				last.hi = s.hi
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// subtract returns the addresses of a not in b; both must be normalized.
// The result is normalized.
func subtract(a, b []span) []span {
	var out []span
	j := 0
	for _, s := range a {
		for j < len(b) && b[j].hi.less(s.lo) {
			j++
		}
		cur := s.lo
		done := false
		for k := j; k < len(b) && !s.hi.less(b[k].lo); k++ {
			if cur.less(b[k].lo) {
				out = append(out, span{cur, b[k].lo.sub(u128{0, 1})})
			}
			if !b[k].hi.less(s.hi) {
				done = true
				break
			}
			if cur.less(b[k].hi.add1()) {
				cur = b[k].hi.add1()
			}
		}
		if !done {
			out = append(out, span{cur, s.hi})
		}
	}
	return out
}
