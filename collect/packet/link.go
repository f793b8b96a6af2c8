package packet

import "encoding/binary"

// pcap link types (LINKTYPE_* values of the pcap and pcapng file formats;
// DLT_RAW is 12 on most systems and 14 on OpenBSD).
const (
	LinkTypeNull      = 0   // BSD loopback: 4-byte address family, host byte order
	LinkTypeEthernet  = 1   // EN10MB
	LinkTypeRawDLT    = 12  // DLT_RAW as most systems number it
	LinkTypeRawDLT14  = 14  // DLT_RAW on OpenBSD
	LinkTypeRaw       = 101 // raw IPv4 or IPv6
	LinkTypeLoop      = 108 // OpenBSD loopback: 4-byte address family, network byte order
	LinkTypeLinuxSLL  = 113 // Linux "cooked" capture v1 (16-byte header)
	LinkTypeIPv4      = 228
	LinkTypeIPv6      = 229
	LinkTypeLinuxSLL2 = 276 // Linux "cooked" capture v2 (20-byte header)
)

// ParseLink parses a packet captured with the given pcap link type into
// h, which it overwrites. Unknown link types return ErrUnsupportedLink.
func ParseLink(linkType uint32, b []byte, h *Header) error {
	switch linkType {
	case LinkTypeEthernet:
		return ParseEthernet(b, h)
	case LinkTypeRaw, LinkTypeRawDLT, LinkTypeRawDLT14, LinkTypeIPv4, LinkTypeIPv6:
		return ParseIP(b, h)
	case LinkTypeNull, LinkTypeLoop:
		// The address family values for IPv6 differ between systems
		// (10, 24, 28, 30): the IP version nibble decides.
		*h = Header{}
		if len(b) < 4 {
			return ErrTruncated
		}
		return parseL3(b, 4, h)
	case LinkTypeLinuxSLL:
		*h = Header{}
		if len(b) < 16 {
			return ErrTruncated
		}
		return parseEtherType(b, 16, binary.BigEndian.Uint16(b[14:16]), h)
	case LinkTypeLinuxSLL2:
		*h = Header{}
		if len(b) < 20 {
			return ErrTruncated
		}
		return parseEtherType(b, 20, binary.BigEndian.Uint16(b[0:2]), h)
	}
	*h = Header{}
	return ErrUnsupportedLink
}
