package flowgen

import (
	"time"

	"github.com/acd-org/acd/flow"
)

// Template ids used by the v9 and IPFIX encoders.
const (
	tmplIPv4    = 256
	tmplIPv6    = 257
	tmplOptions = 258
)

// field is one (type, length) pair of a template.
type field struct{ typ, len uint16 }

// NetFlow v9 (RFC 3954) element ids.
const (
	nfInBytes     = 1
	nfInPkts      = 2
	nfProtocol    = 4
	nfTCPFlags    = 6
	nfL4SrcPort   = 7
	nfIPv4Src     = 8
	nfInputSNMP   = 10
	nfL4DstPort   = 11
	nfIPv4Dst     = 12
	nfOutputSNMP  = 14
	nfSrcAS       = 16
	nfDstAS       = 17
	nfLastSwitch  = 21
	nfFirstSwitch = 22
	nfIPv6Src     = 27
	nfIPv6Dst     = 28
	nfSamplingInt = 34
	nfSamplingAlg = 35
	nfScopeSystem = 1
)

// v9 data record layout: times first (Patch shifts them), addresses last.
var (
	v9Common = []field{
		{nfFirstSwitch, 4}, {nfLastSwitch, 4}, {nfInBytes, 8}, {nfInPkts, 8},
		{nfInputSNMP, 4}, {nfOutputSNMP, 4}, {nfSrcAS, 4}, {nfDstAS, 4},
		{nfL4SrcPort, 2}, {nfL4DstPort, 2}, {nfProtocol, 1}, {nfTCPFlags, 1},
	}
	v9Fields4 = append(append([]field{}, v9Common...), field{nfIPv4Src, 4}, field{nfIPv4Dst, 4})
	v9Fields6 = append(append([]field{}, v9Common...), field{nfIPv6Src, 16}, field{nfIPv6Dst, 16})
)

const (
	v9HeaderLen = 20
	v9Rec4Len   = 54
	v9Rec6Len   = 78
	setHdrLen   = 4
)

// v9 encodes NetFlow v9. Its sequence number counts export packets.
type v9 struct {
	cfg   EncoderConfig
	clk   clock
	sched schedule
	seq   uint32
}

func newV9(cfg EncoderConfig) *v9 {
	return &v9{cfg: cfg, clk: clock{boot: cfg.Boot},
		sched: schedule{everyPkts: cfg.TemplatePackets, every: cfg.TemplateInterval}}
}

func (e *v9) Format() flow.Format             { return flow.FormatNetFlowV9 }
func (e *v9) TemplatesDue(now time.Time) bool { return e.sched.due(now) }
func (e *v9) Reset()                          { e.seq, e.sched.sent, e.sched.pkts = 0, false, 0 }

func (e *v9) header(dst []byte, count uint16, now time.Time) []byte {
	dst = app16(dst, 9)
	dst = app16(dst, count)
	dst = app32(dst, e.clk.uptime(now))
	dst = app32(dst, uint32(now.Unix()))
	dst = app32(dst, e.seq)
	e.seq++
	return app32(dst, e.cfg.ExporterID)
}

// appendTemplate appends one template record.
func appendTemplate(dst []byte, id uint16, fields []field) []byte {
	dst = app16(dst, id)
	dst = app16(dst, uint16(len(fields)))
	for _, f := range fields {
		dst = app16(dst, f.typ)
		dst = app16(dst, f.len)
	}
	return dst
}

// pad4 pads the set that starts at start to a multiple of 4 bytes and
// writes its length.
func pad4(dst []byte, start int) []byte {
	for (len(dst)-start)%4 != 0 {
		dst = append(dst, 0)
	}
	put16(dst[start+2:], uint16(len(dst)-start))
	return dst
}

func (e *v9) AppendTemplates(dst []byte, now time.Time) []byte {
	count := uint16(2)
	if e.cfg.Sampling > 1 {
		count += 2
	}
	dst = e.header(dst, count, now)
	s := len(dst)
	dst = append(dst, 0, 0, 0, 0) // template flowset: id 0
	dst = appendTemplate(dst, tmplIPv4, v9Fields4)
	dst = appendTemplate(dst, tmplIPv6, v9Fields6)
	dst = pad4(dst, s)
	if e.cfg.Sampling > 1 {
		s = len(dst)
		dst = append(dst, 0, 1, 0, 0) // options template flowset: id 1
		dst = app16(dst, tmplOptions)
		dst = app16(dst, 4) // scope length in bytes
		dst = app16(dst, 8) // option fields length in bytes
		dst = app16(dst, nfScopeSystem)
		dst = app16(dst, 4)
		dst = app16(dst, nfSamplingInt)
		dst = app16(dst, 4)
		dst = app16(dst, nfSamplingAlg)
		dst = app16(dst, 1)
		dst = pad4(dst, s)
		s = len(dst)
		dst = appendSamplingOptions(dst, e.cfg.ExporterID, e.cfg.Sampling)
		dst = pad4(dst, s)
	}
	e.sched.done(now)
	return dst
}

// fit returns how many records from the front of recs fit in room bytes
// of data sets (two at most, one per address family, each padded to 4),
// at most max (0: no bound), given each family's record length.
func fit(recs []flow.Record, room, max, len4, len6 int) int {
	var n4, n6, n int
	for i := range recs {
		if max > 0 && n == max {
			break
		}
		a, b := n4, n6
		if recs[i].SrcAddr.Is4() {
			a++
		} else {
			b++
		}
		if setsLen(a, len4)+setsLen(b, len6) > room {
			break
		}
		n4, n6, n = a, b, n+1
	}
	return n
}

// setsLen is the size of a data set of n records of size l, padded to 4.
func setsLen(n, l int) int {
	if n == 0 {
		return 0
	}
	return (setHdrLen + n*l + 3) &^ 3
}

func (e *v9) Append(dst []byte, recs []flow.Record, now time.Time) ([]byte, int, int) {
	n := fit(recs, e.cfg.MaxSize-v9HeaderLen, e.cfg.MaxRecords, v9Rec4Len, v9Rec6Len)
	if n == 0 {
		return dst, 0, 0
	}
	recs = recs[:n]
	dst = e.header(dst, uint16(n), now)
	dst = e.dataSet(dst, recs, true)
	dst = e.dataSet(dst, recs, false)
	e.sched.pkts++
	return dst, n, n
}

// dataSet appends the data flowset of recs' IPv4 (v4) or IPv6 records.
func (e *v9) dataSet(dst []byte, recs []flow.Record, v4 bool) []byte {
	s := len(dst)
	dst = openDataSet(dst, v4)
	for i := range recs {
		r := &recs[i]
		if r.SrcAddr.Is4() != v4 {
			continue
		}
		dst = app32(dst, e.clk.rel(r.Start))
		dst = app32(dst, e.clk.rel(r.End))
		dst = app64(dst, r.Bytes)
		dst = app64(dst, r.Packets)
		dst = app32(dst, r.InIf)
		dst = app32(dst, r.OutIf)
		dst = app32(dst, r.SrcAS)
		dst = app32(dst, r.DstAS)
		dst = app16(dst, r.SrcPort)
		dst = app16(dst, r.DstPort)
		dst = append(dst, r.Proto, r.TCPFlags)
		dst = appendAddrs(dst, r, v4)
	}
	if len(dst) == s+setHdrLen {
		return dst[:s]
	}
	return pad4(dst, s)
}

// The v9 and IPFIX data records share the template order (see v9Common
// and ipfixCommon); these append the shared parts.

// openDataSet appends the header of the data set of the IPv4 (v4) or IPv6
// template; the caller writes its length when the set is complete.
func openDataSet(dst []byte, v4 bool) []byte {
	id := byte(tmplIPv6 & 0xff)
	if v4 {
		id = tmplIPv4 & 0xff
	}
	return append(dst, 1, id, 0, 0)
}

// appendAddrs appends the source and destination addresses, 4 bytes each
// for the IPv4 template (v4), 16 for the IPv6 one.
func appendAddrs(dst []byte, r *flow.Record, v4 bool) []byte {
	if v4 {
		dst = append(dst, r.SrcAddr[12:16]...)
		return append(dst, r.DstAddr[12:16]...)
	}
	dst = append(dst, r.SrcAddr[:]...)
	return append(dst, r.DstAddr[:]...)
}

// appendSamplingOptions appends the options data set of the sampling
// options template: observation domain (v9: system scope), sampling
// interval, algorithm 1 (deterministic). The caller writes its length.
func appendSamplingOptions(dst []byte, exporterID, sampling uint32) []byte {
	dst = append(dst, tmplOptions>>8, tmplOptions&0xff, 0, 0)
	dst = app32(dst, exporterID)
	dst = app32(dst, sampling)
	return append(dst, 1) // deterministic
}

func (e *v9) Patch(pkt []byte, now time.Time) int {
	if len(pkt) < v9HeaderLen || get16(pkt) != 9 {
		return 0
	}
	old := get32(pkt[4:])
	up := e.clk.uptime(now)
	put32(pkt[4:], up)
	put32(pkt[8:], uint32(now.Unix()))
	put32(pkt[12:], e.seq)
	e.seq++
	e.sched.pkts++
	d := up - old
	n := 0
	for b := pkt[v9HeaderLen:]; len(b) >= setHdrLen; {
		id, l := get16(b), int(get16(b[2:]))
		if l < setHdrLen || l > len(b) {
			break
		}
		size := 0
		switch id {
		case tmplIPv4:
			size = v9Rec4Len
		case tmplIPv6:
			size = v9Rec6Len
		}
		if size > 0 {
			for r := b[setHdrLen:l]; len(r) >= size; r = r[size:] {
				put32(r, get32(r)+d)
				put32(r[4:], get32(r[4:])+d)
				n++
			}
		}
		b = b[l:]
	}
	return n
}
