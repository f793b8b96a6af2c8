package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/detect"
)

// WriterOptions tune a SuspectWriter. Zero fields take the defaults.
type WriterOptions struct {
	// Registerer takes the writer's metrics; nil leaves them unregistered.
	Registerer prometheus.Registerer
	// FlushInterval is how often pending suspects are written (250 ms).
	FlushInterval time.Duration
	// FlushSize writes at once when this many suspects are pending (1000).
	FlushSize int
	// MaxPending bounds the suspects waiting to be written (100 000);
	// beyond it a changed suspect not already pending is dropped and
	// counted (the Book still holds it; its next change is written).
	MaxPending int
	// RetentionInterval is how often suspects older than
	// store.suspect_retention are deleted (1 h; the first run is at Start).
	RetentionInterval time.Duration
}

func (o *WriterOptions) defaults() {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 250 * time.Millisecond
	}
	if o.FlushSize <= 0 {
		o.FlushSize = 1000
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 100_000
	}
	if o.RetentionInterval <= 0 {
		o.RetentionInterval = time.Hour
	}
}

// writerMetrics are the writer's counters.
type writerMetrics struct {
	written prometheus.Counter
	errors  prometheus.Counter
	dropped prometheus.Counter
	deleted prometheus.Counter
}

func newWriterMetrics(reg prometheus.Registerer) (*writerMetrics, error) {
	m := &writerMetrics{
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_store_suspects_written_total", Help: "Suspects written to the store."}),
		errors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_store_write_errors_total", Help: "Failed store writes (flushes of suspects, retention deletes)."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_store_suspects_dropped_total", Help: "Suspect changes not written because too many were pending."}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_store_suspects_expired_total", Help: "Suspects deleted by store.suspect_retention."}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.written, m.errors, m.dropped, m.deleted} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// SuspectWriter persists the suspects a detect.Book changes: it is the
// Book's detect.SuspectSink. Suspected never blocks: it keeps the latest
// version of each suspect in a map, and a goroutine writes the map in
// one transaction every FlushInterval, or sooner when FlushSize are
// pending. A failed write keeps the suspects pending for the next try.
//
// Lifecycle: NewSuspectWriter, Start (before the Book sees findings),
// Stop (after the last finding: it writes everything pending), then
// DB.Close.
type SuspectWriter struct {
	db   *DB
	log  *slog.Logger
	opts WriterOptions
	m    *writerMetrics

	kick chan struct{} // buffered(1): FlushSize reached

	mu      sync.Mutex                    // guards pending
	pending map[detect.Key]detect.Suspect // latest version per suspect

	flushMu  sync.Mutex // one flush at a time (loop, Stop, Flush)
	errMu    sync.Mutex // guards lastLog, failures
	lastLog  time.Time  // last error logged
	failures int        // errors since then

	cancel context.CancelFunc
	done   chan struct{}
}

// Interface guard.
var _ detect.SuspectSink = (*SuspectWriter)(nil)

// NewSuspectWriter returns a writer into db. It does no I/O.
func NewSuspectWriter(db *DB, opts WriterOptions) (*SuspectWriter, error) {
	opts.defaults()
	m, err := newWriterMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	return &SuspectWriter{db: db, log: db.log, opts: opts, m: m, kick: make(chan struct{}, 1),
		pending: make(map[detect.Key]detect.Suspect)}, nil
}

// Suspected queues s for writing. It is called in the Book's lock: it
// takes only the writer's own short lock and never waits for I/O.
func (w *SuspectWriter) Suspected(s detect.Suspect) {
	w.mu.Lock()
	_, queued := w.pending[s.Key]
	if !queued && len(w.pending) >= w.opts.MaxPending {
		w.mu.Unlock()
		w.m.dropped.Inc()
		return
	}
	w.pending[s.Key] = s
	n := len(w.pending)
	w.mu.Unlock()
	if n >= w.opts.FlushSize {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Pending returns the number of suspects waiting to be written.
func (w *SuspectWriter) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// Start runs the writing goroutine until Stop (or ctx ends; Stop must
// still be called to write what is pending). It deletes expired suspects
// first, then every RetentionInterval.
func (w *SuspectWriter) Start(ctx context.Context) error {
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go w.loop(ctx)
	return nil
}

func (w *SuspectWriter) loop(ctx context.Context) {
	defer close(w.done)
	flush := time.NewTicker(w.opts.FlushInterval)
	defer flush.Stop()
	retain := time.NewTicker(w.opts.RetentionInterval)
	defer retain.Stop()
	w.expire(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
		case <-w.kick:
		case <-retain.C:
			w.expire(ctx)
			continue
		}
		_ = w.Flush(ctx)
	}
}

// Stop ends the goroutine and writes everything still pending (waiting
// up to 30 s for a locked database).
func (w *SuspectWriter) Stop() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		w.log.Error("store: suspects not written at shutdown", "pending", w.Pending(), "error", err)
	}
}

// Flush writes the pending suspects now, in one transaction per
// FlushSize of them. On error the unwritten ones stay pending (unless
// a newer version arrived meanwhile) and the error is counted and
// logged (at most once a minute).
func (w *SuspectWriter) Flush(ctx context.Context) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	for {
		batch := w.take()
		if len(batch) == 0 {
			return nil
		}
		if err := w.db.SaveSuspects(ctx, batch); err != nil {
			w.requeue(batch)
			if ctx.Err() != nil {
				return err // stopping: Stop writes them
			}
			w.failed("unable to write suspects", err, len(batch))
			return err
		}
		w.m.written.Add(float64(len(batch)))
	}
}

// take removes up to FlushSize pending suspects.
func (w *SuspectWriter) take() []detect.Suspect {
	w.mu.Lock()
	defer w.mu.Unlock()
	batch := make([]detect.Suspect, 0, min(len(w.pending), w.opts.FlushSize))
	for k, s := range w.pending {
		if len(batch) == w.opts.FlushSize {
			break
		}
		batch = append(batch, s)
		delete(w.pending, k)
	}
	return batch
}

// requeue puts back suspects a failed write did not store, unless a newer
// version is pending.
func (w *SuspectWriter) requeue(batch []detect.Suspect) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range batch {
		if _, newer := w.pending[s.Key]; newer {
			continue
		}
		if len(w.pending) >= w.opts.MaxPending {
			w.m.dropped.Inc()
			continue
		}
		w.pending[s.Key] = s
	}
}

// expire deletes suspects past the retention.
func (w *SuspectWriter) expire(ctx context.Context) {
	ret := w.db.cfg.SuspectRetention
	if ret <= 0 {
		return
	}
	n, err := w.db.DeleteSuspectsBefore(ctx, w.db.now().Add(-ret))
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			w.failed("unable to delete expired suspects", err, 0)
		}
		return
	}
	w.m.deleted.Add(float64(n))
	if n > 0 {
		w.log.Info("store: expired suspects deleted", "count", n, "retention", ret)
	}
}

// failed counts an error and logs it, at most once a minute.
func (w *SuspectWriter) failed(msg string, err error, n int) {
	w.m.errors.Inc()
	w.errMu.Lock()
	defer w.errMu.Unlock()
	w.failures++
	now := w.db.now()
	if now.Sub(w.lastLog) < time.Minute {
		return
	}
	w.log.Error("store: "+msg, "suspects", n, "errors", w.failures, "error", err)
	w.lastLog, w.failures = now, 0
}
