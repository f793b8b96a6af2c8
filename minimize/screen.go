// Package minimize is the screening stage: it sits right after collect
// and before anything is analysed, stored or logged, and keeps only what
// the law allows.
//
// For every record it decides the class from the domestic address space
// (package space): transit (foreign to foreign), inbound (foreign to
// domestic), outbound (domestic to foreign) or domestic (both ends
// domestic). Domestic records are dropped here, and only a counter
// remains; the policy says which other classes pass. In the records that
// pass, every domestic endpoint is replaced by its Crypto-PAn pseudonym
// (prefix-preserving, so detectors can still group by subnet) under the
// key of the record's epoch, foreign endpoints stay in clear (they are
// the suspects), and every field the policy does not allow is zeroed.
//
// The master key never leaves this package. Reidentify is the one door
// back from a pseudonym to an address: it needs an authorization naming a
// case and the pseudonyms it covers, and every call, granted or refused,
// goes to the audit log.
package minimize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/minimize/internal/cryptopan"
	"github.com/acd-org/acd/minimize/space"
)

// Deps are the screening stage's dependencies.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Next receives the screened batches. Nothing upstream of the stage
	// sees screened data, nothing downstream sees unscreened data.
	Next flow.Sink
	// Auditor receives every re-identification attempt. Without one,
	// Reidentify refuses.
	Auditor Auditor
	// Verifier checks re-identification authorizations (the cases stage
	// implements it). Without one, Reidentify refuses.
	Verifier Verifier
	// EphemeralKey allows a random, never-stored key when no key file is
	// configured: pseudonyms then cannot be re-identified after the
	// process ends. For acd analyze; acd serve refuses to run without a
	// key file.
	EphemeralKey bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Screen is the screening stage. It implements flow.Sink and is safe for
// concurrent use. Lifecycle: New checks the configuration (no I/O);
// Start reads the key and the domestic space and refuses to start
// without them; Stop is a no-op kept for the daemon contract (the stage
// holds no goroutine).
type Screen struct {
	cfg  Config
	deps Deps
	keep [8]bool // by flow.Class (&7)
	mask sparseMask
	// exporterKept: the policy allows the exporter field (else the mask
	// zeroes it and no lookup is needed).
	exporterKept bool
	rotation     int64 // ms

	key     masterKey
	space   atomic.Pointer[space.Set]
	workers chan *worker

	mu      sync.Mutex                   // guards ciphers
	ciphers map[uint32]*cryptopan.Cipher // by epoch

	in, kept, dropped   [5]atomic.Uint64 // by flow.Class
	reloads, reloadErrs atomic.Uint64
}

// New returns a screening stage; it does no I/O.
func New(cfg Config, deps Deps) (*Screen, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Next == nil {
		return nil, errors.New("minimize: no next stage")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registerer == nil {
		deps.Registerer = prometheus.NewRegistry()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	keep5, _ := parseClasses(cfg.Keep)
	var keep [8]bool
	copy(keep[:], keep5[:])
	fm, _ := parseFields(cfg.Fields)
	s := &Screen{
		cfg:          cfg,
		deps:         deps,
		keep:         keep,
		mask:         fm.andMask().sparse(),
		exporterKept: slices.Contains(cfg.Fields, "exporter"),
		rotation:     cfg.Key.Rotation.Milliseconds(),
		ciphers:      map[uint32]*cryptopan.Cipher{},
	}
	s.register(deps.Registerer)
	return s, nil
}

// Start reads the master key and the domestic space. Without a key file
// (and without Deps.EphemeralKey) it fails with ErrNoKey: acd never runs
// unscreened.
func (s *Screen) Start(context.Context) error {
	k, err := loadKey(s.cfg.Key.File)
	if errors.Is(err, ErrNoKey) && s.deps.EphemeralKey {
		k, err = randomKey()
		s.deps.Logger.Info("screening with an ephemeral key: pseudonyms cannot be re-identified after this run")
	}
	if err != nil {
		return err
	}
	s.key = k
	set, err := space.Load(s.cfg.Domestic)
	if err != nil {
		return fmt.Errorf("unable to load the domestic space: %w", err)
	}
	s.space.Store(set)
	n := runtime.GOMAXPROCS(0)
	s.workers = make(chan *worker, n)
	for range n {
		s.workers <- &worker{caches: map[uint32]*cryptopan.Cache{}}
	}
	st := set.Stats()
	s.deps.Logger.Info("screening started", "domestic", st.String(), "keep", s.cfg.Keep, "rotation", s.cfg.Key.Rotation.String())
	return nil
}

// Stop does nothing: the stage has no goroutine, and Consume finishes
// each batch before returning.
func (s *Screen) Stop() {}

// Reload reads the domestic space again. On error the old space stays in
// force and the error is returned. Records being screened meanwhile use
// the old or the new space, never a mix within a batch, and none is lost.
func (s *Screen) Reload() error {
	set, err := space.Load(s.cfg.Domestic)
	if err != nil {
		s.reloadErrs.Add(1)
		return fmt.Errorf("unable to reload the domestic space (the previous one stays in force): %w", err)
	}
	s.space.Store(set)
	s.reloads.Add(1)
	s.deps.Logger.Info("domestic space reloaded", "domestic", set.Stats().String())
	return nil
}

// worker is the per-goroutine state of Consume: pseudonym caches by
// epoch. The workers channel hands each to one Consume at a time.
type worker struct {
	caches map[uint32]*cryptopan.Cache
}

// maxEpochCaches bounds the epochs a worker caches pseudonyms for; late
// records of an old epoch take over the oldest cache.
const maxEpochCaches = 3

// Consume screens b in place and hands what remains to the next stage.
// It implements flow.Sink.
func (s *Screen) Consume(b *flow.Batch) {
	w := <-s.workers
	var in, kept [5]uint64
	out := s.screen(w, b.Records, &in, &kept)
	s.workers <- w
	for c := range in {
		if in[c] != 0 {
			s.in[c].Add(in[c])
			s.kept[c].Add(kept[c])
			s.dropped[c].Add(in[c] - kept[c])
		}
	}
	b.Records = out
	if len(out) == 0 {
		b.Release()
		return
	}
	s.deps.Next.Consume(b)
}

// screen classifies, filters, pseudonymizes and masks recs in place and
// returns the kept prefix of the slice.
func (s *Screen) screen(w *worker, recs []flow.Record, in, kept *[5]uint64) []flow.Record {
	set := s.space.Load()
	keep, mask, exporterKept := s.keep, &s.mask, s.exporterKept
	// Local counters, indexed by class&7 so the compiler drops the bounds
	// checks (classes are < 5).
	var cin, ckept [8]uint64
	n := 0
	var cache *cryptopan.Cache
	cacheEpoch := ^uint32(0)
	for i := range recs {
		r := &recs[i]
		sd, dd := set.Contains(r.SrcAddr), set.Contains(r.DstAddr)
		c := classify(sd, dd)
		cin[c&7]++
		if !keep[c&7] {
			continue
		}
		ckept[c&7]++
		r.Class, r.Pseudo, r.KeyEpoch = c, 0, 0
		if sd || dd {
			e := s.epoch(r)
			if e != cacheEpoch {
				cache, cacheEpoch = s.cache(w, e), e
			}
			if sd {
				r.SrcAddr = cache.Anonymize(r.SrcAddr)
				r.Pseudo |= flow.PseudoSrc
			}
			if dd {
				r.DstAddr = cache.Anonymize(r.DstAddr)
				r.Pseudo |= flow.PseudoDst
			}
			r.KeyEpoch = e
		}
		if exporterKept && set.Contains(r.Exporter) {
			r.Exporter = flow.Addr{} // a domestic exporter has no pseudonym flag: never in clear
		}
		mask.apply(r)
		if n != i {
			recs[n] = *r
		}
		n++
	}
	copy(in[:], cin[:])
	copy(kept[:], ckept[:])
	return recs[:n]
}

func classify(srcDomestic, dstDomestic bool) flow.Class {
	switch {
	case srcDomestic && dstDomestic:
		return flow.ClassDomestic
	case dstDomestic:
		return flow.ClassInbound
	case srcDomestic:
		return flow.ClassOutbound
	}
	return flow.ClassTransit
}

// epoch returns the key epoch of r from its flow time (event time, so a
// capture gives the same pseudonyms on every run).
func (s *Screen) epoch(r *flow.Record) uint32 {
	t := r.Start
	if t <= 0 {
		t = r.End
	}
	if t <= 0 {
		t = s.deps.Now().UnixMilli()
	}
	return uint32(t / s.rotation)
}

// cache returns w's pseudonym cache for epoch e.
func (s *Screen) cache(w *worker, e uint32) *cryptopan.Cache {
	if c, ok := w.caches[e]; ok {
		return c
	}
	if len(w.caches) < maxEpochCaches {
		c := cryptopan.NewCache(s.cipher(e), s.cfg.CacheEntries)
		w.caches[e] = c
		return c
	}
	// Full: the oldest epoch's cache is emptied and reused for e.
	oldest := ^uint32(0)
	for k := range w.caches {
		oldest = min(oldest, k)
	}
	c := w.caches[oldest]
	delete(w.caches, oldest)
	c.Reset(s.cipher(e))
	w.caches[e] = c
	return c
}

// cipher returns the Crypto-PAn cipher of epoch e, deriving it once.
func (s *Screen) cipher(e uint32) *cryptopan.Cipher {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.ciphers[e]; ok {
		return c
	}
	k, err := s.key.epochKey(e)
	if err != nil {
		panic("minimize: HKDF failed: " + err.Error()) // only for invalid lengths: a bug
	}
	c, err := cryptopan.New(k)
	if err != nil {
		panic("minimize: Crypto-PAn key rejected: " + err.Error())
	}
	if len(s.ciphers) >= 64 {
		for k := range s.ciphers {
			delete(s.ciphers, k)
			break
		}
	}
	s.ciphers[e] = c
	return c
}

// Stats are the stage's counts since start, by class.
type Stats struct {
	In, Kept, Dropped [5]uint64 // by flow.Class
}

// Stats returns the counts so far.
func (s *Screen) Stats() Stats {
	var st Stats
	for c := range st.In {
		st.In[c], st.Kept[c], st.Dropped[c] = s.in[c].Load(), s.kept[c].Load(), s.dropped[c].Load()
	}
	return st
}

func (s *Screen) register(reg prometheus.Registerer) {
	for c := flow.ClassTransit; c <= flow.ClassDomestic; c++ {
		labels := prometheus.Labels{"class": c.String()}
		for _, m := range []struct {
			name, help string
			v          *atomic.Uint64
		}{
			{"records_in_total", "Records screened, by class.", &s.in[c]},
			{"records_kept_total", "Records passed downstream, by class.", &s.kept[c]},
			{"records_dropped_total", "Records dropped by policy (all domestic ones), by class.", &s.dropped[c]},
		} {
			v := m.v
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Namespace: "acd", Subsystem: "screen", Name: m.name, Help: m.help, ConstLabels: labels,
			}, func() float64 { return float64(v.Load()) }))
		}
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "acd", Subsystem: "screen", Name: "reloads_total",
			Help: "Successful reloads of the domestic space."}, func() float64 { return float64(s.reloads.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "acd", Subsystem: "screen", Name: "reload_errors_total",
			Help: "Failed reloads of the domestic space (the previous one stayed in force)."}, func() float64 { return float64(s.reloadErrs.Load()) }),
	)
}

// IsDomestic reports whether a lies in the domestic space now in force
// (for the sharing side's scrub: nothing naming a domestic address
// leaves). Before the space is loaded (Start) it fails closed: every
// address is domestic.
func (s *Screen) IsDomestic(a netip.Addr) bool {
	set := s.space.Load()
	return set == nil || set.Contains(flow.AddrFromNetip(a.Unmap()))
}
