package nft

import (
	"errors"
	"github.com/acd-org/acd/flow"
	"net/netip"
	"slices"
	"sort"

	"github.com/acd-org/acd/enforce"
)

// errNotKnown: the fast path has no committed state to start from.
var errNotKnown = errors.New("nft: the table's contents are not known")

// fastChange brings the sets in line after the item(s) of prefixes
// ps changed, from what the adapter last committed and without reading
// the kernel: Apply and Withdraw cost one small batch even with many
// blocks. With one prefix it recomputes only the region of the widest
// wanted prefix around it (prefixes nest, so nothing outside that
// region changes); otherwise the whole sets. If the kernel drifted
// meanwhile the batch fails as a whole (a range to delete is gone, a
// range to add overlaps one added by hand) and the caller falls back to
// reconcile, which reads the table.
func (a *Adapter) fastChange(ps []netip.Prefix) error {
	if a.known == nil {
		return errNotKnown
	}
	ps = slices.Compact(ps)
	if len(ps) == 1 {
		if err := a.fastRegion(ps[0]); !errors.Is(err, errCrosses) {
			return a.fastFailed(err)
		}
	}
	st := &state{tableExists: true, setsOK: true, segs: a.known}
	_, err := a.apply(st)
	return a.fastFailed(err)
}

func (a *Adapter) fastFailed(err error) error {
	if err != nil {
		a.known = nil
		a.log.Debug("nft fast path failed, reading the table", "error", err)
	}
	return err
}

// errCrosses: a committed range crosses the region's edge (an outer
// block expired meanwhile); the region cannot be changed alone.
var errCrosses = errors.New("nft: a committed range crosses the region")

// fastRegion recomputes the ranges inside the widest wanted prefix
// containing p and sends the difference with the committed ones.
func (a *Adapter) fastRegion(p netip.Prefix) error {
	now := a.now()
	r := p
	for _, ws := range a.items {
		for _, w := range ws {
			if w.exp.After(now) && w.p.Bits() < r.Bits() && w.p.Contains(r.Addr()) {
				r = w.p
			}
		}
	}
	var in []want
	for _, ws := range a.items {
		for _, w := range ws {
			if w.exp.After(now) && w.p.Bits() >= r.Bits() && r.Contains(w.p.Addr()) {
				in = append(in, w)
			}
		}
	}
	n := r.Addr().BitLen() / 8
	known := a.known[n]
	first, last := r.Addr(), flow.LastAddr(r)
	i := sort.Search(len(known), func(i int) bool { return known[i].to.Compare(first) >= 0 })
	j := sort.Search(len(known), func(j int) bool { return known[j].from.Compare(last) > 0 })
	old := known[i:j]
	if len(old) > 0 && (old[0].from.Compare(first) < 0 || old[len(old)-1].to.Compare(last) > 0) {
		return errCrosses
	}
	fresh := segments(in)
	var d enforce.Drift
	queued, err := a.diffSet(a.rs.set(n), old, fresh, now, &d, func(string, ...any) {})
	if err != nil {
		return err
	}
	if queued {
		if err := a.conn.Flush(); err != nil {
			return err
		}
		a.m.batches.Inc()
	}
	a.known[n] = slices.Concat(known[:i], fresh, known[j:])
	a.m.ranges.WithLabelValues(a.rs.set(n).Name).Set(float64(len(a.known[n])))
	return nil
}
