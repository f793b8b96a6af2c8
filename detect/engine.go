package detect

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/flow"
)

// Deps are the engine's dependencies.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	Book       *Book                 // where findings go; nil: a new book of MaxSuspects
	Next       flow.Sink             // receives each batch after detection; nil: batches are released
	// Live marks a live feed: event time also follows the wall clock when
	// records stop (IdleAdvance), and records from the future do not move
	// it. Off for capture files and evaluations, which are replayed.
	Live bool
	Now  func() time.Time // wall clock (default time.Now)
	// OnFinding, when set, sees every finding that reaches the book, with
	// the event time reached (the latest record start) and the wall time
	// it was emitted (acd eval measures time to detect).
	OnFinding func(f *Finding, event int64, wall time.Time)
}

// Engine runs the detectors over screened records; it is a flow.Sink and,
// for live feeds, a daemon component (Start/Stop) whose ticker advances
// event time when records stop.
type Engine struct {
	cfg   Config
	deps  Deps
	dets  []Detector
	allow []allowRule
	book  *Book

	mu       sync.Mutex
	maxStart int64     // latest record start seen (event time, ms): the stream's position
	lastWall time.Time // wall time when maxStart last moved
	wm       int64     // watermark: maxStart - lateness, never decreasing
	emitters []Emit
	records  uint64

	stop chan struct{}
	done chan struct{}

	m metrics
}

type metrics struct {
	records    prometheus.Counter
	findings   *prometheus.CounterVec
	suppressed *prometheus.CounterVec
	future     prometheus.Counter
}

// New returns an engine over dets (their names must be unique).
func New(cfg Config, dets []Detector, deps Deps) (*Engine, error) {
	names := make([]string, len(dets))
	for i, d := range dets {
		names[i] = d.Name()
		if contains(names[:i], names[i]) {
			return nil, errors.New("detect: two detectors named " + names[i])
		}
	}
	if err := cfg.Validate(names...); err != nil {
		return nil, err
	}
	allow, _ := cfg.allow(names)
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	e := &Engine{cfg: cfg, deps: deps, dets: dets, allow: allow, book: deps.Book, maxStart: math.MinInt64, wm: math.MinInt64}
	if e.book == nil {
		e.book = NewBook(cfg.MaxSuspects, nil)
	}
	e.m = metrics{
		records: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_detect_records_total",
			Help: "Screened records the detectors received."}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "acd_detect_findings_total",
			Help: "Findings emitted, by detector (allow-listed ones excluded)."}, []string{"detector"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "acd_detect_suppressed_total",
			Help: "Findings suppressed by detect.allow, by detector."}, []string{"detector"}),
		future: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_detect_future_records_total",
			Help: "Records ending after the wall clock plus detect.max_future; used, but they do not move event time."}),
	}
	e.emitters = make([]Emit, len(dets))
	for i, d := range dets {
		name := d.Name()
		e.m.findings.WithLabelValues(name)
		e.m.suppressed.WithLabelValues(name)
		e.emitters[i] = func(f Finding) { e.emit(name, &f) }
	}
	if r := deps.Registerer; r != nil {
		r.MustRegister(e.m.records, e.m.findings, e.m.suppressed, e.m.future, e)
	}
	return e, nil
}

// Book returns the suspects book findings go to.
func (e *Engine) Book() *Book { return e.book }

// Detectors returns the engine's detectors.
func (e *Engine) Detectors() []Detector { return e.dets }

func (e *Engine) emit(detector string, f *Finding) {
	if f.Evidence.Detector == "" {
		f.Evidence.Detector = detector
	}
	if !f.Pseudo {
		a := f.Addr.Netip()
		for _, r := range e.allow {
			if r.prefix.Contains(a) && (r.detectors == nil || r.detectors[detector]) {
				e.m.suppressed.WithLabelValues(detector).Inc()
				return
			}
		}
	}
	e.m.findings.WithLabelValues(detector).Inc()
	if e.deps.OnFinding != nil {
		e.deps.OnFinding(f, e.maxStart, e.deps.Now())
	}
	e.book.Add(*f)
}

// Consume implements flow.Sink.
func (e *Engine) Consume(b *flow.Batch) {
	e.Observe(b.Records)
	if e.deps.Next != nil {
		e.deps.Next.Consume(b)
	} else {
		b.Release()
	}
}

// Observe runs the detectors over records and advances event time.
func (e *Engine) Observe(recs []flow.Record) {
	if len(recs) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.records += uint64(len(recs))
	e.m.records.Add(float64(len(recs)))
	maxStart := e.maxStart
	var limit int64 = math.MaxInt64
	if e.deps.Live {
		limit = e.deps.Now().Add(e.cfg.MaxFuture).UnixMilli()
	}
	for i := range recs {
		if st := recs[i].Start; st > limit {
			e.m.future.Inc()
		} else if st > maxStart {
			maxStart = st
		}
	}
	moved := maxStart > e.maxStart
	if moved {
		e.maxStart = maxStart
		e.lastWall = e.deps.Now()
	}
	for i, d := range e.dets {
		d.Observe(recs, e.wm, e.emitters[i])
	}
	if moved {
		e.advanceLocked(maxStart - e.cfg.Lateness.Milliseconds())
	}
}

func (e *Engine) advanceLocked(wm int64) {
	if wm <= e.wm {
		return
	}
	e.wm = wm
	for i, d := range e.dets {
		d.Advance(wm, e.emitters[i])
	}
}

// Watermark returns the current event time watermark (ms), or
// math.MinInt64 before the first record.
func (e *Engine) Watermark() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.wm
}

// Tick advances event time with the wall clock when a live feed has been
// idle for IdleAdvance; Start calls it every second.
func (e *Engine) Tick(now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.maxStart == math.MinInt64 {
		return
	}
	idle := now.Sub(e.lastWall)
	if idle < e.cfg.IdleAdvance {
		return
	}
	e.advanceLocked(e.maxStart + idle.Milliseconds() - e.cfg.Lateness.Milliseconds())
}

// Flush closes every window (end of input) and emits what is left.
func (e *Engine) Flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, d := range e.dets {
		d.Flush(e.emitters[i])
	}
}

// Stats returns each detector's stats, by name.
func (e *Engine) Stats() map[string]Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]Stats, len(e.dets))
	for _, d := range e.dets {
		out[d.Name()] = d.Stats()
	}
	return out
}

// Records returns how many records the engine received.
func (e *Engine) Records() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.records
}

// Start runs the idle ticker for a live feed (nothing otherwise).
func (e *Engine) Start(ctx context.Context) error {
	e.stop, e.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(e.done)
		if !e.deps.Live {
			<-e.stop
			return
		}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-ctx.Done():
				<-e.stop
				return
			case <-t.C:
				e.Tick(e.deps.Now())
			}
		}
	}()
	return nil
}

// Stop ends the ticker. Windows still open are closed (Flush), so what
// was seen before a shutdown is not lost.
func (e *Engine) Stop() {
	if e.stop != nil {
		close(e.stop)
		<-e.done
		e.stop = nil
	}
	e.Flush()
}

var (
	descKeys      = prometheus.NewDesc("acd_detect_tracked_keys", "Keys a detector tracks now.", []string{"detector"}, nil)
	descMaxKeys   = prometheus.NewDesc("acd_detect_max_keys", "The configured bound on a detector's keys.", []string{"detector"}, nil)
	descBytes     = prometheus.NewDesc("acd_detect_state_bytes", "Memory a detector holds for its keys, estimated.", []string{"detector"}, nil)
	descEvictions = prometheus.NewDesc("acd_detect_evictions_total", "Keys evicted because a detector's bound was reached.", []string{"detector"}, nil)
	descLate      = prometheus.NewDesc("acd_detect_late_records_total", "Records a detector ignored because their window had closed.", []string{"detector"}, nil)
	descWatermark = prometheus.NewDesc("acd_detect_watermark_seconds", "Event time the detectors have reached (Unix seconds).", nil, nil)
	descSuspects  = prometheus.NewDesc("acd_detect_suspects", "Suspects held.", nil, nil)
)

// Describe implements prometheus.Collector.
func (e *Engine) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descKeys, descMaxKeys, descBytes, descEvictions, descLate, descWatermark, descSuspects} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (e *Engine) Collect(ch chan<- prometheus.Metric) {
	stats := e.Stats()
	for name, s := range stats {
		ch <- prometheus.MustNewConstMetric(descKeys, prometheus.GaugeValue, float64(s.Keys), name)
		ch <- prometheus.MustNewConstMetric(descMaxKeys, prometheus.GaugeValue, float64(s.MaxKeys), name)
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(s.StateBytes), name)
		ch <- prometheus.MustNewConstMetric(descEvictions, prometheus.CounterValue, float64(s.Evictions), name)
		ch <- prometheus.MustNewConstMetric(descLate, prometheus.CounterValue, float64(s.Late), name)
	}
	if wm := e.Watermark(); wm != math.MinInt64 {
		ch <- prometheus.MustNewConstMetric(descWatermark, prometheus.GaugeValue, float64(wm)/1000)
	}
	ch <- prometheus.MustNewConstMetric(descSuspects, prometheus.GaugeValue, float64(e.book.Len()))
}
