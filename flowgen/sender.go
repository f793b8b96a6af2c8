package flowgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acd-org/acd/flow"
)

// Writer takes export datagrams: UDPWriter sends them, PcapWriter stores
// them in a capture file.
type Writer interface {
	// WriteBatch writes pkts, sent at now, and returns how many of them
	// were dropped without being written (for example refused by the
	// kernel because nothing listens). It does not retain pkts. An error
	// is fatal: the sender stops.
	WriteBatch(pkts [][]byte, now time.Time) (dropped int, err error)
}

// SendConfig configures Send. The zero value sends as fast as possible
// until the context is cancelled.
type SendConfig struct {
	// Rate is the target in records per second (0: as fast as possible).
	// It is held on average with a token bucket: the sender sleeps in
	// slices of about a millisecond or a batch, not per datagram.
	Rate float64
	// Duration and Count stop the sender after that long or that many
	// records (0: no limit). With Count the last datagram may be short.
	Duration time.Duration
	Count    uint64
	// Ring pre-encodes this many data datagrams and replays them, patching
	// only sequence numbers and times (Encoder.Patch): the fastest mode,
	// at the cost of repeating the same records. 0 encodes every datagram
	// from fresh records. At least Batch when set.
	Ring int
	// Batch is the number of datagrams per write (one sendmmsg; default 64).
	Batch int
	// Virtual paces on a virtual clock that starts at Start and advances
	// by 1/Rate per record (1 µs per record when Rate is 0) instead of
	// sleeping: for writing pcap files with realistic, reproducible
	// timestamps. Datagrams are then written one at a time.
	Virtual bool
	// Start is the virtual clock's start (default: now).
	Start time.Time
	// Progress, when set, is called with the running totals about every
	// ProgressEvery (default 1s) of real time.
	Progress      func(Stats)
	ProgressEvery time.Duration
	// Now and Sleep replace the real clock (tests); Sleep returns early
	// with the context's error.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Stats are a sender's totals. Datagrams and records count what was handed
// to the writer; Dropped of those datagrams were refused by it.
type Stats struct {
	Records   uint64
	Packets   uint64 // datagrams, templates included
	Templates uint64 // template datagrams
	Bytes     uint64 // UDP payload bytes
	Dropped   uint64
	Elapsed   time.Duration
}

// RecordRate returns the achieved records per second.
func (s Stats) RecordRate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Records) / s.Elapsed.Seconds()
}

const (
	recChunk    = 256
	burstWindow = 100 * time.Millisecond
	slice       = 2 * time.Millisecond
)

// Send exports records from src through enc to w until the count or
// duration is reached, src runs out, or ctx is cancelled (then it returns
// the totals with ctx's error).
func Send(ctx context.Context, cfg SendConfig, enc Encoder, src Source, w Writer) (Stats, error) {
	s := newSender(cfg, enc, src, w)
	return s.run(ctx)
}

type sender struct {
	cfg     SendConfig
	enc     Encoder
	src     Source
	w       Writer
	st      Stats
	recs    []flow.Record // record buffer; pending is a window into it
	pending []flow.Record
	fresh   [][]byte // per batch position buffers for fresh datagrams
	batch   [][]byte
	ring    [][]byte
	ringN   []int
	slot    int
	perPkt  float64 // records per data datagram, running estimate
	srcDone bool
}

func newSender(cfg SendConfig, enc Encoder, src Source, w Writer) *sender {
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if cfg.Virtual {
		cfg.Batch = 1
		if cfg.Rate <= 0 {
			cfg.Rate = 1e6
		}
	}
	if cfg.Ring > 0 {
		cfg.Ring = max(cfg.Ring, cfg.Batch)
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	s := &sender{cfg: cfg, enc: enc, src: src, w: w, recs: make([]flow.Record, recChunk), perPkt: 1}
	s.fresh = make([][]byte, cfg.Batch)
	for i := range s.fresh {
		s.fresh[i] = make([]byte, 0, 2048)
	}
	s.batch = make([][]byte, 0, cfg.Batch)
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *sender) run(ctx context.Context) (Stats, error) {
	real0 := s.cfg.Now()
	start := real0
	if s.cfg.Virtual && !s.cfg.Start.IsZero() {
		start = s.cfg.Start
	}
	if s.cfg.Ring > 0 {
		s.buildRing(start)
	}
	lastProgress := real0
	var err error
	for {
		if err = ctx.Err(); err != nil {
			break
		}
		now := s.cfg.Now()
		if s.cfg.Virtual {
			now = start.Add(time.Duration(float64(s.st.Records) / s.cfg.Rate * 1e9))
		}
		if s.finished(now.Sub(start)) {
			break
		}
		budget := float64(1 << 62)
		if s.cfg.Rate > 0 && !s.cfg.Virtual {
			var wait time.Duration
			budget, wait, start = s.tokens(now, start)
			if wait > 0 {
				if err = s.cfg.Sleep(ctx, wait); err != nil {
					break
				}
				continue
			}
		}
		if err = s.sendBatch(now, budget); err != nil {
			break
		}
		if s.cfg.Progress != nil {
			if t := s.cfg.Now(); t.Sub(lastProgress) >= s.cfg.ProgressEvery {
				lastProgress = t
				s.st.Elapsed = s.elapsed(real0, start)
				s.cfg.Progress(s.st)
			}
		}
	}
	s.st.Elapsed = s.elapsed(real0, start)
	if errors.Is(err, errSourceDone) {
		err = nil
	}
	return s.st, err
}

// elapsed returns the real time since real0, or the virtual time sent.
func (s *sender) elapsed(real0, start time.Time) time.Duration {
	if s.cfg.Virtual {
		return time.Duration(float64(s.st.Records) / s.cfg.Rate * 1e9)
	}
	return s.cfg.Now().Sub(real0)
}

var errSourceDone = errors.New("source exhausted")

func (s *sender) finished(elapsed time.Duration) bool {
	if s.cfg.Count > 0 && s.st.Records >= s.cfg.Count {
		return true
	}
	if s.cfg.Duration > 0 && elapsed >= s.cfg.Duration {
		return true
	}
	return s.srcDone && len(s.pending) == 0 && s.ring == nil
}

// tokens returns the records that may be sent now, or how long to wait
// before enough have accumulated; it moves start forward when the sender
// fell so far behind that catching up would be a burst.
func (s *sender) tokens(now, start time.Time) (float64, time.Duration, time.Time) {
	rate := s.cfg.Rate
	allowed := rate*now.Sub(start).Seconds() - float64(s.st.Records)
	capacity := rate*burstWindow.Seconds() + s.perPkt*float64(s.cfg.Batch)
	if allowed > capacity {
		start = start.Add(time.Duration((allowed - capacity) / rate * 1e9))
		allowed = capacity
	}
	need := min(s.perPkt*float64(s.cfg.Batch), max(rate*slice.Seconds(), s.perPkt))
	if allowed >= need {
		return allowed, 0, start
	}
	return allowed, time.Duration((need - allowed) / rate * 1e9), start
}

// sendBatch builds up to Batch datagrams holding about budget records and
// writes them.
func (s *sender) sendBatch(now time.Time, budget float64) error {
	s.batch = s.batch[:0]
	var recs, pkts int
	for len(s.batch) < s.cfg.Batch && float64(recs) < budget {
		if s.enc.TemplatesDue(now) {
			t := s.enc.AppendTemplates(s.fresh[len(s.batch)][:0], now)
			s.fresh[len(s.batch)] = t
			s.batch = append(s.batch, t)
			s.st.Templates++
			continue
		}
		pkt, n, err := s.data(len(s.batch), now, uint64(recs))
		if err != nil {
			if len(s.batch) == 0 {
				return err
			}
			break
		}
		s.batch = append(s.batch, pkt)
		recs += n
		pkts++
	}
	if len(s.batch) == 0 {
		return nil
	}
	dropped, err := s.w.WriteBatch(s.batch, now)
	for _, p := range s.batch {
		s.st.Bytes += uint64(len(p))
	}
	s.st.Packets += uint64(len(s.batch))
	s.st.Records += uint64(recs)
	s.st.Dropped += uint64(dropped)
	if pkts > 0 {
		s.perPkt = float64(recs) / float64(pkts)
	}
	if err != nil {
		return fmt.Errorf("unable to write datagrams: %w", err)
	}
	return nil
}

// data returns the next data datagram for batch position i, given that
// inBatch records are already in the batch, and its record count.
func (s *sender) data(i int, now time.Time, inBatch uint64) ([]byte, int, error) {
	left := uint64(1 << 63)
	if s.cfg.Count > 0 {
		left = s.cfg.Count - s.st.Records - inBatch
		if left == 0 {
			return nil, 0, errSourceDone
		}
	}
	if s.ring != nil {
		k := s.slot
		if uint64(s.ringN[k]) <= left {
			s.slot = (s.slot + 1) % len(s.ring)
			return s.ring[k], s.enc.Patch(s.ring[k], now), nil
		}
	}
	for skipped := 0; skipped < 1<<16; {
		if err := s.fill(now, left); err != nil {
			return nil, 0, err
		}
		pend := s.pending[:min(uint64(len(s.pending)), left)]
		pkt, used, written := s.enc.Append(s.fresh[i][:0], pend, now)
		if used == 0 {
			return nil, 0, fmt.Errorf("unable to encode: encoder took no record")
		}
		s.fresh[i] = pkt
		s.pending = s.pending[used:]
		if written > 0 {
			return pkt, written, nil
		}
		skipped += used
	}
	return nil, 0, fmt.Errorf("unable to encode: the %v format cannot carry the records", s.enc.Format())
}

// fill tops the pending records up from the source (no more than left).
func (s *sender) fill(now time.Time, left uint64) error {
	if len(s.pending) >= recChunk/2 || s.srcDone || uint64(len(s.pending)) >= left {
		if len(s.pending) == 0 {
			return errSourceDone
		}
		return nil
	}
	n := copy(s.recs, s.pending)
	want := min(uint64(len(s.recs)-n), left-uint64(n))
	got := s.src.Next(s.recs[n:n+int(want)], now)
	if got == 0 {
		s.srcDone = true
	}
	s.pending = s.recs[:n+got]
	if len(s.pending) == 0 {
		return errSourceDone
	}
	return nil
}

// buildRing pre-encodes the ring of data datagrams from fresh records,
// then resets the encoder so the replayed datagrams are numbered from the
// start.
func (s *sender) buildRing(now time.Time) {
	for range s.cfg.Ring {
		if err := s.fill(now, 1<<63); err != nil {
			break
		}
		pkt, used, written := s.enc.Append(make([]byte, 0, 2048), s.pending, now)
		if used == 0 {
			break
		}
		s.pending = s.pending[used:]
		if written > 0 {
			s.ring = append(s.ring, pkt)
			s.ringN = append(s.ringN, written)
		}
	}
	s.enc.Reset()
}
