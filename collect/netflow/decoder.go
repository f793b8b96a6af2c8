package netflow

import (
	"container/list"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/acd-org/acd/flow"
)

// Decode errors, by reason label. Decode returns these values (never
// wrapped) so that the collector can count them without allocating.
var (
	ErrShortHeader     = &flow.DecodeError{Reason: "short_header"}
	ErrBadVersion      = &flow.DecodeError{Reason: "bad_version"}
	ErrBadLength       = &flow.DecodeError{Reason: "bad_length"}
	ErrBadSetLength    = &flow.DecodeError{Reason: "bad_set_length"}
	ErrBadTemplate     = &flow.DecodeError{Reason: "bad_template"}
	ErrTruncatedRecord = &flow.DecodeError{Reason: "truncated_record"}
)

// Wire versions.
const (
	versionV5    = 5
	versionV9    = 9
	versionIPFIX = 10
)

// maxDomainsPerExporter bounds the observation domains (v9 source ids,
// IPFIX observation domains, v5 engines) tracked per exporter.
const maxDomainsPerExporter = 256

// Decoder decodes NetFlow v5, v9 and IPFIX datagrams. It keeps templates,
// sampling tables and sequence numbers per exporter. It is not safe for
// concurrent use.
type Decoder struct {
	cfg      Config
	obs      flow.Observer
	override map[flow.Addr]uint32

	exporters map[flow.Exporter]*exporter
	expLRU    list.List // *exporter, least recently heard first
	last      *exporter // cache of the last exporter looked up

	tmplLRU    list.List // *template, least recently refreshed first
	nTemplates int

	heldFIFO  list.List // *held, oldest first
	heldBytes int

	specs []fieldSpec // scratch for template parsing

	noLayout bool // tests: decode fixed-length records by ops only (the reference)
}

// exporter is the state kept for one exporter (address and port).
type exporter struct {
	key      flow.Exporter
	elem     *list.Element // in Decoder.expLRU
	format   flow.Format   // of the last datagram, for events
	lastSeen int64         // unix nanoseconds
	override uint32        // configured sampling rate, 0 if none
	rate     uint32        // last sampling rate learned from any domain

	templates map[tmplKey]*template
	tmplLRU   list.List // *template, least recently refreshed first
	held      list.List // *held, oldest first
	domains   map[uint64]*domain
	lastDom   *domain
	lastDomID uint64
}

// domain is the state of one observation domain of an exporter.
type domain struct {
	seq      seqState
	rate     uint32            // learned from options without a sampler id
	anyRate  uint32            // last learned from any sampler
	samplers map[uint64]uint32 // sampler or selector id -> rate
	ifs      *ifTable          // per-interface rates; nil until one is learned
	initMs   int64             // systemInitTimeMilliseconds
	hasInit  bool
}

// New returns a decoder. It does no I/O. Overrides whose key does not
// parse are ignored (Validate reports them).
func New(cfg Config, obs flow.Observer) *Decoder {
	if obs == nil {
		obs = flow.NopObserver{}
	}
	d := &Decoder{
		cfg:       cfg,
		obs:       obs,
		override:  make(map[flow.Addr]uint32, len(cfg.SamplingOverride)),
		exporters: make(map[flow.Exporter]*exporter),
	}
	for k, v := range cfg.SamplingOverride {
		if ip, err := netip.ParseAddr(k); err == nil && v > 0 {
			d.override[flow.AddrFromNetip(ip)] = v
		}
	}
	return d
}

// Decode implements flow.Decoder.
func (d *Decoder) Decode(pkt []byte, exp flow.Exporter, now time.Time, out []flow.Record) ([]flow.Record, flow.Format, error) {
	if len(pkt) < 2 {
		return out, flow.FormatUnknown, ErrShortHeader
	}
	switch binary.BigEndian.Uint16(pkt) {
	case versionV5:
		out, err := d.decodeV5(pkt, exp, now, out)
		return out, flow.FormatNetFlowV5, err
	case versionV9:
		out, err := d.decodeV9(pkt, exp, now, out)
		return out, flow.FormatNetFlowV9, err
	case versionIPFIX:
		out, err := d.decodeIPFIX(pkt, exp, now, out)
		return out, flow.FormatIPFIX, err
	}
	return out, flow.FormatUnknown, ErrBadVersion
}

// observe reports an event for e if delta is not zero.
func (d *Decoder) observe(e *exporter, ev flow.Event, delta int) {
	if delta != 0 {
		d.obs.Observe(e.key, e.format, ev, delta)
	}
}

// exporter returns the state of exp, creating it (and forgetting the
// least recently heard exporter past the bound) if needed.
func (d *Decoder) exporter(exp flow.Exporter, f flow.Format, now int64) *exporter {
	e := d.last
	if e == nil || e.key != exp {
		e = d.exporters[exp]
		if e == nil {
			e = d.newExporter(exp)
		}
		d.last = e
	}
	e.format = f
	e.lastSeen = now
	d.expLRU.MoveToBack(e.elem)
	return e
}

func (d *Decoder) newExporter(exp flow.Exporter) *exporter {
	for len(d.exporters) >= d.cfg.MaxExporters && d.expLRU.Len() > 0 {
		d.dropExporter(d.expLRU.Front().Value.(*exporter))
	}
	e := &exporter{
		key:       exp,
		override:  d.override[exp.Addr],
		templates: make(map[tmplKey]*template),
		domains:   make(map[uint64]*domain),
	}
	e.elem = d.expLRU.PushBack(e)
	d.exporters[exp] = e
	return e
}

// dropExporter forgets e with everything it holds.
func (d *Decoder) dropExporter(e *exporter) {
	for _, t := range e.templates {
		d.removeTemplate(e, t)
	}
	for e.held.Len() > 0 {
		d.dropHeld(e, e.held.Front().Value.(*held))
	}
	d.expLRU.Remove(e.elem)
	delete(d.exporters, e.key)
	if d.last == e {
		d.last = nil
	}
}

// domain returns the state of observation domain id of wire version ver.
func (d *Decoder) domain(e *exporter, ver uint8, id uint32) *domain {
	k := uint64(ver)<<32 | uint64(id)
	if e.lastDom != nil && e.lastDomID == k {
		return e.lastDom
	}
	dom := e.domains[k]
	if dom == nil {
		if len(e.domains) >= maxDomainsPerExporter {
			for k := range e.domains { // evict an arbitrary one
				delete(e.domains, k)
				break
			}
		}
		dom = &domain{}
		e.domains[k] = dom
	}
	e.lastDom, e.lastDomID = dom, k
	return dom
}

// Expire drops templates and held data sets past their TTL, flushes
// sequence gaps that are no longer expected to fill, and forgets
// exporters with nothing left that were not heard for a template TTL.
func (d *Decoder) Expire(now time.Time) {
	ns := now.UnixNano()
	for d.tmplLRU.Len() > 0 {
		t := d.tmplLRU.Front().Value.(*template)
		if t.expires > ns {
			break
		}
		d.removeTemplate(t.exp, t)
	}
	cutoff := ns - int64(d.cfg.WaitingTTL)
	for d.heldFIFO.Len() > 0 {
		h := d.heldFIFO.Front().Value.(*held)
		if h.at > cutoff {
			break
		}
		d.dropHeld(h.exp, h)
	}
	idle := ns - int64(max(d.cfg.TemplateTTL, d.cfg.WaitingTTL))
	for el := d.expLRU.Front(); el != nil; {
		e := el.Value.(*exporter)
		el = el.Next()
		lost := 0
		for _, dom := range e.domains {
			lost += dom.seq.flushOlder(ns - int64(reorderTime))
		}
		d.observe(e, flow.EventSequenceLost, lost)
		if e.lastSeen <= idle && len(e.templates) == 0 && e.held.Len() == 0 {
			d.dropExporter(e)
		}
	}
}
