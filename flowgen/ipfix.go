package flowgen

import (
	"strconv"
	"time"

	"github.com/acd-org/acd/flow"
)

// IPFIX information elements (RFC 7012, IANA registry).
const (
	ieOctetDelta     = 1
	iePacketDelta    = 2
	ieProtocol       = 4
	ieTCPControlBits = 6
	ieSrcPort        = 7
	ieSrcIPv4        = 8
	ieIngressIf      = 10
	ieDstPort        = 11
	ieDstIPv4        = 12
	ieEgressIf       = 14
	ieSrcAS          = 16
	ieDstAS          = 17
	ieSrcIPv6        = 27
	ieDstIPv6        = 28
	ieSamplingInt    = 34
	ieSamplingAlg    = 35
	ieInterfaceName  = 82
	ieObsDomainID    = 149
	ieFlowStartMs    = 152
	ieFlowEndMs      = 153
	varLen           = 65535
)

// IPFIX data record layout: absolute millisecond times first (Patch shifts
// them), addresses, then the optional variable-length interfaceName.
var (
	ipfixCommon = []field{
		{ieFlowStartMs, 8}, {ieFlowEndMs, 8}, {ieOctetDelta, 8}, {iePacketDelta, 8},
		{ieIngressIf, 4}, {ieEgressIf, 4}, {ieSrcAS, 4}, {ieDstAS, 4},
		{ieSrcPort, 2}, {ieDstPort, 2}, {ieProtocol, 1}, {ieTCPControlBits, 2},
	}
	ipfixFields4 = append(append([]field{}, ipfixCommon...), field{ieSrcIPv4, 4}, field{ieDstIPv4, 4})
	ipfixFields6 = append(append([]field{}, ipfixCommon...), field{ieSrcIPv6, 16}, field{ieDstIPv6, 16})
)

const (
	ipfixHeaderLen = 16
	ipfixRec4Len   = 63
	ipfixRec6Len   = 87
	ifNameMax      = 16 // room reserved per record for interfaceName
)

// ipfix encodes IPFIX. Its sequence number counts data records (options
// data records included) sent before the message.
type ipfix struct {
	cfg      EncoderConfig
	sched    schedule
	seq      uint32
	fields46 [2][]field // template fields, IPv4 and IPv6
}

func newIPFIX(cfg EncoderConfig) *ipfix {
	e := &ipfix{cfg: cfg, sched: schedule{everyPkts: cfg.TemplatePackets, every: cfg.TemplateInterval}}
	e.fields46 = [2][]field{ipfixFields4, ipfixFields6}
	if cfg.VarLen {
		for i, f := range e.fields46 {
			e.fields46[i] = append(f[:len(f):len(f)], field{ieInterfaceName, varLen})
		}
	}
	return e
}

func (e *ipfix) Format() flow.Format             { return flow.FormatIPFIX }
func (e *ipfix) TemplatesDue(now time.Time) bool { return e.sched.due(now) }
func (e *ipfix) Reset()                          { e.seq, e.sched.sent, e.sched.pkts = 0, false, 0 }

func (e *ipfix) header(dst []byte, now time.Time) []byte {
	dst = app16(dst, 10)
	dst = app16(dst, 0) // length, set by finish
	dst = app32(dst, uint32(now.Unix()))
	dst = app32(dst, e.seq)
	return app32(dst, e.cfg.ExporterID)
}

func finish(dst []byte, start int) []byte {
	put16(dst[start+2:], uint16(len(dst)-start))
	return dst
}

func (e *ipfix) AppendTemplates(dst []byte, now time.Time) []byte {
	start := len(dst)
	dst = e.header(dst, now)
	s := len(dst)
	dst = append(dst, 0, 2, 0, 0) // template set: id 2
	dst = appendTemplate(dst, tmplIPv4, e.fields46[0])
	dst = appendTemplate(dst, tmplIPv6, e.fields46[1])
	dst = finish(dst, s)
	if e.cfg.Sampling > 1 {
		s = len(dst)
		dst = append(dst, 0, 3, 0, 0) // options template set: id 3
		dst = app16(dst, tmplOptions)
		dst = app16(dst, 3) // field count
		dst = app16(dst, 1) // scope field count
		dst = app16(dst, ieObsDomainID)
		dst = app16(dst, 4)
		dst = app16(dst, ieSamplingInt)
		dst = app16(dst, 4)
		dst = app16(dst, ieSamplingAlg)
		dst = app16(dst, 1)
		dst = finish(dst, s)
		s = len(dst)
		dst = appendSamplingOptions(dst, e.cfg.ExporterID, e.cfg.Sampling)
		dst = finish(dst, s)
		e.seq++
	}
	e.sched.done(now)
	return finish(dst, start)
}

func (e *ipfix) Append(dst []byte, recs []flow.Record, now time.Time) ([]byte, int, int) {
	l4, l6 := ipfixRec4Len, ipfixRec6Len
	if e.cfg.VarLen {
		l4, l6 = l4+1+ifNameMax, l6+1+ifNameMax
	}
	n := fit(recs, e.cfg.MaxSize-ipfixHeaderLen, e.cfg.MaxRecords, l4, l6)
	if n == 0 {
		return dst, 0, 0
	}
	recs = recs[:n]
	start := len(dst)
	dst = e.header(dst, now)
	dst = e.dataSet(dst, recs, true)
	dst = e.dataSet(dst, recs, false)
	e.seq += uint32(n)
	e.sched.pkts++
	return finish(dst, start), n, n
}

func (e *ipfix) dataSet(dst []byte, recs []flow.Record, v4 bool) []byte {
	s := len(dst)
	dst = openDataSet(dst, v4)
	for i := range recs {
		r := &recs[i]
		if r.SrcAddr.Is4() != v4 {
			continue
		}
		dst = app64(dst, uint64(r.Start))
		dst = app64(dst, uint64(r.End))
		dst = app64(dst, r.Bytes)
		dst = app64(dst, r.Packets)
		dst = app32(dst, r.InIf)
		dst = app32(dst, r.OutIf)
		dst = app32(dst, r.SrcAS)
		dst = app32(dst, r.DstAS)
		dst = app16(dst, r.SrcPort)
		dst = app16(dst, r.DstPort)
		dst = append(dst, r.Proto, 0, r.TCPFlags)
		dst = appendAddrs(dst, r, v4)
		if e.cfg.VarLen {
			dst = appendIfName(dst, r.InIf)
		}
	}
	if len(dst) == s+setHdrLen {
		return dst[:s]
	}
	return finish(dst, s)
}

// appendIfName appends the variable-length interfaceName of ifIndex
// ("ethN", at most ifNameMax bytes) with its one-byte length.
func appendIfName(dst []byte, ifIndex uint32) []byte {
	l := len(dst)
	dst = append(dst, 0, 'e', 't', 'h')
	dst = strconv.AppendUint(dst, uint64(ifIndex), 10)
	dst[l] = byte(len(dst) - l - 1)
	return dst
}

func (e *ipfix) Patch(pkt []byte, now time.Time) int {
	if len(pkt) < ipfixHeaderLen || get16(pkt) != 10 {
		return 0
	}
	old := get32(pkt[4:])
	secs := uint32(now.Unix())
	put32(pkt[4:], secs)
	put32(pkt[8:], e.seq)
	d := uint64(int64(int32(secs-old)) * 1000)
	n := 0
	for b := pkt[ipfixHeaderLen:min(len(pkt), int(get16(pkt[2:])))]; len(b) >= setHdrLen; {
		id, l := get16(b), int(get16(b[2:]))
		if l < setHdrLen || l > len(b) {
			break
		}
		size := 0
		switch id {
		case tmplIPv4:
			size = ipfixRec4Len
		case tmplIPv6:
			size = ipfixRec6Len
		}
		if size > 0 {
			n += e.shift(b[setHdrLen:l], size, d)
		}
		b = b[l:]
	}
	e.seq += uint32(n)
	e.sched.pkts++
	return n
}

// shift adds d to the start and end times of the records of size (plus the
// variable-length name when configured) in set and returns their number.
func (e *ipfix) shift(set []byte, size int, d uint64) int {
	n := 0
	for len(set) >= size {
		l := size
		if e.cfg.VarLen {
			switch {
			case len(set) == size:
				return n
			case set[size] < 255:
				l += 1 + int(set[size])
			case len(set) >= size+3:
				l += 3 + int(get16(set[size+1:]))
			default:
				return n
			}
			if l > len(set) {
				return n
			}
		}
		put64(set, get64(set)+d)
		put64(set[8:], get64(set[8:])+d)
		n++
		set = set[l:]
	}
	return n
}
