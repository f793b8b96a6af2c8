package netflow

import (
	"encoding/binary"
	"time"

	"github.com/acd-org/acd/flow"
)

// Set ids.
const (
	setTemplateV9    = 0
	setOptionsV9     = 1
	setTemplateIPFIX = 2
	setOptionsIPFIX  = 3
	minDataSetID     = 256
)

const (
	v9HeaderLen    = 20
	ipfixHeaderLen = 16
	// Forward sequence jumps beyond these are taken as restarts: v9
	// counts datagrams, IPFIX data records.
	v9MaxJump    = 1 << 16
	ipfixMaxJump = 1 << 22
)

// decodeV9 decodes a NetFlow v9 datagram.
func (d *Decoder) decodeV9(pkt []byte, exp flow.Exporter, now time.Time, out []flow.Record) ([]flow.Record, error) {
	if len(pkt) < v9HeaderLen {
		return out, ErrShortHeader
	}
	var c setCtx
	c.format, c.ver = flow.FormatNetFlowV9, versionV9
	c.sysUptime = binary.BigEndian.Uint32(pkt[4:])
	c.exportMs = int64(binary.BigEndian.Uint32(pkt[8:])) * 1000
	seq := binary.BigEndian.Uint32(pkt[12:])
	c.domain = binary.BigEndian.Uint32(pkt[16:])
	c.setNow(now.UnixNano(), &d.cfg)
	e := d.exporter(exp, c.format, c.nowNs)
	c.dom = d.domain(e, c.ver, c.domain)
	lost := c.dom.seq.update(seq, 1, true, v9MaxJump, c.nowNs)
	out, _, err := d.walkSets(e, pkt[v9HeaderLen:], &c, out)
	d.observe(e, flow.EventSequenceLost, lost)
	d.observe(e, flow.EventTimeClamped, c.clamped)
	return out, err
}

// decodeIPFIX decodes an IPFIX message.
func (d *Decoder) decodeIPFIX(pkt []byte, exp flow.Exporter, now time.Time, out []flow.Record) ([]flow.Record, error) {
	if len(pkt) < ipfixHeaderLen {
		return out, ErrShortHeader
	}
	var lenErr error
	length := int(binary.BigEndian.Uint16(pkt[2:]))
	switch {
	case length < ipfixHeaderLen:
		return out, ErrBadLength
	case length > len(pkt):
		lenErr = ErrBadLength
	default:
		pkt = pkt[:length]
	}
	var c setCtx
	c.format, c.ver = flow.FormatIPFIX, versionIPFIX
	c.exportMs = int64(binary.BigEndian.Uint32(pkt[4:])) * 1000
	seq := binary.BigEndian.Uint32(pkt[8:])
	c.domain = binary.BigEndian.Uint32(pkt[12:])
	c.setNow(now.UnixNano(), &d.cfg)
	e := d.exporter(exp, c.format, c.nowNs)
	c.dom = d.domain(e, c.ver, c.domain)
	out, n, err := d.walkSets(e, pkt[ipfixHeaderLen:], &c, out)
	if err == nil {
		err = lenErr
	}
	known := n.known && err == nil
	lost := c.dom.seq.updateIPFIX(seq, uint32(n.flows), uint32(n.flows+n.options), known, c.nowNs)
	d.observe(e, flow.EventSequenceLost, lost)
	d.observe(e, flow.EventTimeClamped, c.clamped)
	return out, err
}

// setCounts counts the data records of a message.
type setCounts struct {
	flows, options int
	known          bool // false if a data set could not be counted
}

// walkSets decodes the sets of a v9 or IPFIX message body and counts its
// data records. It skips sets with a reserved id, goes on past a bad
// template, and stops at a bad set length; it returns the first error.
// Zero bytes after the last set are padding: some exporters pad every
// datagram to a fixed size.
func (d *Decoder) walkSets(e *exporter, body []byte, c *setCtx, out []flow.Record) ([]flow.Record, setCounts, error) {
	var first error
	note := func(err error) {
		if first == nil {
			first = err
		}
	}
	tmplID, optID := uint16(setTemplateIPFIX), uint16(setOptionsIPFIX)
	if c.ver == versionV9 {
		tmplID, optID = setTemplateV9, setOptionsV9
	}
	n := setCounts{known: true}
	for len(body) > 0 {
		if len(body) < 4 {
			if !allZero(body) {
				note(ErrBadSetLength)
			}
			break
		}
		id, length := binary.BigEndian.Uint16(body), int(binary.BigEndian.Uint16(body[2:]))
		if length < 4 || length > len(body) {
			if length == 0 && allZero(body) {
				break // the datagram padded with zeros to a fixed size
			}
			note(ErrBadSetLength)
			n.known = false
			break
		}
		set := body[4:length]
		body = body[length:]
		var err error
		switch {
		case id == tmplID || id == optID:
			out, err = d.templateSet(e, set, id == optID, c, out)
		case id >= minDataSetID:
			key := tmplKey{domain: c.domain, id: id, ver: c.ver}
			t := d.lookup(e, key, c.nowNs)
			if t == nil {
				d.hold(e, key, c, set)
				n.known = false
				continue
			}
			d.setSampling(e, c, saidRate(e, c.dom))
			var k int
			out, k, err = d.decodeData(e, t, set, c, out)
			if t.plan.options {
				n.options += k
			} else {
				n.flows += k
			}
			if err != nil {
				n.known = false
			} else if k == 0 && len(set) > 0 && !allZero(set) {
				err = ErrTruncatedRecord
			}
		default: // reserved set id: skipped by length
			d.observe(e, flow.EventSkipped, 1)
		}
		if err != nil {
			note(err)
		}
	}
	return out, n, first
}

// templateSet learns the templates of a (options) template set body.
func (d *Decoder) templateSet(e *exporter, set []byte, options bool, c *setCtx, out []flow.Record) ([]flow.Record, error) {
	for len(set) >= 4 && !allZero(set) {
		var id uint16
		var size int
		var err error
		if c.ver == versionV9 {
			id, size, err = d.parseTemplateV9(set, options)
		} else {
			id, size, err = d.parseTemplateIPFIX(set, options)
		}
		if err != nil {
			return out, err // the rest of the set cannot be delimited
		}
		raw := set[:size]
		set = set[size:]
		key := tmplKey{domain: c.domain, id: id, ver: c.ver}
		switch {
		case len(d.specs) == 0:
			err = d.withdraw(e, key, options)
		case id < minDataSetID:
			err = ErrBadTemplate
		default:
			out, err = d.learnTemplate(e, key, raw, options, c, out)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// allZero reports whether b holds only zero bytes (padding).
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
