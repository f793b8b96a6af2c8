package flowgen

import (
	"time"

	"github.com/acd-org/acd/flow"
)

// sFlow v5 structure tags and sizes.
const (
	sfFlowSample    = 1 // enterprise 0, format 1
	sfCounterSample = 2 // enterprise 0, format 2
	sfRawHeader     = 1 // flow record: raw packet header
	sfIfCounters    = 1 // counter record: generic interface counters
	sfIfCountersLen = 88
	sfFlowFixed     = 8 + 32 + 8 + 16 // sample tag/len, sample fields, record tag/len, raw header fields
	sfCounterLen    = 8 + 12 + 8 + sfIfCountersLen
	ethLen          = 14
	fcsLen          = 4
	maxL3           = 1500
)

// seqs holds per-data-source sequence numbers.
type seqs struct {
	small []uint32
	big   map[uint32]uint32
}

// next returns the next sequence number of source src (starting at 1).
func (s *seqs) next(src uint32) uint32 {
	if src < 4096 {
		if int(src) >= len(s.small) {
			s.small = append(s.small, make([]uint32, int(src)+1-len(s.small))...)
		}
		s.small[src]++
		return s.small[src]
	}
	if s.big == nil {
		s.big = make(map[uint32]uint32)
	}
	s.big[src]++
	return s.big[src]
}

func (s *seqs) reset() {
	clear(s.small)
	clear(s.big)
}

// sflowEncoder encodes sFlow v5 datagrams of flow samples, one per record, each
// with a raw packet header record (Ethernet, IPv4 or IPv6, TCP, UDP or
// ICMP) built from the record, and an interface counter sample every
// CounterEvery datagrams. A record stands for one sampled packet whose
// layer-3 length is the record's average packet size.
type sflowEncoder struct {
	cfg       EncoderConfig
	clk       clock
	rate      uint32
	seq       uint32 // datagrams
	flowSeq   seqs
	ctrSeq    seqs
	datagrams int
	octets    uint64 // counter sample totals
	pkts      uint64
	filler    [256]byte
}

func newSFlow(cfg EncoderConfig) *sflowEncoder {
	e := &sflowEncoder{cfg: cfg, clk: clock{boot: cfg.Boot}, rate: cfg.Sampling}
	if e.rate == 0 {
		e.rate = DefaultSFlowSampling
	}
	x := uint64(0x9e3779b97f4a7c15)
	for i := range e.filler {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		e.filler[i] = byte(x)
	}
	return e
}

func (e *sflowEncoder) Format() flow.Format                            { return flow.FormatSFlow }
func (e *sflowEncoder) TemplatesDue(time.Time) bool                    { return false }
func (e *sflowEncoder) AppendTemplates(dst []byte, _ time.Time) []byte { return dst }

func (e *sflowEncoder) Reset() {
	e.seq, e.datagrams = 0, 0
	e.flowSeq.reset()
	e.ctrSeq.reset()
}

func (e *sflowEncoder) headerLen() int {
	if e.cfg.Agent.Is4() {
		return 28
	}
	return 40
}

func (e *sflowEncoder) header(dst []byte, now time.Time) []byte {
	dst = app32(dst, 5)
	if e.cfg.Agent.Is4() {
		a := e.cfg.Agent.As4()
		dst = app32(dst, 1)
		dst = append(dst, a[:]...)
	} else {
		a := e.cfg.Agent.As16()
		dst = app32(dst, 2)
		dst = append(dst, a[:]...)
	}
	dst = app32(dst, e.cfg.ExporterID)
	e.seq++
	dst = app32(dst, e.seq)
	dst = app32(dst, e.clk.uptime(now))
	return app32(dst, 0) // samples, set later
}

// l3Len returns the layer-3 length of the packet that stands for r.
func l3Len(r *flow.Record) int {
	avg := r.Bytes
	if r.Packets > 1 {
		avg /= r.Packets
	}
	return min(max(int(min(avg, maxL3)), ipHdrLen(r)+l4HdrLen(r.Proto)), maxL3)
}

func ipHdrLen(r *flow.Record) int {
	if r.SrcAddr.Is4() {
		return 20
	}
	return 40
}

func l4HdrLen(proto uint8) int {
	switch proto {
	case 6:
		return 20
	case 17, 1, 58:
		return 8
	}
	return 0
}

// sampleLen returns the size of r's flow sample.
func (e *sflowEncoder) sampleLen(r *flow.Record) int {
	h := min(ethLen+l3Len(r), e.cfg.Snapshot)
	return sfFlowFixed + (h+3)&^3
}

func (e *sflowEncoder) Append(dst []byte, recs []flow.Record, now time.Time) ([]byte, int, int) {
	if len(recs) == 0 {
		return dst, 0, 0
	}
	start := len(dst)
	room := e.cfg.MaxSize - e.headerLen()
	dst = e.header(dst, now)
	samples := 0
	if e.cfg.CounterEvery > 0 && e.datagrams%e.cfg.CounterEvery == 0 {
		dst = e.counterSample(dst, recs[0].InIf)
		room -= sfCounterLen
		samples++
	}
	e.datagrams++
	n := 0
	for i := range recs {
		if e.cfg.MaxRecords > 0 && n == e.cfg.MaxRecords {
			break
		}
		l := e.sampleLen(&recs[i])
		if l > room && n > 0 {
			break
		}
		room -= l
		dst = e.flowSample(dst, &recs[i])
		n++
	}
	put32(dst[start+e.headerLen()-4:], uint32(samples+n))
	return dst, n, n
}

func (e *sflowEncoder) flowSample(dst []byte, r *flow.Record) []byte {
	src := r.InIf & 0xffffff
	l3 := l3Len(r)
	h := min(ethLen+l3, e.cfg.Snapshot)
	seq := e.flowSeq.next(src)
	e.octets += uint64(l3) * uint64(e.rate)
	e.pkts += uint64(e.rate)
	dst = app32(dst, sfFlowSample)
	dst = app32(dst, uint32(sfFlowFixed-8+(h+3)&^3))
	dst = app32(dst, seq)
	dst = app32(dst, src) // source id: type 0 (ifIndex)
	dst = app32(dst, e.rate)
	dst = app32(dst, seq*e.rate) // sample pool
	dst = app32(dst, 0)          // drops
	dst = app32(dst, r.InIf&0x3fffffff)
	dst = app32(dst, r.OutIf&0x3fffffff)
	dst = app32(dst, 1) // one flow record
	dst = app32(dst, sfRawHeader)
	dst = app32(dst, uint32(16+(h+3)&^3))
	dst = app32(dst, 1) // header protocol: Ethernet
	dst = app32(dst, uint32(ethLen+l3+fcsLen))
	dst = app32(dst, fcsLen) // stripped
	dst = app32(dst, uint32(h))
	s := len(dst)
	dst = e.packet(dst, r, l3, seq)
	dst = dst[:s+h]
	for len(dst)%4 != 0 {
		dst = append(dst, 0)
	}
	return dst
}

// packet appends the start of a frame (at least the snapshot length, or
// the whole frame when shorter) carrying r's addresses, ports and flags.
func (e *sflowEncoder) packet(dst []byte, r *flow.Record, l3 int, seq uint32) []byte {
	// Ethernet: made-up but stable MACs of the router's interfaces.
	dst = append(dst, 0x00, 0x1b, 0x21, 0x0a, byte(r.OutIf>>8), byte(r.OutIf))
	dst = append(dst, 0x3c, 0xfd, 0xfe, 0x0b, byte(r.InIf>>8), byte(r.InIf))
	ttl := 64 - byte(seq%23)
	if r.SrcAddr.Is4() {
		dst = append(dst, 0x08, 0x00)
		ip := len(dst)
		dst = append(dst, 0x45, 0)
		dst = app16(dst, uint16(l3))
		dst = app16(dst, uint16(seq*7919))
		dst = append(dst, 0x40, 0, ttl, r.Proto, 0, 0) // DF, ttl, proto, checksum
		dst = append(dst, r.SrcAddr[12:16]...)
		dst = append(dst, r.DstAddr[12:16]...)
		put16(dst[ip+10:], ipChecksum(dst[ip:ip+20]))
	} else {
		dst = append(dst, 0x86, 0xdd)
		dst = app32(dst, 6<<28|(seq*2654435761)&0xfffff)
		dst = app16(dst, uint16(l3-40))
		dst = append(dst, r.Proto, ttl)
		dst = append(dst, r.SrcAddr[:]...)
		dst = append(dst, r.DstAddr[:]...)
	}
	ipl := ipHdrLen(r)
	x := seq * 2246822519
	switch r.Proto {
	case 6:
		dst = app16(dst, r.SrcPort)
		dst = app16(dst, r.DstPort)
		dst = app32(dst, x)
		dst = app32(dst, x*3266489917)
		dst = append(dst, 0x50, r.TCPFlags, 0xfa, 0xf0) // offset 5, flags, window
		dst = app32(dst, x>>16<<16)                     // checksum, urgent pointer
	case 17:
		dst = app16(dst, r.SrcPort)
		dst = app16(dst, r.DstPort)
		dst = app16(dst, uint16(l3-ipl))
		dst = app16(dst, uint16(x))
	case 1, 58:
		dst = append(dst, byte(r.DstPort>>8), byte(r.DstPort))
		dst = app16(dst, uint16(x))
		dst = app32(dst, seq)
	}
	need := min(ethLen+l3, e.cfg.Snapshot) - (ethLen + ipl + l4HdrLen(r.Proto))
	if need > 0 {
		dst = append(dst, e.filler[:need]...)
	}
	return dst
}

// ipChecksum returns the Internet checksum of b (of even length).
func ipChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

func (e *sflowEncoder) counterSample(dst []byte, ifIndex uint32) []byte {
	src := ifIndex & 0xffffff
	dst = app32(dst, sfCounterSample)
	dst = app32(dst, sfCounterLen-8)
	dst = app32(dst, e.ctrSeq.next(src))
	dst = app32(dst, src)
	dst = app32(dst, 1) // one counter record
	dst = app32(dst, sfIfCounters)
	dst = app32(dst, sfIfCountersLen)
	dst = app32(dst, ifIndex)
	dst = app32(dst, 6)                    // ifType: ethernetCsmacd
	dst = app64(dst, 10_000_000_000)       // ifSpeed
	dst = app32(dst, 1)                    // ifDirection: full duplex
	dst = app32(dst, 3)                    // ifStatus: admin and oper up
	dst = app64(dst, e.octets)             // ifInOctets
	dst = app32(dst, uint32(e.pkts))       // ifInUcastPkts
	dst = append(dst, make([]byte, 20)...) // multicast, broadcast, discards, errors, unknown protos
	dst = app64(dst, e.octets/2)           // ifOutOctets
	dst = app32(dst, uint32(e.pkts/2))     // ifOutUcastPkts
	dst = append(dst, make([]byte, 16)...) // multicast, broadcast, discards, errors
	return app32(dst, 0)                   // promiscuous mode
}

func (e *sflowEncoder) Patch(pkt []byte, now time.Time) int {
	hl := e.headerLen()
	if len(pkt) < hl || get32(pkt) != 5 {
		return 0
	}
	e.seq++
	e.datagrams++
	put32(pkt[hl-12:], e.seq)
	put32(pkt[hl-8:], e.clk.uptime(now))
	n := 0
	for b := pkt[hl:]; len(b) >= 20; {
		tag, l := get32(b), int(get32(b[4:]))
		if l < 16 || l > len(b)-8 {
			break
		}
		switch tag {
		case sfFlowSample:
			seq := e.flowSeq.next(get32(b[12:]))
			put32(b[8:], seq)
			put32(b[20:], seq*get32(b[16:]))
			n++
		case sfCounterSample:
			put32(b[8:], e.ctrSeq.next(get32(b[12:])))
		}
		b = b[8+l:]
	}
	return n
}
