package nft

import (
	"cmp"
	"fmt"
	"github.com/acd-org/acd/flow"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/nftables"

	"github.com/acd-org/acd/enforce"
)

// maxDetails is the number of repairs named in Drift.Details.
const maxDetails = 32

// reconcile reads the table and makes it hold what a.items wants.
func (a *Adapter) reconcile() (enforce.Drift, error) {
	st, err := a.inspect()
	if err != nil {
		return enforce.Drift{}, fmt.Errorf("nft: %w", err)
	}
	return a.apply(st)
}

// apply queues, in one batch, what turns st into what a.items wants and
// sends it; it returns the repairs counted.
func (a *Adapter) apply(st *state) (enforce.Drift, error) {
	now := a.now()
	var ws []want
	for _, w := range a.items {
		for _, x := range w {
			if x.exp.After(now) {
				ws = append(ws, x)
			}
		}
	}
	desired := map[int][]segment{}
	for _, s := range segments(ws) {
		n := s.from.BitLen() / 8
		desired[n] = append(desired[n], s)
	}
	var d enforce.Drift
	note := func(format string, args ...any) {
		if len(d.Details) < maxDetails {
			d.Details = append(d.Details, fmt.Sprintf(format, args...))
		}
	}
	queued := false
	if !st.tableExists || !st.setsOK {
		if st.tableExists {
			a.conn.DelTable(a.rs.table)
		}
		d.Changed++
		note("%s: table recreated", strings.Join(st.problems, ", "))
		for _, n := range []int{4, 16} {
			for _, s := range desired[n] {
				d.Missing++
				note("missing %s (%s)", s, s.comment())
			}
		}
		if err := a.rs.addTable(a.conn, encode(desired[4], now), encode(desired[16], now)); err != nil {
			return d, fmt.Errorf("nft: %w", err)
		}
		queued = true
	} else {
		queued = a.repairChains(st, &d, note)
		for _, n := range []int{4, 16} {
			q, err := a.diffSet(a.rs.set(n), st.segs[n], desired[n], now, &d, note)
			if err != nil {
				return d, fmt.Errorf("nft: %w", err)
			}
			queued = queued || q
		}
	}
	if !queued {
		a.known = desired
		return d, nil
	}
	if err := a.conn.Flush(); err != nil {
		a.known = nil
		return d, fmt.Errorf("nft: unable to update table inet %s: %w", a.rs.table.Name, err)
	}
	a.known = desired
	a.m.batches.Inc()
	a.m.ranges.WithLabelValues(Set4).Set(float64(len(desired[4])))
	a.m.ranges.WithLabelValues(Set6).Set(float64(len(desired[16])))
	return d, nil
}

// repairChains queues the re-creation of broken or missing chains and
// the deletion of chains on hooks no longer configured.
func (a *Adapter) repairChains(st *state, d *enforce.Drift, note func(string, ...any)) bool {
	for _, name := range slices.Concat(st.badChains, st.strayChains) {
		c := &nftables.Chain{Name: name, Table: a.rs.table}
		a.conn.FlushChain(c)
		a.conn.DelChain(c)
	}
	for _, c := range a.rs.chains {
		if slices.Contains(st.badChains, c.Name) || slices.Contains(st.missChains, c.Name) {
			a.rs.addChain(a.conn, c)
		}
	}
	n := len(st.badChains) + len(st.missChains) + len(st.strayChains)
	if n > 0 {
		d.Changed += n
		note("%s: chains repaired", strings.Join(st.problems, ", "))
	}
	return n > 0
}

type span struct{ from, to netip.Addr }

// diffSet queues the changes that turn set s from have into want:
// missing ranges added, extra ones deleted, and ranges whose expiry is
// off by more than expiryTolerance or whose comment differs rewritten.
func (a *Adapter) diffSet(s *nftables.Set, have, want []segment, now time.Time, d *enforce.Drift, note func(string, ...any)) (bool, error) {
	cur := make(map[span]segment, len(have))
	for _, h := range have {
		cur[span{h.from, h.to}] = h
	}
	var dels, adds []segment
	for _, w := range want {
		k := span{w.from, w.to}
		h, ok := cur[k]
		delete(cur, k)
		switch {
		case !ok:
			d.Missing++
			note("missing %s (%s)", w, w.comment())
			adds = append(adds, w)
		case h.exp.Sub(w.exp).Abs() > expiryTolerance || h.comment() != w.comment():
			d.Changed++
			note("changed %s (%s): expires %s, want %s", w, w.comment(),
				h.exp.UTC().Format(time.RFC3339), w.exp.UTC().Format(time.RFC3339))
			dels = append(dels, h)
			adds = append(adds, w)
		}
	}
	for _, h := range have {
		if _, ok := cur[span{h.from, h.to}]; ok {
			d.Extra++
			note("extra %s (%s)", h, cmp.Or(h.comment(), "no comment"))
			dels = append(dels, h)
		}
	}
	var delEls []nftables.SetElement
	for _, h := range dels {
		delEls = append(delEls, h.deleteElements()...)
	}
	if err := deleteElements(a.conn, s, delEls); err != nil {
		return false, err
	}
	if err := addElements(a.conn, s, encode(adds, now)); err != nil {
		return false, err
	}
	return len(dels)+len(adds) > 0, nil
}

// encode returns the elements adding segs.
func encode(segs []segment, now time.Time) []nftables.SetElement {
	els := make([]nftables.SetElement, 0, 2*len(segs))
	for _, s := range segs {
		els = append(els, s.elements(now)...)
	}
	return els
}

// seed rebuilds the items behind the kernel's ranges from their
// comments: each key gets the ranges naming it, as prefixes, expiring
// at the earliest of their expiries. Ranges whose comment was cut
// ("+N") or missing are kept under a "kernel:<range>" key, which only
// Sync removes.
func seed(segs map[int][]segment) map[string][]want {
	items := map[string][]want{}
	for _, n := range []int{4, 16} {
		for _, s := range segs[n] {
			keys := s.keys
			if len(keys) == 0 || strings.HasPrefix(keys[len(keys)-1], "+") {
				keys = append(slices.Clip(keys), "kernel:"+s.String())
			}
			for _, k := range keys {
				if strings.HasPrefix(k, "+") {
					continue
				}
				for _, p := range rangePrefixes(s.from, s.to) {
					items[k] = append(items[k], want{p: p, exp: s.exp, key: k})
				}
			}
		}
	}
	for k, ws := range items {
		exp := ws[0].exp
		for _, w := range ws {
			if w.exp.Before(exp) {
				exp = w.exp
			}
		}
		for i := range ws {
			ws[i].exp = exp
		}
		items[k] = ws
	}
	return items
}

// rangePrefixes returns the fewest prefixes covering exactly [from, to].
func rangePrefixes(from, to netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for from.IsValid() && from.Compare(to) <= 0 {
		bits := from.BitLen()
		for bits > 0 {
			p := netip.PrefixFrom(from, bits-1)
			if p.Masked().Addr() != from || flow.LastAddr(p).Compare(to) > 0 {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(from, bits)
		out = append(out, p)
		from = flow.LastAddr(p).Next()
	}
	return out
}
