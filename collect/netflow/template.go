package netflow

import (
	"bytes"
	"container/list"
	"encoding/binary"

	"github.com/acd-org/acd/flow"
)

// varLen is the field length that announces an IPFIX variable-length
// field.
const varLen = 0xffff

// tmplKey identifies a template within one exporter.
type tmplKey struct {
	domain uint32
	id     uint16
	ver    uint8
}

// fieldSpec is one field of a template as announced on the wire.
type fieldSpec struct {
	id    uint16 // information element id, enterprise bit cleared
	n     uint16 // length in bytes, or varLen
	pen   uint32 // enterprise number, 0 for IANA elements
	scope bool   // options template scope field
}

// template is a cached template with its decode plan.
type template struct {
	key     tmplKey
	exp     *exporter
	raw     []byte // the template record as received, to spot refreshes
	expires int64  // unix nanoseconds
	eElem   *list.Element
	gElem   *list.Element
	plan    plan
}

// parseTemplateV9 parses the template record at the start of b (a data
// template, or an options template if options is set) into d.specs. It
// returns the template id and the record's length.
func (d *Decoder) parseTemplateV9(b []byte, options bool) (uint16, int, error) {
	d.specs = d.specs[:0]
	if !options {
		if len(b) < 4 {
			return 0, 0, ErrBadTemplate
		}
		id, count := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		size := 4 + 4*count
		if count == 0 || count > d.cfg.MaxTemplateFields || len(b) < size {
			return id, 0, ErrBadTemplate
		}
		for i := 4; i < size; i += 4 {
			d.specs = append(d.specs, fieldSpec{id: binary.BigEndian.Uint16(b[i:]), n: binary.BigEndian.Uint16(b[i+2:])})
		}
		return id, size, nil
	}
	if len(b) < 6 {
		return 0, 0, ErrBadTemplate
	}
	id := binary.BigEndian.Uint16(b)
	scopeLen, optLen := int(binary.BigEndian.Uint16(b[2:])), int(binary.BigEndian.Uint16(b[4:]))
	size := 6 + scopeLen + optLen
	count := (scopeLen + optLen) / 4
	if scopeLen%4 != 0 || optLen%4 != 0 || count == 0 || count > d.cfg.MaxTemplateFields || len(b) < size {
		return id, 0, ErrBadTemplate
	}
	for i := 6; i < size; i += 4 {
		d.specs = append(d.specs, fieldSpec{
			id: binary.BigEndian.Uint16(b[i:]), n: binary.BigEndian.Uint16(b[i+2:]), scope: i < 6+scopeLen,
		})
	}
	return id, size, nil
}

// parseTemplateIPFIX parses the IPFIX (options) template record at the
// start of b into d.specs. It returns the template id and the record's
// length; no specs means a withdrawal.
func (d *Decoder) parseTemplateIPFIX(b []byte, options bool) (uint16, int, error) {
	d.specs = d.specs[:0]
	if len(b) < 4 {
		return 0, 0, ErrBadTemplate
	}
	id, count := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
	if count == 0 {
		return id, 4, nil
	}
	pos, scopes := 4, 0
	if options {
		if len(b) < 6 {
			return id, 0, ErrBadTemplate
		}
		scopes = int(binary.BigEndian.Uint16(b[4:]))
		pos = 6
		if scopes == 0 || scopes > count {
			return id, 0, ErrBadTemplate
		}
	}
	if count > d.cfg.MaxTemplateFields {
		return id, 0, ErrBadTemplate
	}
	for i := range count {
		if len(b) < pos+4 {
			return id, 0, ErrBadTemplate
		}
		f := fieldSpec{id: binary.BigEndian.Uint16(b[pos:]), n: binary.BigEndian.Uint16(b[pos+2:]), scope: i < scopes}
		pos += 4
		if f.id&0x8000 != 0 {
			if len(b) < pos+4 {
				return id, 0, ErrBadTemplate
			}
			f.id &^= 0x8000
			f.pen = binary.BigEndian.Uint32(b[pos:])
			pos += 4
		}
		d.specs = append(d.specs, f)
	}
	return id, pos, nil
}

// learnTemplate stores the template just parsed into d.specs from raw
// (refreshing it if it is unchanged) and returns it. Data sets held for
// it are decoded and appended to out.
func (d *Decoder) learnTemplate(e *exporter, key tmplKey, raw []byte, options bool, c *setCtx, out []flow.Record) ([]flow.Record, error) {
	expires := c.nowNs + int64(d.cfg.TemplateTTL)
	if t := e.templates[key]; t != nil {
		if bytes.Equal(t.raw, raw) && t.plan.options == options {
			t.expires = expires
			e.tmplLRU.MoveToBack(t.eElem)
			d.tmplLRU.MoveToBack(t.gElem)
			return out, nil
		}
		d.removeTemplate(e, t)
	}
	p, ok := buildPlan(d.specs, key.ver, options)
	if !ok {
		return out, ErrBadTemplate
	}
	for len(e.templates) >= d.cfg.MaxTemplatesPerExporter && e.tmplLRU.Len() > 0 {
		d.removeTemplate(e, e.tmplLRU.Front().Value.(*template))
		d.observe(e, flow.EventTemplateEvicted, 1)
	}
	for d.nTemplates >= d.cfg.MaxTemplates && d.tmplLRU.Len() > 0 {
		old := d.tmplLRU.Front().Value.(*template)
		d.removeTemplate(old.exp, old)
		d.observe(old.exp, flow.EventTemplateEvicted, 1)
	}
	t := &template{key: key, exp: e, raw: bytes.Clone(raw), expires: expires, plan: p}
	t.eElem = e.tmplLRU.PushBack(t)
	t.gElem = d.tmplLRU.PushBack(t)
	e.templates[key] = t
	d.nTemplates++
	d.observe(e, flow.EventTemplates, 1)
	if e.held.Len() > 0 {
		return d.releaseHeld(e, t, out), nil
	}
	return out, nil
}

// removeTemplate forgets t.
func (d *Decoder) removeTemplate(e *exporter, t *template) {
	if e.templates[t.key] != t {
		return
	}
	delete(e.templates, t.key)
	e.tmplLRU.Remove(t.eElem)
	d.tmplLRU.Remove(t.gElem)
	d.nTemplates--
	d.observe(e, flow.EventTemplates, -1)
}

// withdraw removes template id of domain dom, or all data (id 2) or
// options (id 3) templates of dom (IPFIX template withdrawal).
func (d *Decoder) withdraw(e *exporter, key tmplKey, options bool) error {
	if key.id >= 256 {
		if t := e.templates[key]; t != nil {
			d.removeTemplate(e, t)
		}
		return nil
	}
	if (!options && key.id != setTemplateIPFIX) || (options && key.id != setOptionsIPFIX) {
		return ErrBadTemplate
	}
	for k, t := range e.templates {
		if k.domain == key.domain && k.ver == key.ver && t.plan.options == options {
			d.removeTemplate(e, t)
		}
	}
	return nil
}

// lookup returns the live template for key, or nil.
func (d *Decoder) lookup(e *exporter, key tmplKey, nowNs int64) *template {
	t := e.templates[key]
	if t != nil && t.expires <= nowNs {
		d.removeTemplate(e, t)
		return nil
	}
	return t
}
