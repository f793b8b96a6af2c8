package netflow

import (
	"encoding/binary"
	"time"

	"github.com/acd-org/acd/flow"
)

const (
	v5HeaderLen = 24
	v5RecordLen = 48
	// v5MaxJump is the forward sequence jump (in flows) taken as a
	// restart rather than loss.
	v5MaxJump = 1 << 20
)

// decodeV5 decodes a NetFlow v5 datagram.
func (d *Decoder) decodeV5(pkt []byte, exp flow.Exporter, now time.Time, out []flow.Record) ([]flow.Record, error) {
	if len(pkt) < v5HeaderLen {
		return out, ErrShortHeader
	}
	count := int(binary.BigEndian.Uint16(pkt[2:]))
	sysUptime := binary.BigEndian.Uint32(pkt[4:])
	secs := int64(binary.BigEndian.Uint32(pkt[8:]))
	nsecs := int64(binary.BigEndian.Uint32(pkt[12:]))
	seq := binary.BigEndian.Uint32(pkt[16:])
	engine := uint32(binary.BigEndian.Uint16(pkt[20:])) // engine type << 8 | engine id
	interval := uint32(binary.BigEndian.Uint16(pkt[22:]) & 0x3fff)

	var err error
	body := pkt[v5HeaderLen:]
	if n := len(body) / v5RecordLen; n < count {
		count, err = n, ErrTruncatedRecord
	}
	nowNs := now.UnixNano()
	e := d.exporter(exp, flow.FormatNetFlowV5, nowNs)
	var c setCtx
	c.setNow(nowNs, &d.cfg)
	c.exportMs = secs*1000 + nsecs/1e6
	d.setSampling(e, &c, interval)
	base := flow.Record{
		Exporter:          exp.Addr,
		ObservationDomain: engine,
		SamplingRate:      c.rate,
		SamplingSource:    c.rateSrc,
		Format:            flow.FormatNetFlowV5,
	}
	for i := range count {
		b := body[i*v5RecordLen : (i+1)*v5RecordLen]
		out = append(out, base)
		r := &out[len(out)-1]
		r.SrcAddr = flow.AddrFrom4Slice(b[0:4])
		r.DstAddr = flow.AddrFrom4Slice(b[4:8])
		r.InIf = uint32(binary.BigEndian.Uint16(b[12:]))
		r.OutIf = uint32(binary.BigEndian.Uint16(b[14:]))
		r.Packets = uint64(binary.BigEndian.Uint32(b[16:]))
		r.Bytes = uint64(binary.BigEndian.Uint32(b[20:]))
		first, last := binary.BigEndian.Uint32(b[24:]), binary.BigEndian.Uint32(b[28:])
		r.SrcPort = binary.BigEndian.Uint16(b[32:])
		r.DstPort = binary.BigEndian.Uint16(b[34:])
		r.TCPFlags = b[37]
		r.Proto = b[38]
		r.SrcAS = uint32(binary.BigEndian.Uint16(b[40:]))
		r.DstAS = uint32(binary.BigEndian.Uint16(b[42:]))
		start := c.exportMs - int64(int32(sysUptime-first))
		end := c.exportMs - int64(int32(sysUptime-last))
		c.clampInto(r, start, end)
	}
	d.observe(e, flow.EventTimeClamped, c.clamped)
	dom := d.domain(e, versionV5, engine)
	d.observe(e, flow.EventSequenceLost, dom.seq.update(seq, uint32(count), err == nil, v5MaxJump, nowNs))
	return out, err
}
