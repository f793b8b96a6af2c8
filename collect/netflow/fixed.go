package netflow

import (
	"encoding/binary"
	"slices"

	"github.com/acd-org/acd/flow"
)

// Specialised ops of fixed-length templates: one per (kind, length) pair
// the usual exporters send, so the per-record loop stores each field with
// one load and no further test. Any other pair is cGeneric and goes
// through apply.
const (
	cGeneric uint8 = iota
	cSrc4          // sole source address field of its record: stored as is
	cDst4
	cSrc6
	cDst6
	cBytes8
	cBytes4
	cPackets8
	cPackets4
	cSrcPort2
	cDstPort2
	cProto1
	cTCPFlags1
	cTCPFlags2
	cInIf4
	cInIf2
	cOutIf4
	cOutIf2
	cSrcAS4
	cSrcAS2
	cDstAS4
	cDstAS2
	cStart4 // raw 4-byte start: ms, delta µs or uptime ms
	cEnd4
	cStart8
	cEnd8
	cStartSec4
	cEndSec4
	cStartNTP
	cEndNTP
)

// fixedCode returns the specialised op for a field of kind k and length n;
// alone says whether it is the only address field of its side (src or dst)
// in the record, so that it can be stored unconditionally.
func fixedCode(k uint8, n uint16, alone bool) uint8 {
	type kn struct {
		k uint8
		n uint16
	}
	switch (kn{k, n}) {
	case kn{kSrc4, 4}:
		if alone {
			return cSrc4
		}
	case kn{kDst4, 4}:
		if alone {
			return cDst4
		}
	case kn{kSrc6, 16}:
		if alone {
			return cSrc6
		}
	case kn{kDst6, 16}:
		if alone {
			return cDst6
		}
	case kn{kBytes, 8}:
		return cBytes8
	case kn{kBytes, 4}:
		return cBytes4
	case kn{kPackets, 8}:
		return cPackets8
	case kn{kPackets, 4}:
		return cPackets4
	case kn{kSrcPort, 2}:
		return cSrcPort2
	case kn{kDstPort, 2}:
		return cDstPort2
	case kn{kProto, 1}:
		return cProto1
	case kn{kTCPFlags, 1}:
		return cTCPFlags1
	case kn{kTCPFlags, 2}:
		return cTCPFlags2
	case kn{kInIf, 4}:
		return cInIf4
	case kn{kInIf, 2}:
		return cInIf2
	case kn{kOutIf, 4}:
		return cOutIf4
	case kn{kOutIf, 2}:
		return cOutIf2
	case kn{kSrcAS, 4}:
		return cSrcAS4
	case kn{kSrcAS, 2}:
		return cSrcAS2
	case kn{kDstAS, 4}:
		return cDstAS4
	case kn{kDstAS, 2}:
		return cDstAS2
	case kn{kStartMs, 4}, kn{kStartDelta, 4}, kn{kStartUp, 4}:
		return cStart4
	case kn{kEndMs, 4}, kn{kEndDelta, 4}, kn{kEndUp, 4}:
		return cEnd4
	case kn{kStartMs, 8}, kn{kStartDelta, 8}, kn{kStartUp, 8}:
		return cStart8
	case kn{kEndMs, 8}, kn{kEndDelta, 8}, kn{kEndUp, 8}:
		return cEnd8
	case kn{kStartSec, 4}:
		return cStartSec4
	case kn{kEndSec, 4}:
		return cEndSec4
	case kn{kStartNTP, 8}:
		return cStartNTP
	case kn{kEndNTP, 8}:
		return cEndNTP
	}
	return cGeneric
}

// specialise sets the code of each op of a fixed-length plan.
func (p *plan) specialise() {
	var src, dst int
	for _, o := range p.ops {
		switch o.kind {
		case kSrc4, kSrc6:
			src++
		case kDst4, kDst6:
			dst++
		}
	}
	for i := range p.ops {
		o := &p.ops[i]
		alone := dst == 1
		if o.kind == kSrc4 || o.kind == kSrc6 {
			alone = src == 1
		}
		o.code = fixedCode(o.kind, o.n, alone)
	}
}

// decodeFixed is decodeData for fixed-length templates, the hot path:
// the records are taken by stride, each built in place in out from base,
// its fields stored by specialised ops.
func (d *Decoder) decodeFixed(p *plan, data []byte, c *setCtx, base *flow.Record, out []flow.Record) ([]flow.Record, int, error) {
	recLen := p.recLen
	n := len(data) / recLen
	if n == 0 {
		return out, 0, nil
	}
	first := len(out)
	out = slices.Grow(out, n)[:first+n]
	recs := out[first:]
	if p.lay.ok && !d.noLayout {
		k := 0
		if len(data) >= recLen+layoutSlack {
			k = min(n, (len(data)-recLen-layoutSlack)/recLen+1)
			d.decodeLayout(p, data, c, base, recs[:k])
		}
		// The last records lack the slack: copied to a buffer that has it.
		var buf [256]byte
		if tail := data[k*recLen : n*recLen]; len(tail) > 0 && len(tail)+layoutSlack <= len(buf) {
			copy(buf[:], tail)
			d.decodeLayout(p, buf[:len(tail)+layoutSlack], c, base, recs[k:])
			return out, n, nil
		}
		data, recs = data[k*recLen:], recs[k:]
	}
	ops := p.ops
	for i := range recs {
		rec := data[i*recLen : (i+1)*recLen]
		r := &recs[i]
		*r = *base
		var v recVals
		for j := range ops {
			o := &ops[j]
			b := rec[o.off:]
			switch o.code {
			case cSrc4:
				put4(&r.SrcAddr, b)
			case cDst4:
				put4(&r.DstAddr, b)
			case cSrc6:
				put16(&r.SrcAddr, b)
			case cDst6:
				put16(&r.DstAddr, b)
			case cBytes8:
				r.Bytes = binary.BigEndian.Uint64(b)
			case cBytes4:
				r.Bytes = uint64(binary.BigEndian.Uint32(b))
			case cPackets8:
				r.Packets = binary.BigEndian.Uint64(b)
			case cPackets4:
				r.Packets = uint64(binary.BigEndian.Uint32(b))
			case cSrcPort2:
				r.SrcPort = binary.BigEndian.Uint16(b)
			case cDstPort2:
				r.DstPort = binary.BigEndian.Uint16(b)
			case cProto1:
				r.Proto = b[0]
			case cTCPFlags1:
				r.TCPFlags = b[0]
			case cTCPFlags2:
				r.TCPFlags = b[1]
			case cInIf4:
				r.InIf = binary.BigEndian.Uint32(b)
			case cInIf2:
				r.InIf = uint32(binary.BigEndian.Uint16(b))
			case cOutIf4:
				r.OutIf = binary.BigEndian.Uint32(b)
			case cOutIf2:
				r.OutIf = uint32(binary.BigEndian.Uint16(b))
			case cSrcAS4:
				r.SrcAS = binary.BigEndian.Uint32(b)
			case cSrcAS2:
				r.SrcAS = uint32(binary.BigEndian.Uint16(b))
			case cDstAS4:
				r.DstAS = binary.BigEndian.Uint32(b)
			case cDstAS2:
				r.DstAS = uint32(binary.BigEndian.Uint16(b))
			case cStart4:
				v.start = int64(binary.BigEndian.Uint32(b))
			case cEnd4:
				v.end = int64(binary.BigEndian.Uint32(b))
			case cStart8:
				v.start = int64(binary.BigEndian.Uint64(b))
			case cEnd8:
				v.end = int64(binary.BigEndian.Uint64(b))
			case cStartSec4:
				v.start = int64(binary.BigEndian.Uint32(b)) * 1000
			case cEndSec4:
				v.end = int64(binary.BigEndian.Uint32(b)) * 1000
			case cStartNTP:
				v.start = ntpMs(b)
			case cEndNTP:
				v.end = ntpMs(b)
			default:
				apply(r, &v, o.kind, b[:o.n])
			}
		}
		d.finish(r, &v, p, c)
	}
	return out, n, nil
}

// put4 stores the IPv4 address at the start of b in a, in its
// IPv4-mapped form (as flow.AddrFrom4Slice, with two 8-byte stores).
func put4(a *flow.Addr, b []byte) {
	binary.LittleEndian.PutUint64(a[:8], 0)
	binary.LittleEndian.PutUint64(a[8:], 0xffff<<16|uint64(binary.LittleEndian.Uint32(b))<<32)
}

// put16 stores the IPv6 address at the start of b in a.
func put16(a *flow.Addr, b []byte) {
	binary.LittleEndian.PutUint64(a[:8], binary.LittleEndian.Uint64(b))
	binary.LittleEndian.PutUint64(a[8:], binary.LittleEndian.Uint64(b[8:]))
}
