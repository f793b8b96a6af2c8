package enforce

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reconciler keeps the equipment in the desired state: on Start and then
// every period it reads the actions in effect (Desired), retracts those a
// safety rail now covers (an allow-list grew), and hands every Syncer
// adapter exactly its items, so that drift — a rule removed by hand, a
// session reset, an expiry missed while acd was down — is found,
// repaired, counted and shown. One-shot adapters (abuse reports, police
// requests) are not re-asserted.
type Reconciler struct {
	// Desired returns the actions in effect; required.
	Desired func(ctx context.Context) ([]Item, error)
	// Adapters are the gatekeeper's adapters, by action type. Adapters
	// are told apart by Name: one adapter may serve several types.
	Adapters map[ActionType]Adapter
	// Rails, when set, are checked for every item in effect; an item
	// they now refuse is retracted. With Rails.DryRun no adapter is
	// synced (nothing was applied).
	Rails *Rails
	// Retract withdraws one item through the case service (audited);
	// required when Rails is set.
	Retract func(ctx context.Context, it Item, why string) error
	// Every is the period (30 s when zero or negative).
	Every time.Duration
	// Log receives repairs and errors (discarded when nil).
	Log *slog.Logger
	// Registerer, when set, receives the reconciler's metrics.
	Registerer prometheus.Registerer
	// OnRun, when set, is called after each run (tests).
	OnRun func(Report)

	initOnce sync.Once
	metrics  *reconcileMetrics
	mu       sync.Mutex
	status   map[string]*AdapterStatus
	runs     int
	last     time.Time
	kick     chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Report is one reconciliation.
type Report struct {
	At        time.Time       `json:"at"`
	Desired   int             `json:"desired"`
	Retracted []string        `json:"retracted,omitempty"` // item keys a rail now covers
	Adapters  []AdapterReport `json:"adapters"`
	Err       error           `json:"-"`
}

// AdapterReport is one adapter's part of a Report.
type AdapterReport struct {
	Adapter string `json:"adapter"`
	Drift   Drift  `json:"drift"`
	Error   string `json:"error,omitempty"`
}

// AdapterStatus is what the reconciler knows of one adapter so far.
type AdapterStatus struct {
	Adapter  string       `json:"adapter"`
	Types    []ActionType `json:"types"`
	Syncs    bool         `json:"syncs"` // false: one-shot, not re-asserted
	Desired  int          `json:"desired"`
	LastRun  time.Time    `json:"last_run,omitzero"`
	LastOK   time.Time    `json:"last_ok,omitzero"`
	LastErr  string       `json:"last_error,omitempty"`
	Drift    Drift        `json:"last_drift"`
	Repaired int          `json:"repaired_total"`
}

type reconcileMetrics struct {
	runs      prometheus.Counter
	desired   *prometheus.GaugeVec
	drift     *prometheus.CounterVec
	errors    *prometheus.CounterVec
	retracted prometheus.Counter
}

func (r *Reconciler) init() {
	r.initOnce.Do(func() {
		r.status = map[string]*AdapterStatus{}
		r.kick = make(chan struct{}, 1)
		for _, t := range sortedTypes(r.Adapters) {
			ad := r.Adapters[t]
			st := r.status[ad.Name()]
			if st == nil {
				_, syncs := ad.(Syncer)
				st = &AdapterStatus{Adapter: ad.Name(), Syncs: syncs}
				r.status[ad.Name()] = st
			}
			st.Types = append(st.Types, t)
		}
		m := &reconcileMetrics{
			runs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "acd", Subsystem: "enforce", Name: "reconcile_runs_total",
				Help: "Reconciliations of the actions in effect with the equipment."}),
			desired: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "acd", Subsystem: "enforce", Name: "desired",
				Help: "Actions in effect per adapter at the last reconciliation."}, []string{"adapter"}),
			drift: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "enforce", Name: "drift_repaired_total",
				Help: "Differences between the equipment and the actions in effect, repaired, by kind (missing, extra, changed)."}, []string{"adapter", "kind"}),
			errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "enforce", Name: "sync_errors_total",
				Help: "Reconciliations of an adapter that failed (retried next period)."}, []string{"adapter"}),
			retracted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "acd", Subsystem: "enforce", Name: "retracted_total",
				Help: "Actions in effect withdrawn because a safety rail now covers them."}),
		}
		if r.Registerer != nil {
			r.Registerer.MustRegister(m.runs, m.desired, m.drift, m.errors, m.retracted)
		}
		r.metrics = m
	})
}

func sortedTypes(m map[ActionType]Adapter) []ActionType {
	ts := make([]ActionType, 0, len(m))
	for t, ad := range m {
		if ad != nil {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return ts
}

// Run reconciles once: it reads the desired items, retracts what the
// rails now refuse, and syncs every Syncer with its items (an empty list
// too, so that what acd left behind is removed). Adapters are synced one
// after another; an adapter's failure does not stop the others.
func (r *Reconciler) Run(ctx context.Context) Report {
	r.init()
	rep := Report{At: time.Now().UTC()}
	if r.Desired == nil {
		rep.Err = errors.New("enforce: the reconciler needs the desired state")
		return rep
	}
	items, err := r.Desired(ctx)
	if err != nil {
		rep.Err = fmt.Errorf("enforce: unable to read the actions in effect: %w", err)
		r.logger().Error("reconcile", "err", rep.Err)
		return rep
	}
	var (
		errs  []error
		never []netip.Prefix
	)
	if r.Rails != nil {
		never = r.Rails.never()
	}
	byAdapter := map[string][]Item{}
	for _, it := range items {
		if r.Rails != nil {
			if rerr := r.Rails.covered(it.Action, never); rerr != nil {
				if r.Retract == nil {
					errs = append(errs, fmt.Errorf("enforce: %s: %w (and no way to retract it)", it.Key(), rerr))
				} else if xerr := r.Retract(ctx, it, rerr.Error()); xerr != nil {
					errs = append(errs, fmt.Errorf("enforce: retract %s: %w", it.Key(), xerr))
				} else {
					rep.Retracted = append(rep.Retracted, it.Key())
					r.metrics.retracted.Inc()
					r.logger().Warn("action retracted: a safety rail now covers it", "item", it.Key(), "target", it.Action.Target.String(), "rail", rerr.Error())
				}
				continue
			}
		}
		ad := r.Adapters[it.Action.Type]
		if ad == nil {
			continue // nothing can hold it; the gate refused it, or the configuration changed
		}
		byAdapter[ad.Name()] = append(byAdapter[ad.Name()], it)
		rep.Desired++
	}
	dry := r.Rails != nil && r.Rails.DryRun
	seen := map[string]bool{}
	for _, t := range sortedTypes(r.Adapters) {
		ad := r.Adapters[t]
		name := ad.Name()
		if seen[name] {
			continue
		}
		seen[name] = true
		want := byAdapter[name]
		slices.SortFunc(want, func(a, b Item) int { return cmp.Or(cmp.Compare(a.Case.ID, b.Case.ID), cmp.Compare(a.Index, b.Index)) })
		s, ok := ad.(Syncer)
		ar := AdapterReport{Adapter: name, Drift: Drift{Desired: len(want)}}
		if ok && !dry {
			d, serr := s.Sync(ctx, want)
			d.Desired = len(want)
			ar.Drift = d
			if serr != nil {
				ar.Error = serr.Error()
				errs = append(errs, fmt.Errorf("enforce: sync %s: %w", name, serr))
				r.metrics.errors.WithLabelValues(name).Inc()
				r.logger().Error("reconcile: sync failed", "adapter", name, "err", serr)
			}
			if d.Total() > 0 {
				r.metrics.drift.WithLabelValues(name, "missing").Add(float64(d.Missing))
				r.metrics.drift.WithLabelValues(name, "extra").Add(float64(d.Extra))
				r.metrics.drift.WithLabelValues(name, "changed").Add(float64(d.Changed))
				r.logger().Warn("reconcile: drift repaired", "adapter", name, "missing", d.Missing, "extra", d.Extra,
					"changed", d.Changed, "details", d.Details)
			}
		}
		r.metrics.desired.WithLabelValues(name).Set(float64(len(want)))
		r.record(ar, rep.At)
		rep.Adapters = append(rep.Adapters, ar)
	}
	r.metrics.runs.Inc()
	rep.Err = errors.Join(errs...)
	r.mu.Lock()
	r.runs++
	r.last = rep.At
	r.mu.Unlock()
	if r.OnRun != nil {
		r.OnRun(rep)
	}
	return rep
}

func (r *Reconciler) record(ar AdapterReport, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status[ar.Adapter]
	if st == nil {
		return
	}
	st.Desired, st.LastRun, st.Drift = ar.Drift.Desired, at, ar.Drift
	st.Repaired += ar.Drift.Total()
	st.LastErr = ar.Error
	if ar.Error == "" {
		st.LastOK = at
	}
}

// Status returns each adapter's status, by name, and when the last run
// was (zero before the first).
func (r *Reconciler) Status() ([]AdapterStatus, time.Time) {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]AdapterStatus, 0, len(r.status))
	for _, st := range r.status {
		v := *st
		v.Types = slices.Clone(st.Types)
		v.Drift.Details = slices.Clone(st.Drift.Details)
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b AdapterStatus) int { return cmp.Compare(a.Adapter, b.Adapter) })
	return out, r.last
}

// Kick asks for a run as soon as possible (after an allow-list change);
// it does not wait.
func (r *Reconciler) Kick() {
	r.init()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Start runs a reconciliation at once — after a restart the equipment
// may hold anything — and then every period and on Kick, until Stop.
func (r *Reconciler) Start(context.Context) error {
	r.init()
	if r.Desired == nil {
		return errors.New("enforce: the reconciler needs the desired state")
	}
	every := r.Every
	if every <= 0 {
		every = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			r.Run(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-r.kick:
			}
		}
	}()
	return nil
}

// Stop stops the periodic runs and waits for one in progress.
func (r *Reconciler) Stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

func (r *Reconciler) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}
