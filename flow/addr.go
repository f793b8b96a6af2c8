package flow

import (
	"net/netip"
)

// Addr is an IPv4 or IPv6 address stored inline in 16 bytes, with IPv4
// addresses in their IPv4-mapped IPv6 form (::ffff:a.b.c.d). Unlike
// netip.Addr it holds no pointer, so a Record stays pointer-free and
// batches of records cost the garbage collector nothing to scan. The zero
// Addr is "no address" (it is ::, which no flow uses as an endpoint).
type Addr [16]byte

// AddrFrom4 returns the Addr of an IPv4 address.
func AddrFrom4(b [4]byte) Addr {
	return Addr{10: 0xff, 11: 0xff, 12: b[0], 13: b[1], 14: b[2], 15: b[3]}
}

// AddrFrom4Slice returns the Addr of the IPv4 address in the first four
// bytes of b. It panics if b is shorter than four bytes.
func AddrFrom4Slice(b []byte) Addr {
	_ = b[3]
	return Addr{10: 0xff, 11: 0xff, 12: b[0], 13: b[1], 14: b[2], 15: b[3]}
}

// AddrFrom16Slice returns the Addr of the IPv6 address in the first 16
// bytes of b. It panics if b is shorter than 16 bytes.
func AddrFrom16Slice(b []byte) Addr {
	var a Addr
	copy(a[:], b[:16])
	return a
}

// AddrFromNetip converts a netip.Addr; an invalid netip.Addr gives the
// zero Addr. Zones are dropped.
func AddrFromNetip(ip netip.Addr) Addr {
	if !ip.IsValid() {
		return Addr{}
	}
	return Addr(ip.As16())
}

// Is4 reports whether a is an IPv4 address (IPv4-mapped form).
func (a Addr) Is4() bool {
	return a[0]|a[1]|a[2]|a[3]|a[4]|a[5]|a[6]|a[7]|a[8]|a[9] == 0 && a[10] == 0xff && a[11] == 0xff
}

// IsZero reports whether a is the zero Addr.
func (a Addr) IsZero() bool { return a == Addr{} }

// Netip returns a as a netip.Addr, unmapping IPv4. The zero Addr gives the
// invalid netip.Addr.
func (a Addr) Netip() netip.Addr {
	if a.IsZero() {
		return netip.Addr{}
	}
	return netip.AddrFrom16(a).Unmap()
}

// String returns the usual text form ("192.0.2.1", "2001:db8::1"), or ""
// for the zero Addr.
func (a Addr) String() string {
	if a.IsZero() {
		return ""
	}
	return a.Netip().String()
}

// MarshalText implements encoding.TextMarshaler.
func (a Addr) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Addr) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*a = Addr{}
		return nil
	}
	ip, err := netip.ParseAddr(string(b))
	if err != nil {
		return err
	}
	*a = AddrFromNetip(ip)
	return nil
}

// LastAddr returns the last address of prefix p (its broadcast address
// for IPv4).
func LastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
