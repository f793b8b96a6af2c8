package verify

import (
	"net/netip"
	"slices"

	"github.com/acd-org/acd/flow"
)

// match looks both clear endpoints of r up. Pseudonymized endpoints never
// match: targets are clear addresses.
func (v *Verifier) match(r *flow.Record, t *tally) {
	srcClear := r.Pseudo&flow.PseudoSrc == 0 && !r.SrcAddr.IsZero()
	if srcClear {
		v.lookup(r, r.SrcAddr, true, false, t)
	}
	if r.Pseudo&flow.PseudoDst == 0 && !r.DstAddr.IsZero() {
		v.lookup(r, r.DstAddr, false, srcClear, t)
	}
}

func (v *Verifier) lookup(r *flow.Record, a flow.Addr, atSrc, srcClear bool, t *tally) {
	if v.filter.maybeHost(a) {
		for _, w := range v.hosts[a] {
			v.hit(w, r, atSrc, srcClear, t)
		}
	}
	if v.nNets == 0 || !v.filter.maybeNet(a) {
		return
	}
	ip := a.Netip()
	n, ok := v.nets.Lookup(ip)
	for ok {
		for _, w := range n.ws {
			v.hit(w, r, atSrc, srcClear, t)
		}
		if n.pfx.Bits() == 0 {
			return
		}
		// Less specific watched prefixes holding ip count it too.
		_, n, ok = v.nets.LookupPrefixLPM(netip.PrefixFrom(ip, n.pfx.Bits()-1))
	}
}

func (v *Verifier) hit(w *watch, r *flow.Record, atSrc, srcClear bool, t *tally) {
	// A record with both ends in the target counts once, at its source
	// (except for rtbh, which only looks at destinations).
	if !atSrc && srcClear && !w.spec.dstOnly && w.contains(r.SrcAddr) {
		return
	}
	peer, ok := w.matches(r, atSrc)
	if !ok {
		return
	}
	if w.add(r, minuteOf(r.Start), peer) {
		t.matched++
	} else if minuteOf(r.Start) >= w.from {
		t.late++
	}
}

// indexLocked makes w's target findable by Consume (measurable types
// with an address or prefix target only).
func (v *Verifier) indexLocked(w *watch) {
	if w.indexed || !measurable(w.spec.typ) || !w.pfx.IsValid() {
		return
	}
	w.indexed = true
	if v.pseudonymous(w) {
		v.indexPseudoLocked(w)
	}
	if w.pfx.IsSingleIP() {
		a := flow.AddrFromNetip(w.pfx.Addr())
		v.hosts[a] = append(v.hosts[a], w)
		v.filter.addHost(a)
		return
	}
	v.filter.addPrefix(w.pfx)
	n, ok := v.nets.Get(w.pfx)
	if !ok {
		n = &pnode{pfx: w.pfx}
		v.nets.Insert(w.pfx, n)
		v.nNets++
	}
	n.ws = append(n.ws, w)
}

func (v *Verifier) unindexLocked(w *watch) {
	if !w.indexed {
		return
	}
	w.indexed = false
	if v.pseudonymous(w) {
		v.unindexPseudoLocked(w)
	}
	v.filter.stale++
	defer v.refilterLocked()
	del := func(ws []*watch) []*watch {
		return slices.DeleteFunc(slices.Clone(ws), func(x *watch) bool { return x == w })
	}
	if w.pfx.IsSingleIP() {
		a := flow.AddrFromNetip(w.pfx.Addr())
		if ws := del(v.hosts[a]); len(ws) > 0 {
			v.hosts[a] = ws
		} else {
			delete(v.hosts, a)
		}
		return
	}
	if n, ok := v.nets.Get(w.pfx); ok {
		if n.ws = del(n.ws); len(n.ws) == 0 {
			v.nets.Delete(w.pfx)
			v.nNets--
		}
	}
}

// refilterLocked rebuilds the filter once stale bits are many.
func (v *Verifier) refilterLocked() {
	if v.filter.stale <= len(v.watches)/4+64 {
		return
	}
	f := v.filter
	clear(f.hosts)
	clear(f.v4)
	clear(f.v6)
	clear(f.v648)
	f.v6wide, f.stale = false, 0
	for a := range v.hosts {
		f.addHost(a)
	}
	for p := range v.nets.All() {
		f.addPrefix(p)
	}
	v.filter = f
}
