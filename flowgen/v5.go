package flowgen

import (
	"time"

	"github.com/acd-org/acd/flow"
)

// NetFlow v5 layout: a 24-byte header and up to 30 records of 48 bytes.
const (
	v5HeaderLen  = 24
	v5RecordLen  = 48
	v5MaxRecords = 30
	asTrans      = 23456 // RFC 6793 AS_TRANS, for 4-byte ASNs in 2-byte fields
)

// v5 encodes NetFlow v5. Its sequence number counts flows (records).
type v5 struct {
	cfg   EncoderConfig
	clk   clock
	flows uint32
	max   int
}

func newV5(cfg EncoderConfig) *v5 {
	n := min((cfg.MaxSize-v5HeaderLen)/v5RecordLen, v5MaxRecords)
	if cfg.MaxRecords > 0 {
		n = min(n, cfg.MaxRecords)
	}
	return &v5{cfg: cfg, clk: clock{boot: cfg.Boot}, max: n}
}

func (e *v5) Format() flow.Format                            { return flow.FormatNetFlowV5 }
func (e *v5) TemplatesDue(time.Time) bool                    { return false }
func (e *v5) AppendTemplates(dst []byte, _ time.Time) []byte { return dst }
func (e *v5) Reset()                                         { e.flows = 0 }

// header appends the v5 header for count records.
func (e *v5) header(dst []byte, count int, now time.Time) []byte {
	up := e.clk.uptime(now)
	ns := now.UnixNano()
	dst = app16(dst, 5)
	dst = app16(dst, uint16(count))
	dst = app32(dst, up)
	dst = app32(dst, uint32(ns/1e9))
	dst = app32(dst, uint32(ns%1e9))
	dst = app32(dst, e.flows)
	dst = append(dst, 0, byte(e.cfg.ExporterID)) // engine type, engine id
	var si uint16
	if s := e.cfg.Sampling; s > 1 {
		si = 1<<14 | uint16(min(s, 0x3fff)) // mode 1: deterministic
	}
	return app16(dst, si)
}

func (e *v5) Append(dst []byte, recs []flow.Record, now time.Time) ([]byte, int, int) {
	if len(recs) == 0 {
		return dst, 0, 0
	}
	start := len(dst)
	dst = e.header(dst, 0, now)
	used, written := 0, 0
	for i := range recs {
		if written == e.max {
			break
		}
		used++
		r := &recs[i]
		if !r.SrcAddr.Is4() || !r.DstAddr.Is4() {
			continue
		}
		dst = e.record(dst, r)
		written++
	}
	put16(dst[start+2:], uint16(written))
	e.flows += uint32(written)
	return dst, used, written
}

func (e *v5) record(dst []byte, r *flow.Record) []byte {
	dst = append(dst, r.SrcAddr[12:16]...)
	dst = append(dst, r.DstAddr[12:16]...)
	dst = append(dst, 0, 0, 0, 0) // next hop
	dst = app16(dst, uint16(min(r.InIf, 0xffff)))
	dst = app16(dst, uint16(min(r.OutIf, 0xffff)))
	dst = app32(dst, clamp32(r.Packets))
	dst = app32(dst, clamp32(r.Bytes))
	dst = app32(dst, e.clk.rel(r.Start))
	dst = app32(dst, e.clk.rel(r.End))
	dst = app16(dst, r.SrcPort)
	dst = app16(dst, r.DstPort)
	dst = append(dst, 0, r.TCPFlags, r.Proto, 0) // pad, flags, proto, tos
	dst = app16(dst, as16(r.SrcAS))
	dst = app16(dst, as16(r.DstAS))
	return append(dst, 0, 0, 0, 0) // masks, pad
}

func as16(as uint32) uint16 {
	if as > 0xffff {
		return asTrans
	}
	return uint16(as)
}

func (e *v5) Patch(pkt []byte, now time.Time) int {
	if len(pkt) < v5HeaderLen || get16(pkt) != 5 {
		return 0
	}
	n := int(get16(pkt[2:]))
	if len(pkt) < v5HeaderLen+n*v5RecordLen {
		return 0
	}
	old := get32(pkt[4:])
	up := e.clk.uptime(now)
	ns := now.UnixNano()
	put32(pkt[4:], up)
	put32(pkt[8:], uint32(ns/1e9))
	put32(pkt[12:], uint32(ns%1e9))
	put32(pkt[16:], e.flows)
	e.flows += uint32(n)
	d := up - old
	for i := range n {
		rec := pkt[v5HeaderLen+i*v5RecordLen:]
		put32(rec[24:], get32(rec[24:])+d)
		put32(rec[28:], get32(rec[28:])+d)
	}
	return n
}
