package netflow

import "time"

// Sequence tracking. Each protocol numbers something else: v5 counts
// flows, v9 export packets, IPFIX data records. A forward jump opens a
// gap; a late datagram that falls in a gap fills it; a gap still open
// after reorderPackets datagrams (or reorderTime, at Expire) is counted as
// lost. A backward jump outside any gap is a duplicate, or a restart if
// the next datagram continues from it; a forward jump beyond the
// format's limit is a restart. Neither is counted.
const (
	reorderPackets = 64
	reorderTime    = 10 * time.Second
	maxGaps        = 8
)

// IPFIX sequence semantics seen in the wild: RFC 7011 counts the data
// records sent before the message; softflowd counts those sent up to and
// including it; some leave options records out.
const (
	ipfixPrior = iota
	ipfixPriorFlows
	ipfixAfter
	ipfixAfterFlows
	numIPFIXModes
	maxModeScore = 16
)

// seqState is the sequence tracking of one observation domain.
type seqState struct {
	// IPFIX: the previous message and how well each semantics fits.
	prevSeq, prevFlows, prevAll uint32
	prevKnown                   bool
	mode                        uint8
	score                       [numIPFIXModes]uint8

	next    uint32 // expected next sequence number
	valid   bool   // next is known
	cand    uint32 // expected next number if the last backward jump was a restart
	hasCand bool
	packets uint32 // datagrams seen, to age gaps
	ngaps   int
	gaps    [maxGaps]seqGap
}

// seqGap is a range of missing sequence numbers [lo, hi).
type seqGap struct {
	lo, hi  uint32
	packets uint32 // seqState.packets when opened
	at      int64  // unix nanoseconds when opened
}

// update accounts for a datagram with sequence number seq carrying n
// sequence units (known reports whether n is known) received at nowNs,
// and returns the units found lost.
func (s *seqState) update(seq, n uint32, known bool, maxJump uint32, nowNs int64) int {
	s.packets++
	lost := s.flushAged() + s.step(seq, n, maxJump, nowNs)
	if !known {
		s.valid = false // the next datagram re-synchronizes
	}
	return lost
}

// updateIPFIX is update for an IPFIX message carrying flows flow
// records and all data records, learning which semantics the exporter's
// sequence numbers follow from consecutive messages.
func (s *seqState) updateIPFIX(seq, flows, all uint32, known bool, nowNs int64) int {
	if known && s.prevKnown {
		fits := [numIPFIXModes]bool{
			ipfixPrior:      seq == s.prevSeq+s.prevAll,
			ipfixPriorFlows: seq == s.prevSeq+s.prevFlows,
			ipfixAfter:      seq == s.prevSeq+all,
			ipfixAfterFlows: seq == s.prevSeq+flows,
		}
		if fits != [numIPFIXModes]bool{} {
			best := uint8(0)
			for m, ok := range fits {
				switch {
				case ok && s.score[m] < maxModeScore:
					s.score[m]++
				case !ok && s.score[m] > 0:
					s.score[m]--
				}
				if s.score[m] > s.score[best] {
					best = uint8(m)
				}
			}
			if best != s.mode {
				s.mode, s.valid = best, false // re-synchronize under the new semantics
			}
		}
	}
	s.prevSeq, s.prevFlows, s.prevAll, s.prevKnown = seq, flows, all, known
	n := all
	if s.mode == ipfixPriorFlows || s.mode == ipfixAfterFlows {
		n = flows
	}
	if s.mode >= ipfixAfter {
		seq -= n
	}
	return s.update(seq, n, known, ipfixMaxJump, nowNs)
}

// step moves the expected sequence number on and returns the units
// counted lost.
func (s *seqState) step(seq, n, maxJump uint32, nowNs int64) int {
	if !s.valid {
		s.next, s.valid, s.hasCand = seq+n, true, false
		return 0
	}
	lost := 0
	diff := int32(seq - s.next)
	switch {
	case diff == 0:
		s.next, s.hasCand = seq+n, false
	case diff > 0 && uint32(diff) <= maxJump:
		lost += s.addGap(s.next, seq, nowNs)
		s.next, s.hasCand = seq+n, false
	case diff > 0:
		lost += s.flushAll()
		s.next, s.hasCand = seq+n, false
	case diff < 0:
		l, ok := s.fill(seq, n)
		lost += l
		if ok {
			break
		}
		if s.hasCand && s.cand == seq {
			lost += s.flushAll()
			s.next, s.hasCand = seq+n, false
		} else {
			s.cand, s.hasCand = seq+n, true
		}
	}
	return lost
}

// addGap opens the gap [lo, hi), counting the oldest gap if all slots are
// taken.
func (s *seqState) addGap(lo, hi uint32, nowNs int64) int {
	lost := 0
	if s.ngaps == maxGaps {
		lost = s.countGap(0)
	}
	s.gaps[s.ngaps] = seqGap{lo: lo, hi: hi, packets: s.packets, at: nowNs}
	s.ngaps++
	return lost
}

// countGap removes gap i and returns its size.
func (s *seqState) countGap(i int) int {
	n := int(s.gaps[i].hi - s.gaps[i].lo)
	copy(s.gaps[i:], s.gaps[i+1:s.ngaps])
	s.ngaps--
	return n
}

// fill removes [seq, seq+n) from the gap holding it and reports whether
// one did, and the units it had to count lost for want of a free slot.
func (s *seqState) fill(seq, n uint32) (lost int, ok bool) {
	for i := 0; i < s.ngaps; i++ {
		g := &s.gaps[i]
		if seq-g.lo >= g.hi-g.lo { // seq outside [lo, hi), wrap-safe
			continue
		}
		end := seq + n
		if end-g.lo > g.hi-g.lo {
			end = g.hi // the datagram overlaps the gap's end: clip
		}
		switch {
		case seq == g.lo:
			g.lo = end
		case end == g.hi:
			g.hi = seq
		case s.ngaps < maxGaps: // split
			copy(s.gaps[i+2:s.ngaps+1], s.gaps[i+1:s.ngaps])
			s.gaps[i+1] = seqGap{lo: end, hi: g.hi, packets: g.packets, at: g.at}
			g.hi = seq
			s.ngaps++
		default: // no slot to split: keep the larger side, count the other
			if seq-g.lo >= g.hi-end {
				lost, g.hi = int(g.hi-end), seq
			} else {
				lost, g.lo = int(seq-g.lo), end
			}
		}
		if g.lo == g.hi {
			s.countGap(i)
		}
		return lost, true
	}
	return 0, false
}

// flushAged counts the gaps older than reorderPackets datagrams.
func (s *seqState) flushAged() int {
	lost := 0
	for s.ngaps > 0 && s.packets-s.gaps[0].packets > reorderPackets {
		lost += s.countGap(0)
	}
	return lost
}

// flushOlder counts the gaps opened before ns.
func (s *seqState) flushOlder(ns int64) int {
	lost := 0
	for s.ngaps > 0 && s.gaps[0].at < ns {
		lost += s.countGap(0)
	}
	return lost
}

// flushAll counts every open gap.
func (s *seqState) flushAll() int {
	lost := 0
	for s.ngaps > 0 {
		lost += s.countGap(0)
	}
	return lost
}
