package scan

import "github.com/acd-org/acd/flow"

// kind is what a record says about its source.
type kind uint8

const (
	// kOther is any flow that is not a probe: it counts against the
	// failed share of a source already tracked, and creates no key.
	kOther kind = iota
	// kFailed is a TCP flow of a few packets with SYN (or FIN, PSH, URG:
	// stealth scans) and never ACK: the source never completed a
	// handshake.
	kFailed
	// kAnswered is a tiny handshake-only TCP connection closed at once
	// (SYN, ACK, then RST or FIN, no payload): a connect scan of an open
	// port.
	kAnswered
	// kUnknown is a probe whose outcome the flow does not show: a small
	// UDP datagram, an ICMP echo request, a small TCP flow without flags
	// (exporters that do not report them).
	kUnknown
	// kUnreach is an ICMP destination unreachable message: an answer to
	// the destination's probe, which makes that probe a failed one.
	kUnreach
)

// IP protocol numbers.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// classifier holds the configuration classify needs.
type classifier struct {
	maxPackets uint64
	maxBytes   uint64
	udp, icmp  bool
}

// towardService reports whether the ports of a flow whose direction the
// flags do not tell (UDP, TCP without flags) say it goes from a client to
// a service: the service port is the lower one. Equal ports (NTP 123 to
// 123, DNS or IKE between servers) say nothing and count as no probe, nor
// do flows from a well-known port (a service answering).
func towardService(sp, dp uint16) bool { return dp < sp && sp >= 1024 }

// classify tells what r is, and the port the probe targets (0 for ICMP).
func (c *classifier) classify(r *flow.Record) (kind, uint16) {
	switch r.Proto {
	case protoTCP:
		if !c.small(r) {
			return kOther, 0
		}
		f := r.TCPFlags
		switch {
		case f == 0:
			if !towardService(r.SrcPort, r.DstPort) {
				return kOther, 0
			}
			return kUnknown, r.DstPort
		case f&flow.TCPAck == 0:
			if f&(flow.TCPSyn|flow.TCPFin|flow.TCPPsh|flow.TCPUrg) != 0 {
				return kFailed, r.DstPort
			}
		case f&flow.TCPSyn != 0 && f&(flow.TCPRst|flow.TCPFin) != 0 && f&flow.TCPPsh == 0:
			return kAnswered, r.DstPort
		}
		return kOther, 0
	case protoUDP:
		if !c.udp || !c.small(r) || !towardService(r.SrcPort, r.DstPort) {
			return kOther, 0
		}
		return kUnknown, r.DstPort
	case protoICMP, protoICMPv6:
		typ := r.DstPort >> 8
		switch {
		case r.Proto == protoICMP && typ == 3, r.Proto == protoICMPv6 && typ == 1:
			return kUnreach, 0
		case c.icmp && (r.Proto == protoICMP && typ == 8 || r.Proto == protoICMPv6 && typ == 128) && c.small(r):
			return kUnknown, 0
		}
	}
	return kOther, 0
}

// small reports whether r has the size of a probe.
func (c *classifier) small(r *flow.Record) bool {
	p := max(r.Packets, 1)
	return p <= c.maxPackets && r.Bytes <= c.maxBytes*p
}
