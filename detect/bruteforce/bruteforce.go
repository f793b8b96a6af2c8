// Package bruteforce detects password guessing: many short connections
// from one source to an authentication service (SSH, Telnet, RDP, SMB,
// VNC, FTP, mail, databases, ...) on the same destination.
//
// A login attempt is a client-to-server TCP record to a watched service
// port that completed a handshake (ACK seen; SYN and ACK when the flags
// are known) and stays within the service's attempt profile (packets,
// bytes, duration). The detector counts attempts per (source,
// destination, service) in buckets and flags the source when one bucket
// holds FastAttempts, or the long window SlowAttempts, provided attempts
// make up at least MinShare of the source's connections there (its
// larger sessions and the server's large replies count against it).
// Server-to-client records never create a key and never count as
// attempts, so the server is never the suspect.
package bruteforce

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// Detector is the brute force detector; it implements detect.Detector.
type Detector struct {
	cfg      Config
	bucketMs int64
	graceMs  int64
	long     int // buckets in the long window
	maxDurMs int64
	minPkts  uint64

	port  [65536]uint8 // service index + 1 by TCP port, 0: not watched
	svcs  []svcProfile
	skip  [8]bool // by flow.Class (&7)
	tab   *detect.Table[key, state]
	late  uint64
	close int64 // buckets before this one are closed (math.MinInt64: none)
	// flagged lists the keys with a finding (some may have been evicted
	// since): each bucket close visits them, not the whole table.
	flagged []key
	// expired is the bucket of the last sweep for expired keys, which
	// runs every expireEvery buckets.
	expired int64
}

// expireEvery is how many buckets pass between sweeps of the whole table
// for keys with nothing left in the long window: a key outlives its last
// record by at most the long window plus this.
const expireEvery = 8

type svcProfile struct {
	name     string
	maxPkts  uint64
	maxBytes uint64
}

// New returns a detector for cfg.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{
		cfg:      cfg,
		bucketMs: cfg.Bucket.Milliseconds(),
		graceMs:  cfg.Grace.Milliseconds(),
		long:     int(cfg.LongWindow / cfg.Bucket),
		maxDurMs: cfg.MaxDuration.Milliseconds(),
		minPkts:  uint64(cfg.MinPackets),
		close:    math.MinInt64,
		expired:  math.MinInt64,
	}
	for i, s := range cfg.Services {
		d.svcs = append(d.svcs, svcProfile{name: s.Name, maxPkts: uint64(s.MaxPackets), maxBytes: uint64(s.MaxBytes)})
		for _, p := range s.Ports {
			d.port[p] = uint8(i + 1)
		}
	}
	for _, c := range cfg.SkipClasses {
		cl, _ := classOf(c)
		d.skip[cl&7] = true
	}
	d.tab = detect.NewTable[key, state](cfg.MaxKeys, before)
	return d, nil
}

// Name implements detect.Detector.
func (d *Detector) Name() string { return Name }

// Stats implements detect.Detector.
func (d *Detector) Stats() detect.Stats {
	s := d.tab.Stats()
	s.Late = d.late
	s.StateBytes += int64(cap(d.flagged)) * int64(unsafe.Sizeof(key{}))
	return s
}

func floorDiv(t, w int64) int64 {
	q := t / w
	if t%w < 0 {
		q--
	}
	return q
}

// Observe implements detect.Detector.
func (d *Detector) Observe(recs []flow.Record, _ int64, emit detect.Emit) {
	for i := range recs {
		r := &recs[i]
		if r.Proto != 6 {
			continue
		}
		ds, ss := d.port[r.DstPort], d.port[r.SrcPort]
		switch {
		case ds != 0 && ss == 0:
			d.request(r, ds-1, emit)
		case ss != 0 && ds == 0:
			d.reply(r, ss-1)
		}
	}
}

// profile reports whether a record (one direction of a connection) fits
// the attempt profile of service svc.
func (d *Detector) profile(r *flow.Record, svc uint8) bool {
	p := &d.svcs[svc]
	pk := r.ScaledPackets()
	return pk >= d.minPkts && pk <= p.maxPkts && r.ScaledBytes() <= p.maxBytes && r.End-r.Start <= d.maxDurMs
}

// eventTime is the time a record is filed under: its end, as the
// engine's watermark goes by record ends.
func eventTime(r *flow.Record) int64 { return max(r.Start, r.End) }

// request handles a client-to-server record.
func (d *Detector) request(r *flow.Record, svc uint8, emit detect.Emit) {
	if d.skip[r.Class&7] {
		return
	}
	f := r.TCPFlags
	if f != 0 && f&flow.TCPAck == 0 {
		return // no handshake completed: a probe, not an attempt
	}
	t := eventTime(r)
	b := floorDiv(t, d.bucketMs)
	if b < d.close {
		d.late++
		return
	}
	attempt := (f == 0 || f&flow.TCPSyn != 0) && d.profile(r, svc)
	if !attempt && r.ScaledPackets() < d.minPkts {
		return // a stray segment: evidence of nothing
	}
	k := key{src: r.SrcAddr, dst: r.DstAddr, svc: svc}
	if r.Pseudo&flow.PseudoSrc != 0 {
		k.pseudo |= pseudoSrc
	}
	if r.Pseudo&flow.PseudoDst != 0 {
		k.pseudo |= pseudoDst
	}
	if k.pseudo != 0 {
		k.epoch = r.KeyEpoch
	}
	st, created := d.tab.Put(k)
	if created {
		st.head = b
	}
	j := st.slot(b)
	if j < 0 {
		d.late++
		return
	}
	st.seen = max(st.seen, t)
	if !attempt {
		st.other[j] = sat16(st.other[j])
		return
	}
	st.attempts[j] = sat16(st.attempts[j])
	if !st.hasAttempt || r.Start < st.first {
		st.first = r.Start
	}
	st.hasAttempt = true
	st.last = max(st.last, r.End)
	st.total++
	st.packets += r.ScaledPackets()
	st.bytes += r.ScaledBytes()
	st.addSample(r)
	if st.flagged {
		if !st.pending || b < st.pendFrom {
			st.pendFrom = b
		}
		st.pending = true
		return
	}
	// Cheap pre-filter before summing the ring.
	if (d.cfg.FastAttempts > 0 && int(st.attempts[j]) >= d.cfg.FastAttempts) || (d.cfg.SlowAttempts > 0 && int(st.total) >= d.cfg.SlowAttempts) {
		if w := st.sums(d.long); d.above(w) {
			st.flagged, st.pending = true, false
			d.flagged = append(d.flagged, k)
			emit(d.finding(&k, st, w))
		}
	}
}

// reply handles a server-to-client record: it is evidence about the
// client's key (answered attempts, or a large reply of a real session)
// and never creates a key of its own.
func (d *Detector) reply(r *flow.Record, svc uint8) {
	f := r.TCPFlags
	if f != 0 && f&flow.TCPAck == 0 {
		return
	}
	k := key{src: r.DstAddr, dst: r.SrcAddr, svc: svc}
	if r.Pseudo&flow.PseudoDst != 0 {
		k.pseudo |= pseudoSrc
	}
	if r.Pseudo&flow.PseudoSrc != 0 {
		k.pseudo |= pseudoDst
	}
	if k.pseudo != 0 {
		k.epoch = r.KeyEpoch
	}
	st := d.tab.Get(k)
	if st == nil {
		return
	}
	t := eventTime(r)
	b := floorDiv(t, d.bucketMs)
	if b < d.close {
		d.late++
		return
	}
	p := &d.svcs[svc]
	if r.ScaledPackets() <= p.maxPkts && r.ScaledBytes() <= p.maxBytes && r.End-r.Start <= d.maxDurMs {
		st.answered++
		return
	}
	if j := st.slot(b); j >= 0 {
		st.other[j] = sat16(st.other[j])
	} else {
		d.late++
	}
}

// above applies the thresholds to a window's sums.
func (d *Detector) above(w window) bool {
	if w.share() < d.cfg.MinShare || w.attempts == 0 {
		return false
	}
	return (d.cfg.FastAttempts > 0 && w.peak >= d.cfg.FastAttempts) || (d.cfg.SlowAttempts > 0 && w.attempts >= d.cfg.SlowAttempts)
}

// Advance implements detect.Detector: when a bucket closes, flagged keys
// with attempts since their last finding get a final one, and keys with
// nothing left in the long window are dropped.
func (d *Detector) Advance(wm int64, emit detect.Emit) {
	if wm < math.MinInt64+d.graceMs {
		return
	}
	cb := floorDiv(wm-d.graceMs, d.bucketMs)
	if cb <= d.close {
		return
	}
	d.close = cb
	keep := d.flagged[:0]
	for _, k := range d.flagged {
		st := d.tab.Get(k)
		if st == nil || !st.flagged {
			continue // evicted, or expired and created anew
		}
		w := st.sums(d.long)
		switch {
		case !d.above(w):
			st.flagged, st.pending = false, false
			continue
		case st.pending && st.pendFrom < cb:
			st.pending = false
			emit(d.finding(&k, st, w))
		}
		keep = append(keep, k)
	}
	clear(d.flagged[len(keep):])
	d.flagged = keep
	if d.expired != math.MinInt64 && cb-d.expired < expireEvery {
		return
	}
	d.expired = cb
	horizon := cb - int64(d.long)
	d.tab.Range(func(k key, st *state) bool {
		if st.head < horizon && !st.flagged {
			d.tab.Delete(k)
		}
		return true
	})
}

// Flush implements detect.Detector: flagged keys with attempts since
// their last finding get a final one; all state is dropped.
func (d *Detector) Flush(emit detect.Emit) {
	d.tab.Range(func(k key, st *state) bool {
		if st.flagged && st.pending {
			if w := st.sums(d.long); d.above(w) {
				emit(d.finding(&k, st, w))
			}
		}
		return true
	})
	d.tab.Reset()
	clear(d.flagged)
	d.flagged = d.flagged[:0]
}

// score grows from 0.5 at the threshold to 0.9 at ten times it, plus up
// to 0.1 for regularity (the share of buckets with attempts since the
// first).
func (d *Detector) score(w window) float64 {
	r := 0.0
	if d.cfg.FastAttempts > 0 {
		r = float64(w.peak) / float64(d.cfg.FastAttempts)
	}
	if d.cfg.SlowAttempts > 0 {
		r = max(r, float64(w.attempts)/float64(d.cfg.SlowAttempts))
	}
	if r <= 0 {
		return 0
	}
	reg := 0.0
	if w.span > 0 {
		reg = float64(w.active) / float64(w.span)
	}
	return detect.Clamp01(0.5 + 0.4*min(1, max(0, math.Log10(r))) + 0.1*reg)
}

// String describes the detector's thresholds.
func (d *Detector) String() string {
	return fmt.Sprintf("bruteforce(%d per %v or %d per %v, share %.2f)", d.cfg.FastAttempts, d.cfg.Bucket, d.cfg.SlowAttempts, d.cfg.LongWindow, d.cfg.MinShare)
}
