package verify

import (
	"net/netip"
	"slices"

	"github.com/acd-org/acd/flow"
)

// rtbh targets are domestic hosts (inside the operator's prefixes), so in
// the screened stream they appear as pseudonyms, one per key epoch. When
// Deps.Pseudonymize is set, the verifier computes each rtbh target's
// pseudonym for every epoch it meets in the stream (at most maxEpochs at
// a time) and matches pseudonymized destinations against them.

// maxEpochs is how many key epochs the pseudonym index holds at a time.
const maxEpochs = 3

type pseudoKey struct {
	epoch uint32
	addr  flow.Addr
}

// pseudonymous reports whether w is matched by pseudonym: an rtbh watch
// of a host, with a pseudonymizer.
func (v *Verifier) pseudonymous(w *watch) bool {
	return v.deps.Pseudonymize != nil && w.spec.dstOnly && w.pfx.IsSingleIP()
}

// indexPseudoLocked adds w's pseudonyms for the known epochs.
func (v *Verifier) indexPseudoLocked(w *watch) {
	for _, e := range v.epochs {
		v.addPseudoLocked(w, e)
	}
	v.nPseudo++
}

func (v *Verifier) addPseudoLocked(w *watch, e uint32) {
	p, err := v.deps.Pseudonymize(w.pfx.Addr(), e)
	if err != nil {
		v.m.pseudoErrors.Inc()
		v.deps.Logger.Warn("verify cannot pseudonymize an rtbh target", "key", w.key, "epoch", e, "error", err.Error())
		return
	}
	k := pseudoKey{e, p}
	v.pseudo[k] = append(v.pseudo[k], w)
}

func (v *Verifier) unindexPseudoLocked(w *watch) {
	for k, ws := range v.pseudo {
		if ws = slices.DeleteFunc(slices.Clone(ws), func(x *watch) bool { return x == w }); len(ws) > 0 {
			v.pseudo[k] = ws
		} else {
			delete(v.pseudo, k)
		}
	}
	v.nPseudo--
}

// learnEpoch adds epoch e to the pseudonym index (dropping the oldest
// beyond maxEpochs). Observe calls it, holding the read lock, when a
// record of an unknown epoch arrives; it trades the read lock for the
// write lock and back.
func (v *Verifier) learnEpoch(e uint32) {
	v.mu.RUnlock()
	defer v.mu.RLock()
	v.mu.Lock()
	defer v.mu.Unlock()
	if slices.Contains(v.epochs, e) || v.nPseudo == 0 {
		return
	}
	if len(v.epochs) == maxEpochs {
		old := slices.Min(v.epochs)
		if e < old {
			return // older than every epoch held: a straggler
		}
		v.epochs = slices.DeleteFunc(v.epochs, func(x uint32) bool { return x == old })
		for k := range v.pseudo {
			if k.epoch == old {
				delete(v.pseudo, k)
			}
		}
	}
	v.epochs = append(v.epochs, e)
	for _, w := range v.watches {
		if w.indexed && v.pseudonymous(w) {
			v.addPseudoLocked(w, e)
		}
	}
}

// knownEpoch reports whether the pseudonym index has epoch e.
func (v *Verifier) knownEpoch(e uint32) bool {
	return slices.Contains(v.epochs, e)
}

// matchPseudo counts r, whose destination is a pseudonym, for the rtbh
// watches of that pseudonym.
func (v *Verifier) matchPseudo(r *flow.Record, t *tally) {
	for _, w := range v.pseudo[pseudoKey{r.KeyEpoch, r.DstAddr}] {
		v.hit(w, r, false, false, t)
	}
}

// Pseudonymizer returns the pseudonym of a domestic address under a key
// epoch, as the screening stage writes it into records (package
// minimize). Only rtbh targets are ever passed.
type Pseudonymizer func(a netip.Addr, epoch uint32) (flow.Addr, error)
