package netflow

import (
	"encoding/binary"

	"github.com/acd-org/acd/flow"
)

// A layout is a fixed-length template flattened for the commonest case:
// each record field at most once, so a record is decoded by straight-line
// code with no per-field dispatch. Every unsigned field is read as the 8
// bytes at its offset shifted right, which needs 7 bytes of slack after
// the record: the last records of a set go through the ops instead.
type layout struct {
	ok             bool
	src, dst       uint8 // address: 0 none, 4 or 16 bytes
	srcOff, dstOff uint16
	start, end     uint8 // time encodings: tRaw, tSec, tNTP
	f              [numLay]lfield
}

// lfield is an unsigned field of a layout: the big-endian 8 bytes at off
// shifted right by sh (64 - 8×length); sh 64 reads 0 (field absent).
type lfield struct {
	off uint16
	sh  uint8
}

// get returns f's value in rec.
func (f lfield) get(rec []byte) uint64 { return binary.BigEndian.Uint64(rec[f.off:]) >> f.sh }

// Layout fields.
const (
	lBytes = iota
	lPackets
	lSrcPort
	lDstPort
	lProto
	lFlags
	lInIf
	lOutIf
	lSrcAS
	lDstAS
	lStart
	lEnd
	lICMP
	numLay
)

// Time encodings of a layout.
const (
	tRaw uint8 = iota // the value as is (ms, µs delta, uptime ms)
	tSec              // seconds
	tNTP              // NTP timestamp
)

// layoutSlack is the number of bytes a layout reads past a record.
const layoutSlack = 7

// layOf maps each kind a layout holds, addresses aside, to its layout
// field plus one (0: the kind does not fit a layout).
var layOf = [kScopeOut + 1]uint8{
	kBytes: lBytes + 1, kPackets: lPackets + 1,
	kSrcPort: lSrcPort + 1, kDstPort: lDstPort + 1,
	kProto: lProto + 1, kTCPFlags: lFlags + 1,
	kInIf: lInIf + 1, kOutIf: lOutIf + 1,
	kSrcAS: lSrcAS + 1, kDstAS: lDstAS + 1, kICMPTypeCode: lICMP + 1,
	kStartSec: lStart + 1, kStartMs: lStart + 1, kStartNTP: lStart + 1, kStartDelta: lStart + 1, kStartUp: lStart + 1,
	kEndSec: lEnd + 1, kEndMs: lEnd + 1, kEndNTP: lEnd + 1, kEndDelta: lEnd + 1, kEndUp: lEnd + 1,
}

// buildLayout flattens the ops of a fixed-length plan; it leaves p.lay.ok
// false if they do not fit a layout.
func (p *plan) buildLayout() {
	var l layout
	for i := range l.f {
		l.f[i].sh = 64
	}
	for _, o := range p.ops {
		ok := true
		switch o.kind {
		case kSrc4, kSrc6:
			ok = l.src == 0
			l.src, l.srcOff = uint8(o.n), o.off
		case kDst4, kDst6:
			ok = l.dst == 0
			l.dst, l.dstOff = uint8(o.n), o.off
		default:
			i := int(layOf[o.kind]) - 1
			ok = i >= 0 && !l.has(i)
			if ok {
				l.f[i] = lfield{off: o.off, sh: uint8(64 - 8*o.n)}
			}
			switch i {
			case lStart:
				l.start = timeEnc(o.kind)
			case lEnd:
				l.end = timeEnc(o.kind)
			}
		}
		if !ok {
			return
		}
	}
	l.ok = true
	p.lay = l
}

// has reports whether field i is in l.
func (l *layout) has(i int) bool { return l.f[i].sh < 64 }

// timeEnc returns the layout time encoding of time kind k.
func timeEnc(k uint8) uint8 {
	switch k {
	case kStartSec, kEndSec:
		return tSec
	case kStartNTP, kEndNTP:
		return tNTP
	}
	return tRaw
}

// layTime returns the raw time value of field f of encoding enc in rec.
func layTime(rec []byte, f lfield, enc uint8) int64 {
	if enc == tRaw {
		return int64(f.get(rec))
	}
	return layTimeSlow(rec, f, enc)
}

// layTimeSlow is layTime for seconds and NTP timestamps.
func layTimeSlow(rec []byte, f lfield, enc uint8) int64 {
	if enc == tSec {
		return int64(f.get(rec) * 1000)
	}
	return ntpMs(rec[f.off:])
}

// decodeLayout decodes the records of data into recs (built from base)
// with p's layout. data must hold len(recs) records plus layoutSlack
// bytes.
func (d *Decoder) decodeLayout(p *plan, data []byte, c *setCtx, base *flow.Record, recs []flow.Record) {
	l := &p.lay
	recLen := p.recLen
	var none recVals // a layout has no systemInitTimeMilliseconds
	for i := range recs {
		rec := data[:recLen+layoutSlack]
		data = data[recLen:]
		r := &recs[i]
		*r = *base
		switch l.src {
		case 4:
			put4(&r.SrcAddr, rec[l.srcOff:])
		case 16:
			put16(&r.SrcAddr, rec[l.srcOff:])
		}
		switch l.dst {
		case 4:
			put4(&r.DstAddr, rec[l.dstOff:])
		case 16:
			put16(&r.DstAddr, rec[l.dstOff:])
		}
		r.Bytes = l.f[lBytes].get(rec)
		r.Packets = l.f[lPackets].get(rec)
		r.SrcPort = uint16(l.f[lSrcPort].get(rec))
		r.DstPort = uint16(l.f[lDstPort].get(rec))
		r.Proto = uint8(l.f[lProto].get(rec))
		r.TCPFlags = uint8(l.f[lFlags].get(rec))
		r.InIf = uint32(l.f[lInIf].get(rec))
		r.OutIf = uint32(l.f[lOutIf].get(rec))
		r.SrcAS = uint32(l.f[lSrcAS].get(rec))
		r.DstAS = uint32(l.f[lDstAS].get(rec))
		if c.ifs != nil {
			c.ifRate(r)
		}
		// c.setTimes, by hand (it does not inline): the raw values come
		// from the layout, not from recVals.
		start, okS := c.timeOf(p.startSrc, layTime(rec, l.f[lStart], l.start), &none)
		end, okE := c.timeOf(p.endSrc, layTime(rec, l.f[lEnd], l.end), &none)
		start, end = c.span(start, okS, end, okE)
		c.clampInto(r, start, end)
		if (r.Proto == 1 || r.Proto == 58) && l.has(lICMP) {
			r.SrcPort, r.DstPort = 0, uint16(l.f[lICMP].get(rec))
		}
	}
}
