package bruteforce

import (
	"github.com/acd-org/acd/flow"
)

// key is one (source, destination, service) triple: the client that
// makes the attempts, the server they go to, the service.
type key struct {
	src, dst flow.Addr
	epoch    uint32 // key epoch of the pseudonyms (0 without)
	svc      uint8  // index in the service table
	pseudo   uint8  // pseudoSrc, pseudoDst: which of src, dst are pseudonyms
}

const (
	pseudoSrc = 1 << iota
	pseudoDst
)

// sample is one attempt record, compacted: the key holds the addresses,
// the protocol is TCP, the server port is the service's.
type sample struct {
	start, end int64
	packets    uint32 // as reported (unscaled), saturated
	bytes      uint32
	sampling   uint32
	sport      uint16
	dport      uint16
	flags      uint8
	class      flow.Class
}

const maxSamples = 3

// state is what the detector keeps per key: attempts and other
// connections per bucket over the last ringLen buckets, and totals for
// the evidence.
type state struct {
	head       int64 // newest bucket index with counts
	first      int64 // first attempt (ms)
	last       int64 // last attempt end (ms)
	seen       int64 // last record of the key (ms), for eviction
	pendFrom   int64 // bucket of the first attempt since the last finding
	attempts   [ringLen]uint16
	other      [ringLen]uint16 // sessions and large replies: evidence against
	total      uint32          // attempts since the key was created
	answered   uint32          // short replies from the server
	packets    uint64          // scaled packets over all attempts
	bytes      uint64          // scaled bytes over all attempts
	flagged    bool            // a finding was emitted and the key is still above threshold
	pending    bool            // attempts since the last finding
	nsamples   uint8
	hasAttempt bool
	samples    [maxSamples]sample
}

// before orders eviction: unflagged keys go first, then the least
// recently seen.
func before(a, b *state) bool {
	if a.flagged != b.flagged {
		return !a.flagged
	}
	return a.seen < b.seen
}

func sat16(x uint16) uint16 {
	if x == 0xffff {
		return x
	}
	return x + 1
}

func sat32(x uint64) uint32 {
	if x > 0xffffffff {
		return 0xffffffff
	}
	return uint32(x)
}

// slot moves the ring to bucket b if b is newer than the head and returns
// b's slot, or -1 when b is older than the ring holds.
func (s *state) slot(b int64) int {
	if b > s.head {
		if n := b - s.head; n >= ringLen {
			s.attempts, s.other = [ringLen]uint16{}, [ringLen]uint16{}
		} else {
			for j := s.head + 1; j <= b; j++ {
				s.attempts[j&(ringLen-1)], s.other[j&(ringLen-1)] = 0, 0
			}
		}
		s.head = b
	} else if b <= s.head-ringLen {
		return -1
	}
	return int(b & (ringLen - 1))
}

// window holds the sums behind a decision, over the buckets up to the
// head: the long window's attempts and other connections, and the most
// attempts in one bucket.
type window struct {
	attempts, other int
	peak            int
	active          int // buckets with attempts
	span            int // buckets from the first with attempts to the head
}

// sums adds up the last n buckets up to the head.
func (s *state) sums(n int) window {
	var w window
	for i := range n {
		j := (s.head - int64(i)) & (ringLen - 1)
		a := int(s.attempts[j])
		w.attempts += a
		w.other += int(s.other[j])
		if a > 0 {
			w.active++
			w.span = i + 1
		}
		w.peak = max(w.peak, a)
	}
	return w
}

// share is the attempts' share of the connections in the window.
func (w window) share() float64 {
	if w.attempts == 0 {
		return 0
	}
	return float64(w.attempts) / float64(w.attempts+w.other)
}

func (s *state) addSample(r *flow.Record) {
	if int(s.nsamples) >= maxSamples {
		return
	}
	s.samples[s.nsamples] = sample{
		start: r.Start, end: r.End, packets: sat32(r.Packets), bytes: sat32(r.Bytes),
		sampling: r.SamplingRate, sport: r.SrcPort, dport: r.DstPort, flags: r.TCPFlags, class: r.Class,
	}
	s.nsamples++
}
