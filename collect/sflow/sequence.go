package sflow

import (
	"math/bits"

	"github.com/acd-org/acd/flow"
)

// seqSpan is how many sequence numbers a seqWindow remembers: a number is
// declared lost once seqSpan later ones have been seen.
const seqSpan = 256

// maxSeqJump is the largest forward jump counted as loss; a bigger one
// resets the window (spoofed or corrupt datagram, or state from another
// life of the agent).
const maxSeqJump = 1 << 20

// restartSlack is how far (ms) an agent's uptime may go backwards, through
// reordering, before the decoder takes it for a restart.
const restartSlack = 10_000

// seqWindow follows one sequence number space. Slot q%seqSpan of seen
// says whether q, the latest number of its residue in the window
// (high-seqSpan, high], has been seen.
type seqWindow struct {
	high  uint32
	fresh bool // the next number restarts the window
	seen  [seqSpan / 64]uint64
}

// reset starts the window at s, with every earlier number taken as seen.
func (w *seqWindow) reset(s uint32) {
	w.high, w.fresh = s, false
	for i := range w.seen {
		w.seen[i] = ^uint64(0)
	}
}

func (w *seqWindow) bit(q uint32) (word int, mask uint64) {
	p := q % seqSpan
	return int(p / 64), 1 << (p % 64)
}

// add records sequence number s and returns how many numbers fell out of
// the window unseen (lost), and whether s did not fit the window so that
// it was reset (a restart).
func (w *seqWindow) add(s uint32) (lost int, reset bool) {
	diff := int64(int32(s - w.high))
	switch {
	case w.fresh:
		w.reset(s)
		return 0, false
	case diff > maxSeqJump || diff <= -seqSpan:
		w.reset(s)
		return 0, true
	case diff <= 0: // late or duplicate
		i, m := w.bit(s)
		w.seen[i] |= m
		return 0, false
	case diff >= seqSpan:
		// Everything in the window leaves it, and diff-seqSpan numbers
		// never entered it.
		seen := 0
		for _, x := range w.seen {
			seen += bits.OnesCount64(x)
		}
		lost = seqSpan - seen + int(diff) - seqSpan
		for i := range w.seen {
			w.seen[i] = 0
		}
	default:
		for q := w.high + 1; q != s+1; q++ {
			i, m := w.bit(q)
			if w.seen[i]&m == 0 {
				lost++
			}
			w.seen[i] &^= m
		}
	}
	w.high = s
	i, m := w.bit(s)
	w.seen[i] |= m
	return lost, false
}

type agentKey struct {
	addr flow.Addr
	sub  uint32
}

// agent is the sequence state of one (agent address, sub-agent id).
type agent struct {
	uptime    uint32
	datagrams seqWindow
	sources   map[uint64]*seqWindow // by source type<<32 | index
}

// agentFor returns the state of an agent after its datagram (seq, uptime),
// detecting restarts.
func (d *Decoder) agentFor(k agentKey, seq, uptime uint32) *agent {
	a := d.agents[k]
	if a == nil {
		if len(d.agents) >= d.cfg.MaxAgents {
			for old := range d.agents {
				delete(d.agents, old)
				break
			}
		}
		a = &agent{uptime: uptime, sources: make(map[uint64]*seqWindow)}
		a.datagrams.reset(seq)
		d.agents[k] = a
		return a
	}
	_, restarted := a.datagrams.add(seq)
	back := int32(uptime - a.uptime)
	if back < -restartSlack {
		restarted = true
	}
	if restarted {
		a.datagrams.reset(seq)
		for _, w := range a.sources {
			w.fresh = true
		}
		a.uptime = uptime
	} else if back > 0 {
		a.uptime = uptime
	}
	return a
}

// sampleSequence accounts flow sample number seq of data source src.
func (d *Decoder) sampleSequence(s *state, src uint64, seq uint32) {
	w := s.lastWin
	if w == nil || s.lastSrc != src {
		a := s.agent
		w = a.sources[src]
		if w == nil {
			if len(a.sources) >= d.cfg.MaxSourcesPerAgent {
				for old := range a.sources {
					delete(a.sources, old)
					break
				}
			}
			w = new(seqWindow)
			w.reset(seq)
			a.sources[src] = w
			s.lastSrc, s.lastWin = src, w
			return
		}
		s.lastSrc, s.lastWin = src, w
	}
	lost, _ := w.add(seq)
	s.lost += lost
}
