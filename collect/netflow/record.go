package netflow

import (
	"encoding/binary"

	"github.com/acd-org/acd/flow"
)

// setCtx is what decoding a data set needs from its message.
type setCtx struct {
	format    flow.Format
	ver       uint8
	domain    uint32
	exportMs  int64  // export time from the message header, ms
	sysUptime uint32 // v9 header sysUptime, ms
	nowNs     int64  // receive time
	nowMs     int64
	lo, hi    int64 // plausible flow times, ms

	// Per data set: the sampling of records that say nothing themselves.
	dom     *domain
	rate    uint32
	rateSrc flow.SamplingSource
	ifs     *ifTable // the domain's interface rates; nil if none or overridden

	clamped int // records whose times were clamped
}

// init fills the receive-time fields of c.
func (c *setCtx) setNow(nowNs int64, cfg *Config) {
	c.nowNs = nowNs
	c.nowMs = nowNs / 1e6
	c.lo = c.nowMs - cfg.MaxFlowAge.Milliseconds()
	c.hi = c.nowMs + cfg.MaxClockSkew.Milliseconds()
}

// setSampling sets the sampling rate of records that carry no sampling
// field: override, then what the exporter said, then the default. Unless
// overridden, records of a domain with an interface table then look up
// their interfaces in it (c.ifs).
func (d *Decoder) setSampling(e *exporter, c *setCtx, said uint32) {
	c.ifs = nil
	if e.override == 0 && c.dom != nil {
		c.ifs = c.dom.ifs
	}
	switch {
	case e.override > 0:
		c.rate, c.rateSrc = e.override, flow.SamplingOverride
	case said > 0:
		c.rate, c.rateSrc = said, flow.SamplingExporter
	case d.cfg.SamplingDefault > 0:
		c.rate, c.rateSrc = d.cfg.SamplingDefault, flow.SamplingDefault
	default:
		c.rate, c.rateSrc = 1, flow.SamplingNone
	}
}

// saidRate returns the rate the exporter said for dom, 0 if none.
func saidRate(e *exporter, dom *domain) uint32 {
	switch {
	case dom.rate > 0:
		return dom.rate
	case dom.anyRate > 0:
		return dom.anyRate
	}
	return e.rate
}

// readRecord decodes the record of p at the start of data (which holds
// at least p.recLen bytes) into r and v. It returns the record's length,
// or 0 if a variable-length field runs past the end of data.
func readRecord(p *plan, data []byte, r *flow.Record, v *recVals) int {
	if !p.varLen {
		rec := data[:p.recLen]
		for _, o := range p.ops {
			apply(r, v, o.kind, rec[o.off:int(o.off)+int(o.n)])
		}
		return p.recLen
	}
	pos := 0
	for _, o := range p.ops {
		n := int(o.n)
		if o.n == varLen {
			if pos >= len(data) {
				return 0
			}
			n = int(data[pos])
			pos++
			if n == 255 {
				if pos+2 > len(data) {
					return 0
				}
				n = int(binary.BigEndian.Uint16(data[pos:]))
				pos += 2
			}
		}
		if n > len(data)-pos {
			return 0
		}
		if o.kind != kSkip {
			apply(r, v, o.kind, data[pos:pos+n])
		}
		pos += n
	}
	if pos == 0 {
		return 0 // all fields empty: no progress
	}
	return pos
}

// decodeData decodes the data set body data with template t and appends
// flows to out (options records update the exporter's state instead). It
// returns the number of records.
func (d *Decoder) decodeData(e *exporter, t *template, data []byte, c *setCtx, out []flow.Record) ([]flow.Record, int, error) {
	p := &t.plan
	if p.options {
		return out, d.decodeOptions(e, p, data, c), nil
	}
	base := flow.Record{
		Exporter:          e.key.Addr,
		ObservationDomain: c.domain,
		SamplingRate:      c.rate,
		SamplingSource:    c.rateSrc,
		Format:            c.format,
	}
	if !p.varLen {
		return d.decodeFixed(p, data, c, &base, out)
	}
	n := 0
	for len(data) >= p.recLen {
		out = append(out, base)
		r := &out[len(out)-1]
		var v recVals
		size := readRecord(p, data, r, &v)
		if size == 0 {
			return out[:len(out)-1], n, ErrTruncatedRecord
		}
		data = data[size:]
		d.finish(r, &v, p, c)
		n++
	}
	return out, n, nil
}

// decodeOptions learns from the options records in data and returns their
// number.
func (d *Decoder) decodeOptions(e *exporter, p *plan, data []byte, c *setCtx) int {
	n := 0
	for len(data) >= p.recLen {
		var r flow.Record
		var v recVals
		size := readRecord(p, data, &r, &v)
		if size == 0 {
			break
		}
		data = data[size:]
		d.learnOptions(e, c.dom, &v)
		n++
	}
	return n
}

// finish completes r from v: times, ICMP, sampling.
func (d *Decoder) finish(r *flow.Record, v *recVals, p *plan, c *setCtx) {
	c.setTimes(r, p, v)
	if p.hasICMP && v.hasICMPField && (r.Proto == 1 || r.Proto == 58) {
		r.SrcPort, r.DstPort = 0, v.icmp
	}
	if c.ifs != nil {
		c.ifRate(r)
	}
	if p.hasSampling && r.SamplingSource != flow.SamplingOverride {
		rate := v.rate()
		if rate == 0 && v.hasSampler && c.dom != nil {
			rate = c.dom.samplers[v.sampler]
		}
		if rate > 0 {
			r.SamplingRate, r.SamplingSource = rate, flow.SamplingExporter
		}
	}
}

// setTimes sets r's times from v's raw values (or the export time) and
// clamps them.
func (c *setCtx) setTimes(r *flow.Record, p *plan, v *recVals) {
	start, okS := c.timeOf(p.startSrc, v.start, v)
	end, okE := c.timeOf(p.endSrc, v.end, v)
	start, end = c.span(start, okS, end, okE)
	c.clampInto(r, start, end)
}

// span completes a flow's times when the record gave only one of them
// (a flow of one instant) or none (the export time).
func (c *setCtx) span(start int64, okS bool, end int64, okE bool) (int64, int64) {
	switch {
	case okS && okE:
	case okS:
		end = start
	case okE:
		start = end
	default:
		start, end = c.exportMs, c.exportMs
	}
	return start, end
}

// clampInto sets r's times to start and end, clamped to what is
// plausible: an end outside [lo, hi] becomes the receive time, a start
// outside [lo, end] becomes the end.
func (c *setCtx) clampInto(r *flow.Record, start, end int64) {
	clamped := false
	if end < c.lo || end > c.hi {
		end, clamped = c.nowMs, true
	}
	if start < c.lo || start > end {
		start, clamped = end, true
	}
	r.Start, r.End = start, end
	if clamped {
		c.clamped++
	}
}

// nonZero16 reports whether the 16 bytes of b are not all zero.
func nonZero16(b []byte) bool {
	return binary.LittleEndian.Uint64(b)|binary.LittleEndian.Uint64(b[8:16]) != 0
}

// timeOf converts the raw time value x from source src to ms since the
// epoch; it reports false if there is none.
func (c *setCtx) timeOf(src uint8, x int64, v *recVals) (int64, bool) {
	switch src {
	case srcAbs:
		return x, true
	case srcDelta:
		return c.exportMs - x/1000, true
	case srcUp:
		if c.ver == versionV9 {
			// Signed difference: survives the 49-day uptime wrap and flows
			// stamped slightly after the header.
			return c.exportMs - int64(int32(c.sysUptime-uint32(x))), true
		}
		switch {
		case v.hasInit:
			return v.init + x, true
		case c.dom != nil && c.dom.hasInit:
			return c.dom.initMs + x, true
		}
	}
	return 0, false
}
