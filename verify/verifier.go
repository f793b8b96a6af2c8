package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gaissmai/bart"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/flow"
)

// ErrFull is returned by Watch and Prewatch when max_watches targets are
// followed and none can be dropped.
var ErrFull = errors.New("verify: max_watches reached")

// Deps are the verifier's dependencies.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	// Next receives each batch after the verifier has counted it; nil:
	// batches are released.
	Next flow.Sink
	// Live marks a live feed: event time also follows the wall clock
	// when records stop (Config.IdleAdvance), and records starting after
	// the wall clock plus Config.MaxFuture are ignored. Off for replays.
	Live bool
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// Pseudonymize, when set, lets rtbh be judged on a pseudonymized
	// stream: an rtbh target is a domestic host, which the screening
	// stage replaces by its pseudonym. Nil: rtbh counts clear
	// destinations only.
	Pseudonymize Pseudonymizer
	// OnVerdict receives every verdict, once per activation, from
	// Evaluate (never from Consume), outside the verifier's locks.
	OnVerdict func(Result)
}

// Verifier judges whether approved actions worked, from the flow stream:
// it is a flow.Sink and, for live feeds, a daemon component whose Start
// runs Evaluate every Config.Interval. It is safe for concurrent use.
//
// Lifecycle of a target: Prewatch (optional, when a case is approved:
// start counting a baseline) → Watch (the action was executed at
// activeAt) → a verdict through Deps.OnVerdict once event time passes the
// after window → Unwatch (the lead's call, when the action ends).
type Verifier struct {
	cfg  Config
	deps Deps
	ring int // buckets per watch

	// mu guards the fields below and the watch fields outside watch.mu.
	// Consume holds it for reading; everything else for writing.
	mu      sync.RWMutex
	watches map[string]*watch
	hosts   map[flow.Addr][]*watch // address targets
	nets    *bart.Table[*pnode]    // prefix targets
	nNets   int
	filter  filter
	pseudo  map[pseudoKey][]*watch // rtbh targets by pseudonym (see pseudo.go)
	nPseudo int                    // watches in pseudo
	epochs  []uint32               // key epochs pseudo holds
	seq     uint64
	wm      int64 // event-time watermark (ms), never decreasing

	clock    sync.Mutex // guards maxStart and lastWall
	maxStart int64      // latest record start seen (ms)
	lastWall time.Time  // wall time when maxStart last moved (or New)

	stop, done chan struct{}
	m          metrics
}

// pnode is the value of a prefix-table entry: the watches of that prefix.
type pnode struct {
	pfx netip.Prefix
	ws  []*watch
}

type metrics struct {
	records, matched, late, future prometheus.Counter
	pseudoErrors                   prometheus.Counter
	verdicts                       *prometheus.CounterVec
}

// New returns a verifier; it checks cfg and does no I/O.
func New(cfg Config, deps Deps) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("unable to create the verifier: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	v := &Verifier{cfg: cfg, deps: deps, ring: cfg.ringMinutes(), watches: map[string]*watch{},
		hosts: map[flow.Addr][]*watch{}, nets: new(bart.Table[*pnode]), filter: newFilter(), pseudo: map[pseudoKey][]*watch{}, wm: math.MinInt64,
		maxStart: math.MinInt64, lastWall: deps.Now()}
	v.m = metrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_verify_records_total",
			Help: "Records the verifier received."}),
		matched: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_verify_matched_total",
			Help: "Record counts added to a watch (a record matching two watches counts twice)."}),
		late: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_verify_late_records_total",
			Help: "Matching records ignored because their minute had left the watch's history."}),
		future: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_verify_future_records_total",
			Help: "Records ignored because they start after the wall clock plus verify.max_future."}),
		pseudoErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_verify_pseudonymize_errors_total",
			Help: "rtbh targets the pseudonymizer failed on (their pseudonymized flows are not counted)."}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "acd_verify_verdicts_total",
			Help: "Verdicts given, by verdict."}, []string{"verdict"}),
	}
	for _, vd := range []Verdict{Effective, Ineffective, Unmeasurable} {
		v.m.verdicts.WithLabelValues(string(vd))
	}
	if r := deps.Registerer; r != nil {
		watches := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "acd_verify_watches",
			Help: "Targets followed (prewatched, watched and judged)."}, func() float64 {
			v.mu.RLock()
			defer v.mu.RUnlock()
			return float64(len(v.watches))
		})
		r.MustRegister(v.m.records, v.m.matched, v.m.late, v.m.future, v.m.pseudoErrors, v.m.verdicts, watches)
	}
	return v, nil
}

// Consume implements flow.Sink: it counts the records matching a watch
// and passes the batch on (or releases it). It keeps nothing of the batch.
func (v *Verifier) Consume(b *flow.Batch) {
	v.Observe(b.Records)
	if v.deps.Next != nil {
		v.deps.Next.Consume(b)
	} else {
		b.Release()
	}
}

// tally counts what one Observe did.
type tally struct{ matched, late, future uint64 }

// Observe counts recs and advances event time.
func (v *Verifier) Observe(recs []flow.Record) {
	if len(recs) == 0 {
		return
	}
	var limit int64 = math.MaxInt64
	if v.deps.Live {
		limit = v.deps.Now().Add(v.cfg.MaxFuture).UnixMilli()
	}
	var t tally
	maxStart := int64(math.MinInt64)
	v.mu.RLock()
	some := len(v.hosts) > 0 || v.nNets > 0
	for i := range recs {
		r := &recs[i]
		if r.Start > limit {
			t.future++
			continue
		}
		maxStart = max(maxStart, r.Start)
		if some {
			v.match(r, &t)
		}
		if r.Pseudo&flow.PseudoDst != 0 && v.nPseudo > 0 {
			if !v.knownEpoch(r.KeyEpoch) {
				v.advance(maxStart) // before the read lock is let go
				v.learnEpoch(r.KeyEpoch)
			}
			v.matchPseudo(r, &t)
		}
	}
	// Event time moves before the read lock is released, so a watch
	// added afterwards knows which minutes it has fully observed.
	v.advance(maxStart)
	v.mu.RUnlock()
	v.m.records.Add(float64(len(recs)))
	if t.matched > 0 {
		v.m.matched.Add(float64(t.matched))
	}
	if t.late > 0 {
		v.m.late.Add(float64(t.late))
	}
	if t.future > 0 {
		v.m.future.Add(float64(t.future))
	}
}

// advance moves the stream's position to maxStart if it is later.
func (v *Verifier) advance(maxStart int64) {
	v.clock.Lock()
	if maxStart > v.maxStart {
		v.maxStart, v.lastWall = maxStart, v.deps.Now()
	}
	v.clock.Unlock()
}

// Watch starts judging item it, executed at activeAt; hint, when not
// nil, is the before-rate to use if the verifier has not observed enough
// traffic before activeAt (e.g. the evidence's figures). Watch is
// idempotent: calling it again with the same activeAt (after a restart,
// with the original activeAt) changes nothing, or starts afresh from what
// can still be observed; a different activeAt starts a new judgement. A
// prewatch of the same key becomes the watch, with its counts.
func (v *Verifier) Watch(it enforce.Item, activeAt time.Time, hint *Rate) error {
	if err := checkItem(it); err != nil {
		return fmt.Errorf("unable to watch %s: %w", it.Key(), err)
	}
	if activeAt.IsZero() {
		return fmt.Errorf("unable to watch %s: no activation time", it.Key())
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	key := it.Key()
	w := v.watches[key]
	if w != nil && w.spec != newSpec(it.Action) {
		v.removeLocked(w) // the action changed (a new case version): start afresh
		w = nil
	}
	if w != nil && w.state != StatePrewatch && w.active.Equal(activeAt) {
		return nil
	}
	if w != nil && w.state == StateJudged {
		v.removeLocked(w) // executed again: its counts stopped at the verdict, start afresh
		w = nil
	}
	if w == nil {
		if err := v.makeRoomLocked(true); err != nil {
			return fmt.Errorf("unable to watch %s: %w", key, err)
		}
		w = v.addLocked(it)
	}
	if hint != nil {
		h := *hint
		w.hint = &h
	}
	w.state, w.result = StateWatching, nil
	w.setWindows(&v.cfg, activeAt)
	v.indexLocked(w)
	v.deps.Logger.Debug("verify watch", "key", key, "target", it.Action.Target.String(), "type", string(it.Action.Type),
		"active_at", activeAt)
	return nil
}

// Prewatch starts counting traffic of item it before it is executed, so
// that Watch finds a baseline: call it when the case is approved (or
// requested). Counting starts at the next whole minute of the stream. A
// prewatch never watched is dropped when event time passes until (e.g.
// the action's NotAfter). Actions flows cannot show are not prewatched.
// Prewatching a key already followed only extends until.
func (v *Verifier) Prewatch(it enforce.Item, until time.Time) error {
	if err := checkItem(it); err != nil {
		return fmt.Errorf("unable to prewatch %s: %w", it.Key(), err)
	}
	if !measurable(it.Action.Type) {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if w := v.watches[it.Key()]; w != nil && w.spec == newSpec(it.Action) {
		w.until = max(w.until, until.UnixMilli())
		return nil
	} else if w != nil {
		v.removeLocked(w)
	}
	if err := v.makeRoomLocked(false); err != nil {
		return fmt.Errorf("unable to prewatch %s: %w", it.Key(), err)
	}
	w := v.addLocked(it)
	w.state, w.until = StatePrewatch, until.UnixMilli()
	v.indexLocked(w)
	return nil
}

// Unwatch forgets key (an item key, "<case>/<index>") in any state.
func (v *Verifier) Unwatch(key string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if w := v.watches[key]; w != nil {
		v.removeLocked(w)
	}
}

func checkItem(it enforce.Item) error {
	switch {
	case it.Case.ID == "":
		return errors.New("no case id")
	case it.Action.Target.IsZero():
		return errors.New("no target")
	}
	return nil
}

// addLocked creates the watch of it; it has observed nothing before the
// minute after the stream's position (the wall clock's, if later, on a
// live feed), since records already consumed were not counted.
func (v *Verifier) addLocked(it enforce.Item) *watch {
	v.clock.Lock()
	pos := v.maxStart
	v.clock.Unlock()
	if v.deps.Live {
		pos = max(pos, v.deps.Now().UnixMilli())
	}
	from := int64(math.MinInt64) // a replay that has not begun: everything is still to come
	if pos != math.MinInt64 {
		from = minuteOf(pos) + 1
	}
	v.seq++
	w := newWatch(it, v.ring, from, v.seq)
	v.watches[w.key] = w
	return w
}

// makeRoomLocked drops the oldest judged watch when max_watches is
// reached, or (forWatch) the oldest prewatch.
func (v *Verifier) makeRoomLocked(forWatch bool) error {
	if len(v.watches) < v.cfg.MaxWatches {
		return nil
	}
	var judged, pre *watch
	for _, w := range v.watches {
		switch {
		case w.state == StateJudged && (judged == nil || w.seq < judged.seq):
			judged = w
		case w.state == StatePrewatch && (pre == nil || w.seq < pre.seq):
			pre = w
		}
	}
	switch {
	case judged != nil:
		v.removeLocked(judged)
	case forWatch && pre != nil:
		v.deps.Logger.Warn("verify dropped a prewatch: max_watches reached", "key", pre.key)
		v.removeLocked(pre)
	default:
		return fmt.Errorf("%w (%d)", ErrFull, v.cfg.MaxWatches)
	}
	return nil
}

func (v *Verifier) removeLocked(w *watch) {
	v.unindexLocked(w)
	delete(v.watches, w.key)
}

// watermarkLocked returns event time (ms): the latest record start less
// the lateness, or on a live feed idle for IdleAdvance, the wall clock's
// progress since the last record added to it. It never decreases.
func (v *Verifier) watermarkLocked(now time.Time) int64 {
	v.clock.Lock()
	ms, last := v.maxStart, v.lastWall
	v.clock.Unlock()
	lat := v.cfg.Lateness.Milliseconds()
	wm := int64(math.MinInt64)
	if ms != math.MinInt64 {
		wm = ms - lat
	}
	if idle := now.Sub(last); v.deps.Live && idle >= v.cfg.IdleAdvance {
		if ms == math.MinInt64 {
			wm = now.UnixMilli() - lat // no record at all since New
		} else {
			wm = max(wm, ms+idle.Milliseconds()-lat)
		}
	}
	v.wm = max(v.wm, wm)
	return v.wm
}

// Watermark returns the event time reached (ms since the Unix epoch, as
// of the last Evaluate), or math.MinInt64 before any.
func (v *Verifier) Watermark() int64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.wm
}

// Evaluate advances event time to now (see Config.IdleAdvance), gives
// the verdicts that are due, drops expired prewatches, and returns the
// verdicts after passing each to Deps.OnVerdict.
func (v *Verifier) Evaluate(now time.Time) []Result {
	v.mu.Lock()
	wm := v.watermarkLocked(now)
	var out []Result
	for _, w := range v.watches {
		switch w.state {
		case StatePrewatch:
			if wm > w.until {
				v.removeLocked(w)
			}
		case StateWatching:
			if !measurable(w.spec.typ) || !w.pfx.IsValid() || wm >= w.a1*60_000 {
				r := v.judge(w)
				w.state, w.result = StateJudged, &r
				v.unindexLocked(w)
				w.ring = nil // counting is over; the result keeps the figures
				out = append(out, r)
			}
		}
	}
	v.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	for _, r := range out {
		v.m.verdicts.WithLabelValues(string(r.Verdict)).Inc()
		v.deps.Logger.Info("verify verdict", "key", r.Key, "target", r.Target, "type", string(r.Type),
			"verdict", string(r.Verdict), "reason", r.Reason)
		if v.deps.OnVerdict != nil {
			v.deps.OnVerdict(r)
		}
	}
	return out
}

// Status returns every followed target, by key.
func (v *Verifier) Status() []WatchStatus {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]WatchStatus, 0, len(v.watches))
	wmMin := minuteOf(v.wm)
	for _, w := range v.watches {
		out = append(out, w.status(&v.cfg, wmMin))
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Key, out[j].Key) < 0 })
	return out
}

// Start runs Evaluate every Config.Interval until Stop.
func (v *Verifier) Start(ctx context.Context) error {
	v.stop, v.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(v.done)
		t := time.NewTicker(v.cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-v.stop:
				return
			case <-ctx.Done():
				<-v.stop
				return
			case <-t.C:
				v.Evaluate(v.deps.Now())
			}
		}
	}()
	return nil
}

// Stop ends Start's goroutine. Watches still open get no verdict.
func (v *Verifier) Stop() {
	if v.stop != nil {
		close(v.stop)
		<-v.done
		v.stop = nil
	}
}
