package netflow

import (
	"bytes"
	"container/list"

	"github.com/acd-org/acd/flow"
)

// held is a data set waiting for its template.
type held struct {
	exp   *exporter
	key   tmplKey
	ctx   setCtx
	data  []byte
	at    int64         // unix nanoseconds when received
	eElem *list.Element // in exporter.held
	gElem *list.Element // in Decoder.heldFIFO
}

// hold keeps a copy of the data set body data until the template key
// arrives, dropping the oldest held sets past the bounds.
func (d *Decoder) hold(e *exporter, key tmplKey, c *setCtx, data []byte) {
	if d.cfg.MaxWaitingPerExporter == 0 || len(data) > d.cfg.MaxWaitingBytes {
		d.observe(e, flow.EventWaitingDropped, 1)
		return
	}
	for e.held.Len() >= d.cfg.MaxWaitingPerExporter {
		d.dropHeld(e, e.held.Front().Value.(*held))
	}
	for d.heldBytes+len(data) > d.cfg.MaxWaitingBytes && d.heldFIFO.Len() > 0 {
		h := d.heldFIFO.Front().Value.(*held)
		d.dropHeld(h.exp, h)
	}
	h := &held{exp: e, key: key, ctx: *c, data: bytes.Clone(data), at: c.nowNs}
	h.ctx.dom, h.ctx.clamped = nil, 0
	h.eElem = e.held.PushBack(h)
	h.gElem = d.heldFIFO.PushBack(h)
	d.heldBytes += len(data)
	d.observe(e, flow.EventWaiting, 1)
}

// unhold forgets h.
func (d *Decoder) unhold(e *exporter, h *held) {
	e.held.Remove(h.eElem)
	d.heldFIFO.Remove(h.gElem)
	d.heldBytes -= len(h.data)
	d.observe(e, flow.EventWaiting, -1)
}

// dropHeld gives h up.
func (d *Decoder) dropHeld(e *exporter, h *held) {
	d.unhold(e, h)
	d.observe(e, flow.EventWaitingDropped, 1)
}

// releaseHeld decodes the data sets held for template t and appends
// their records to out. Sets that turn out malformed are counted as
// dropped.
func (d *Decoder) releaseHeld(e *exporter, t *template, out []flow.Record) []flow.Record {
	for el := e.held.Front(); el != nil; {
		h := el.Value.(*held)
		el = el.Next()
		if h.key != t.key {
			continue
		}
		d.unhold(e, h)
		c := h.ctx
		c.dom = d.domain(e, c.ver, c.domain)
		d.setSampling(e, &c, saidRate(e, c.dom))
		var err error
		out, _, err = d.decodeData(e, t, h.data, &c, out)
		if err != nil {
			d.observe(e, flow.EventWaitingDropped, 1)
		}
		d.observe(e, flow.EventTimeClamped, c.clamped)
	}
	return out
}
