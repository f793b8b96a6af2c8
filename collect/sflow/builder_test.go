package sflow

import (
	"encoding/binary"
	"net/netip"

	"github.com/acd-org/acd/flow"
)

// This file builds sFlow v5 datagrams for tests.

type datagram struct {
	agent       string
	sub         uint32
	seq, uptime uint32
	samples     [][]byte // each from sample()
	count       uint32   // sample count to write; 0 means len(samples)
}

func (d datagram) bytes() []byte {
	a := netip.MustParseAddr(d.agent)
	b := u32s(nil, 5)
	if a.Is4() {
		b = u32s(b, 1)
		b = append(b, a.AsSlice()...)
	} else {
		b = u32s(b, 2)
		b = append(b, a.AsSlice()...)
	}
	n := uint32(len(d.samples))
	if d.count != 0 {
		n = d.count
	}
	b = u32s(b, d.sub, d.seq, d.uptime, n)
	for _, s := range d.samples {
		b = append(b, s...)
	}
	return b
}

func u32s(b []byte, vs ...uint32) []byte {
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// tlv returns format | length | body padded to 4 bytes.
func tlv(format uint32, body []byte) []byte {
	pad := (4 - len(body)%4) % 4
	b := u32s(nil, format, uint32(len(body)+pad))
	b = append(b, body...)
	return append(b, make([]byte, pad)...)
}

type flowSample struct {
	seq, srcType, srcIndex, rate, pool, drops uint32
	inFmt, in, outFmt, out                    uint32
	records                                   [][]byte // each from tlv()
}

// compact returns a flow sample (0,1).
func (f flowSample) compact() []byte {
	b := u32s(nil, f.seq, f.srcType<<24|f.srcIndex, f.rate, f.pool, f.drops,
		f.inFmt<<30|f.in, f.outFmt<<30|f.out, uint32(len(f.records)))
	for _, r := range f.records {
		b = append(b, r...)
	}
	return tlv(1, b)
}

// expanded returns an expanded flow sample (0,3).
func (f flowSample) expanded() []byte {
	b := u32s(nil, f.seq, f.srcType, f.srcIndex, f.rate, f.pool, f.drops,
		f.inFmt, f.in, f.outFmt, f.out, uint32(len(f.records)))
	for _, r := range f.records {
		b = append(b, r...)
	}
	return tlv(3, b)
}

func rawHeader(proto, frameLen, stripped uint32, hdr []byte) []byte {
	b := u32s(nil, proto, frameLen, stripped, uint32(len(hdr)))
	return tlv(1, append(b, hdr...))
}

func sampledIP(length, proto uint32, src, dst string, sport, dport, flags uint32) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	b := u32s(nil, length, proto)
	b = append(b, s.AsSlice()...)
	b = append(b, d.AsSlice()...)
	b = u32s(b, sport, dport, flags, 0)
	if s.Is4() {
		return tlv(3, b)
	}
	return tlv(4, b)
}

// gatewayRec returns an extended gateway record with an IPv4 next hop.
func gatewayRec(as, srcAS, peerAS uint32, segments ...[]uint32) []byte {
	b := u32s(nil, 1, 0xc0000201, as, srcAS, peerAS, uint32(len(segments)))
	for _, s := range segments {
		b = u32s(b, 2, uint32(len(s)))
		b = u32s(b, s...)
	}
	b = u32s(b, 0, 100) // no communities, local pref
	return tlv(1003, b)
}

func counterSample(expanded bool) []byte {
	ifc := tlv(1, make([]byte, 88))
	if expanded {
		return tlv(4, append(u32s(nil, 7, 0, 3, 1), ifc...))
	}
	return tlv(2, append(u32s(nil, 7, 3, 1), ifc...))
}

// Packet builders.

func ethernet(et uint16, tags ...uint32) []byte {
	b := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	for _, t := range tags {
		b = binary.BigEndian.AppendUint32(b, t)
	}
	return binary.BigEndian.AppendUint16(b, et)
}

func ipv4(proto uint8, src, dst string, totalLen uint16, l4 []byte) []byte {
	b := make([]byte, 20, 20+len(l4))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], totalLen)
	b[8], b[9] = 64, proto
	copy(b[12:], netip.MustParseAddr(src).AsSlice())
	copy(b[16:], netip.MustParseAddr(dst).AsSlice())
	return append(b, l4...)
}

func ipv6(next uint8, src, dst string, payloadLen uint16, rest []byte) []byte {
	b := make([]byte, 40, 40+len(rest))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], payloadLen)
	b[6], b[7] = next, 64
	copy(b[8:], netip.MustParseAddr(src).AsSlice())
	copy(b[24:], netip.MustParseAddr(dst).AsSlice())
	return append(b, rest...)
}

func tcpHdr(sport, dport uint16, flags uint8, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(b, sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	b[12], b[13] = 0x50, flags
	return append(b, payload...)
}

func udpHdr(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b, sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	return append(b, payload...)
}

func join(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func addr(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }
