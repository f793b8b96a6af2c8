package reflection

import (
	"github.com/acd-org/acd/detect"
)

// reset starts window ws for v: counts and sketch are cleared; first,
// last and the alarm mark stay.
func (v *victim) reset(ws int64) {
	*v = victim{ws: ws, first: v.first, last: v.last, hot: v.hot}
}

// roll moves v to the newer window ws before its current window was
// closed by Advance (records of the next window arrived first): the old
// window closes now, for this key.
func (d *Detector) roll(vk vkey, v *victim, ws int64, emit detect.Emit) {
	if v.hot == v.ws && v.dirty {
		d.emitVictim(vk, v, emit)
	}
	v.reset(ws)
}

// Advance implements detect.Detector: once per window boundary, it closes
// the windows that ended at or before wm (final findings for the victims
// that alarmed in them), drops the victims and reflectors not seen for
// Memory, and marks earlier records as late.
func (d *Detector) Advance(wm int64, emit detect.Emit) {
	o := detect.WindowStart(wm, d.w) // the first window still open
	if o <= d.open {
		return
	}
	d.open = o
	d.lastV = nil
	cut := wm - d.memory
	d.victims.Range(func(k vkey, v *victim) bool {
		if v.ws >= o {
			return true
		}
		if v.hot == v.ws && v.dirty {
			d.emitVictim(k, v, emit)
		}
		if v.last < cut {
			d.victims.Delete(k)
			return true
		}
		v.reset(o)
		return true
	})
	d.refls.Range(func(k rkey, e *reflector) bool {
		if e.last < cut {
			d.refls.Delete(k)
		}
		return true
	})
}

// Flush implements detect.Detector: every open window closes (final
// findings for the victims that alarmed in it) and the state is dropped.
func (d *Detector) Flush(emit detect.Emit) {
	d.lastV = nil
	d.victims.Range(func(k vkey, v *victim) bool {
		if v.hot == v.ws && v.dirty {
			d.emitVictim(k, v, emit)
		}
		return true
	})
	d.victims.Reset()
	d.refls.Reset()
}
