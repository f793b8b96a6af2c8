// Package packet parses the layer 2 to 4 headers of one captured packet
// into a fixed-size Header: addresses, ports, protocol, TCP flags and
// lengths. It never keeps payload bytes. The sFlow decoder (raw packet
// header records) and the pcap flow meter both use it.
//
// Supported layers:
//
//   - link: Ethernet II, IEEE 802.3 with LLC/SNAP, any number of 802.1Q,
//     802.1ad and legacy QinQ tags (0x8100, 0x88a8, 0x9100), MPLS label
//     stacks (IP guessed from the version nibble after the bottom label),
//     PPPoE sessions; pcap link types EN10MB, RAW, IPV4, IPV6, LINUX_SLL,
//     LINUX_SLL2, NULL and LOOP through ParseLink;
//   - network: IPv4 with options and fragments (a non-first fragment has
//     no layer-4 header), IPv6 with hop-by-hop, routing, fragment,
//     destination options, mobility, HIP, shim6 and AH extension headers
//     (the walk stops at ESP and no-next-header);
//   - transport: TCP (ports, flags), UDP, UDP-Lite and SCTP (ports), ICMP
//     and ICMPv6 (type<<8|code in DstPort); other protocols keep Proto only.
//
// Truncated input yields what is there. If the packet is cut after the IP
// addresses (a sampled header of 128 bytes, a short pcap snap length), the
// parse succeeds with Header.Truncated set and the fields that were cut left
// zero. If it is cut before the IP addresses, the functions return
// ErrTruncated. Malformed input returns one of the package's *flow.DecodeError
// sentinels. The functions are pure and never allocate.
package packet

import (
	"encoding/binary"

	"github.com/acd-org/acd/flow"
)

// Header is what acd keeps of a packet: no payload byte survives.
type Header struct {
	Src, Dst         flow.Addr
	SrcPort, DstPort uint16 // for ICMP/ICMPv6: SrcPort 0, DstPort type<<8|code
	Proto            uint8  // IP protocol (after IPv6 extension headers)
	TCPFlags         uint8
	IPLen            uint32 // layer-3 length from the IP header (IPv4 total length, IPv6 payload length + 40)
	VLAN             uint16 // outermost 802.1Q VLAN id, 0 if none
	Fragment         bool   // a non-first fragment: no layer-4 header

	// Truncated reports that the bytes ended after the IP addresses but
	// before every field above could be read (IPv4 options, IPv6 extension
	// headers or the layer-4 header were cut). The fields that were cut are
	// zero; when an IPv6 extension header is cut, Proto holds the type of
	// that extension header.
	Truncated bool
	// IPVersion is 4 or 6.
	IPVersion uint8
	// L3Offset is the offset of the IP header in the parsed bytes (the
	// length of the link-layer headers).
	L3Offset uint16
}

// Errors returned for packets that cannot be parsed. Reason is the metric
// label.
var (
	// ErrTruncated: the bytes end before the IP source and destination
	// addresses (inside the link-layer headers or the fixed IP header).
	ErrTruncated = &flow.DecodeError{Reason: "packet_truncated"}
	// ErrNotIP: a well-formed frame that does not carry IPv4 or IPv6 (ARP,
	// LLDP, ...). It is not a sign of garbage.
	ErrNotIP = &flow.DecodeError{Reason: "packet_not_ip"}
	// ErrBadIPHeader: the IP version does not match, or the IPv4 header
	// length is below 20 bytes.
	ErrBadIPHeader = &flow.DecodeError{Reason: "packet_bad_ip_header"}
	// ErrUnsupportedLink: ParseLink got a link type it does not know.
	ErrUnsupportedLink = &flow.DecodeError{Reason: "packet_unsupported_link"}
)

// EtherTypes the parser follows.
const (
	etherTypeIPv4   = 0x0800
	etherTypeIPv6   = 0x86dd
	etherTypeVLAN   = 0x8100
	etherTypeQinQ   = 0x88a8
	etherTypeQinQ1  = 0x9100
	etherTypeMPLS   = 0x8847
	etherTypeMPLSMC = 0x8848
	etherTypePPPoE  = 0x8864
)

// ParseEthernet parses an Ethernet II (or 802.3 LLC/SNAP) frame with
// optional 802.1Q / QinQ tags into h, which it overwrites.
func ParseEthernet(b []byte, h *Header) error {
	*h = Header{}
	if len(b) < 14 {
		return ErrTruncated
	}
	et := binary.BigEndian.Uint16(b[12:14])
	off := 14
	if et <= 1500 {
		// IEEE 802.3 length field: only LLC/SNAP carries an EtherType.
		if len(b) < 22 {
			return ErrTruncated
		}
		if b[14] != 0xaa || b[15] != 0xaa || b[16] != 0x03 {
			return ErrNotIP
		}
		et = binary.BigEndian.Uint16(b[20:22])
		off = 22
	}
	return parseEtherType(b, off, et, h)
}

// parseEtherType continues a parse at b[off:], whose EtherType is et:
// VLAN tags, MPLS and PPPoE, then IP.
func parseEtherType(b []byte, off int, et uint16, h *Header) error {
	for {
		switch et {
		case etherTypeIPv4, etherTypeIPv6:
			return parseL3(b, off, h)
		case etherTypeVLAN, etherTypeQinQ, etherTypeQinQ1:
			if len(b) < off+4 {
				return ErrTruncated
			}
			if h.VLAN == 0 {
				h.VLAN = binary.BigEndian.Uint16(b[off:]) & 0x0fff
			}
			et = binary.BigEndian.Uint16(b[off+2:])
			off += 4
		case etherTypeMPLS, etherTypeMPLSMC:
			return parseMPLS(b, off, h)
		case etherTypePPPoE:
			// PPPoE session header (6 bytes) then the PPP protocol.
			if len(b) < off+8 {
				return ErrTruncated
			}
			switch binary.BigEndian.Uint16(b[off+6:]) {
			case 0x0021, 0x0057:
				return parseL3(b, off+8, h)
			}
			return ErrNotIP
		default:
			return ErrNotIP
		}
	}
}

// parseMPLS skips an MPLS label stack starting at b[off:] and parses the
// IP packet under it, recognised by its version nibble.
func parseMPLS(b []byte, off int, h *Header) error {
	for {
		if len(b) < off+4 {
			return ErrTruncated
		}
		bottom := b[off+2]&0x01 != 0
		off += 4
		if bottom {
			break
		}
	}
	if len(b) <= off {
		return ErrTruncated
	}
	switch b[off] >> 4 {
	case 4, 6:
		return parseL3(b, off, h)
	}
	return ErrNotIP
}

// parseL3 parses the IP packet at b[off:] after link-layer headers.
func parseL3(b []byte, off int, h *Header) error {
	if off > 0xffff {
		return ErrNotIP
	}
	h.L3Offset = uint16(off)
	return parseIP(b[off:], h)
}

// ParseIP parses a packet that starts at its IPv4 or IPv6 header into h,
// which it overwrites.
func ParseIP(b []byte, h *Header) error {
	*h = Header{}
	return parseIP(b, h)
}

func parseIP(b []byte, h *Header) error {
	if len(b) == 0 {
		return ErrTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return parseIPv4(b, h)
	case 6:
		return parseIPv6(b, h)
	}
	return ErrBadIPHeader
}

func parseIPv4(b []byte, h *Header) error {
	if len(b) < 20 {
		return ErrTruncated
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return ErrBadIPHeader
	}
	h.IPVersion = 4
	h.IPLen = uint32(binary.BigEndian.Uint16(b[2:4]))
	h.Proto = b[9]
	// h is zeroed: write the IPv4-mapped form in place.
	h.Src[10], h.Src[11], h.Dst[10], h.Dst[11] = 0xff, 0xff, 0xff, 0xff
	copy(h.Src[12:], b[12:16])
	copy(h.Dst[12:], b[16:20])
	if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
		h.Fragment = true
		return nil
	}
	if len(b) < ihl {
		h.Truncated = true
		return nil
	}
	parseL4(b[ihl:], h)
	return nil
}

// maxExtHeaders bounds the IPv6 extension header walk.
const maxExtHeaders = 16

func parseIPv6(b []byte, h *Header) error {
	if len(b) < 40 {
		return ErrTruncated
	}
	h.IPVersion = 6
	h.IPLen = uint32(binary.BigEndian.Uint16(b[4:6])) + 40
	copy(h.Src[:], b[8:24])
	copy(h.Dst[:], b[24:40])
	next := b[6]
	b = b[40:]
	for range maxExtHeaders {
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, dest. options, mobility, HIP, shim6
			if len(b) < 2 {
				h.Proto, h.Truncated = next, true
				return nil
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n {
				h.Proto, h.Truncated = next, true
				return nil
			}
			next, b = b[0], b[n:]
		case 51: // AH: length in 4-octet units minus 2
			if len(b) < 2 {
				h.Proto, h.Truncated = next, true
				return nil
			}
			n := (int(b[1]) + 2) * 4
			if len(b) < n {
				h.Proto, h.Truncated = next, true
				return nil
			}
			next, b = b[0], b[n:]
		case 44: // fragment
			if len(b) < 8 {
				h.Proto, h.Truncated = next, true
				return nil
			}
			next = b[0]
			if binary.BigEndian.Uint16(b[2:4])&0xfff8 != 0 {
				h.Proto, h.Fragment = next, true
				return nil
			}
			b = b[8:]
		default:
			h.Proto = next
			parseL4(b, h)
			return nil
		}
	}
	// Too many extension headers: keep the last type seen, no ports.
	h.Proto = next
	return nil
}

// parseL4 reads ports, TCP flags or ICMP type and code from b, the bytes
// after the IP headers, according to h.Proto.
func parseL4(b []byte, h *Header) {
	switch h.Proto {
	case 6: // TCP
		if len(b) < 14 {
			if len(b) >= 4 {
				h.SrcPort = binary.BigEndian.Uint16(b[0:2])
				h.DstPort = binary.BigEndian.Uint16(b[2:4])
			}
			h.Truncated = true
			return
		}
		h.SrcPort = binary.BigEndian.Uint16(b[0:2])
		h.DstPort = binary.BigEndian.Uint16(b[2:4])
		h.TCPFlags = b[13]
	case 17, 132, 136: // UDP, SCTP, UDP-Lite
		if len(b) < 4 {
			h.Truncated = true
			return
		}
		h.SrcPort = binary.BigEndian.Uint16(b[0:2])
		h.DstPort = binary.BigEndian.Uint16(b[2:4])
	case 1, 58: // ICMP, ICMPv6
		if len(b) < 2 {
			h.Truncated = true
			return
		}
		h.DstPort = uint16(b[0])<<8 | uint16(b[1])
	case 50, 59: // ESP, no next header
	}
}
