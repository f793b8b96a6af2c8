package ddos

import (
	"encoding/binary"

	"github.com/acd-org/acd/flow"
)

// Vectors: the kinds of flood counted apart per destination.
const (
	vSYN   = iota // TCP SYN without ACK: half-open connections
	vUDP          // UDP not from an amplifier port
	vICMP         // ICMP, ICMPv6
	vRefl         // UDP from an amplifier port, port-less UDP fragments
	vTCP          // TCP without SYN and without PSH: ACK/RST/FIN floods
	vOther        // other IP protocols
	nVec
	vNone = nVec // established TCP: no flood vector
)

// vectorNames are the vectors' labels (evidence, configuration keys).
var vectorNames = [nVec]string{"syn", "udp", "icmp", "reflection", "tcp", "other"}

// vectorTitles name the vectors in a reason sentence.
var vectorTitles = [nVec]string{"SYN flood", "UDP flood", "ICMP flood", "reflection/amplification flood", "TCP ACK/RST flood", "IP protocol flood"}

// direct reports whether v's sources are the attackers themselves (bots),
// which the detector names; reflection sources are misused servers.
func direct(v int) bool { return v != vRefl }

// portSet is a bitmap of the 65536 ports.
type portSet [1024]uint64

func (p *portSet) add(port uint16)      { p[port>>6] |= 1 << (port & 63) }
func (p *portSet) has(port uint16) bool { return p[port>>6]&(1<<(port&63)) != 0 }
func newPortSet(ports []uint16) *portSet {
	p := new(portSet)
	for _, x := range ports {
		p.add(x)
	}
	return p
}

// vectorOf classifies a record.
func vectorOf(r *flow.Record, amp *portSet) int {
	switch r.Proto {
	case 6:
		f := r.TCPFlags
		switch {
		case f&flow.TCPSyn != 0 && f&flow.TCPAck == 0:
			return vSYN
		case f&(flow.TCPSyn|flow.TCPPsh) == 0:
			return vTCP
		}
		return vNone
	case 17:
		if amp.has(r.SrcPort) || (r.SrcPort == 0 && r.DstPort == 0) {
			return vRefl
		}
		return vUDP
	case 1, 58:
		return vICMP
	}
	return vOther
}

// srcBit hashes an address to one bit of a 64-bit linear-counting sketch.
func srcBit(a *flow.Addr) uint64 {
	h := binary.LittleEndian.Uint64(a[0:8])*0x9E3779B97F4A7C15 ^ binary.LittleEndian.Uint64(a[8:16])*0xC2B2AE3D27D4EB4F
	h ^= h >> 29
	h *= 0x94D049BB133111EB
	return 1 << (h >> 58)
}
