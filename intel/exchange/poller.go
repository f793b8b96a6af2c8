package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/taxii/client"
	"github.com/prometheus/client_golang/prometheus"
)

// Poller defaults.
const (
	DefaultPollEvery  = time.Minute
	DefaultMaxBackoff = 30 * time.Minute
)

// maxContext bounds the relationships and infrastructure kept per
// partner as context for ToSuspects; past it the context restarts empty.
const maxContext = 200_000

// ErrUnknownPartner is returned by SyncNow for a partner not configured.
var ErrUnknownPartner = errors.New("exchange: unknown partner")

// Remote is one partner to poll: its gate (agreement and ledger), a TAXII
// client for its server, the API root URL and the collections to poll
// (empty: the agreement's incoming collections).
type Remote struct {
	Gate        *share.Gate
	Client      *client.Client
	APIRoot     string   // the API root URL ("https://taxii.partner.example/api1/")
	Collections []string // the partner's collection ids; empty: Gate.Agreement.Incoming.Collections
}

func (r *Remote) name() string { return r.Gate.Agreement.Partner }

func (r *Remote) collections() []string {
	if len(r.Collections) > 0 {
		return r.Collections
	}
	return r.Gate.Agreement.Incoming.Collections
}

// Poller takes in what partners share (see the package doc for the
// steps). Set the fields, then call Run or SyncNow, or Start and Stop;
// the fields must not change after the first call. Syncs are
// serialized.
type Poller struct {
	Partners   []Remote
	Sink       Sink
	Bookmarks  Bookmarks             // nil: in memory
	Every      time.Duration         // Start's interval (default 1 min)
	MaxBackoff time.Duration         // longest wait after failures (default 30 min)
	Now        func() time.Time      // nil: time.Now
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: metrics not registered

	once    sync.Once
	initErr error
	m       *pollMetrics
	run     sync.Mutex // serializes syncs; guards state
	state   map[string]*partnerState
	loop    loop
}

// partnerState is what the Poller remembers of a partner.
type partnerState struct {
	failures int
	retry    time.Time              // no scheduled sync before
	context  map[string]stix.Object // indicates relationships and infrastructure, by id (latest version)
}

// PollStats counts what a sync did.
type PollStats struct {
	Partners  int // partners synced
	Deferred  int // partners skipped while backing off
	Received  int // objects fetched
	Invalid   int // objects that are not STIX (stix.Parse)
	Accepted  int // objects the gates accepted
	Refused   int // objects the gates refused
	Added     int // candidates handed to Sink.Add
	Withdrawn int // candidates handed to Sink.Withdraw
	Skipped   int // candidates without role, or that the sink does not take
}

func (s *PollStats) add(o PollStats) {
	s.Partners += o.Partners
	s.Deferred += o.Deferred
	s.Received += o.Received
	s.Invalid += o.Invalid
	s.Accepted += o.Accepted
	s.Refused += o.Refused
	s.Added += o.Added
	s.Withdrawn += o.Withdrawn
	s.Skipped += o.Skipped
}

func (p *Poller) init() error {
	p.once.Do(func() {
		if p.Sink == nil {
			p.initErr = errors.New("unable to poll: Sink is required")
			return
		}
		for i := range p.Partners {
			if p.Partners[i].Gate == nil || p.Partners[i].Client == nil {
				p.initErr = fmt.Errorf("unable to poll: partner %d has no Gate or Client", i)
				return
			}
		}
		if p.Bookmarks == nil {
			p.Bookmarks = &MemBookmarks{}
		}
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
		if p.Now == nil {
			p.Now = time.Now
		}
		if p.Every <= 0 {
			p.Every = DefaultPollEvery
		}
		if p.MaxBackoff <= 0 {
			p.MaxBackoff = DefaultMaxBackoff
		}
		p.state = map[string]*partnerState{}
		m, err := newPollMetrics(p.Registerer)
		if err != nil {
			p.initErr = fmt.Errorf("unable to register the poller metrics: %w", err)
		}
		p.m = m
	})
	return p.initErr
}

// Run syncs every partner once, except those backing off after a
// failure (counted in Deferred). Errors of one partner do not stop the
// others (they are joined).
func (p *Poller) Run(ctx context.Context) (PollStats, error) {
	if err := p.init(); err != nil {
		return PollStats{}, err
	}
	p.run.Lock()
	defer p.run.Unlock()
	var st PollStats
	var errs []error
	for i := range p.Partners {
		r := &p.Partners[i]
		if p.partner(r.name()).retry.After(p.Now()) {
			st.Deferred++
			continue
		}
		s, err := p.sync(ctx, r)
		st.add(s)
		errs = append(errs, err)
	}
	return st, errors.Join(errs...)
}

// SyncNow syncs one partner at once, backoff or not ("sync now").
func (p *Poller) SyncNow(ctx context.Context, partner string) (PollStats, error) {
	if err := p.init(); err != nil {
		return PollStats{}, err
	}
	p.run.Lock()
	defer p.run.Unlock()
	for i := range p.Partners {
		if p.Partners[i].name() == partner {
			return p.sync(ctx, &p.Partners[i])
		}
	}
	return PollStats{}, fmt.Errorf("unable to sync %q: %w", partner, ErrUnknownPartner)
}

func (p *Poller) partner(name string) *partnerState {
	ps := p.state[name]
	if ps == nil {
		ps = &partnerState{context: map[string]stix.Object{}}
		p.state[name] = ps
	}
	return ps
}

// sync polls every collection of r, and sets the backoff.
func (p *Poller) sync(ctx context.Context, r *Remote) (PollStats, error) {
	st := PollStats{Partners: 1}
	var errs []error
	for _, col := range r.collections() {
		if err := p.pollCollection(ctx, r, col, &st); err != nil {
			errs = append(errs, fmt.Errorf("unable to sync %s collection %s: %w", r.name(), col, err))
		}
	}
	err := errors.Join(errs...)
	ps := p.partner(r.name())
	now := p.Now()
	if err != nil {
		ps.failures++
		wait := min(p.MaxBackoff, p.Every<<min(ps.failures-1, 20))
		ps.retry = now.Add(wait)
		p.m.syncs.WithLabelValues(r.name(), "error").Inc()
		p.Logger.Warn("partner sync failed", "partner", r.name(), "failures", ps.failures, "retry_in", wait, "error", err)
		return st, err
	}
	ps.failures, ps.retry = 0, time.Time{}
	p.m.syncs.WithLabelValues(r.name(), "ok").Inc()
	p.m.lastSync.WithLabelValues(r.name()).Set(float64(now.UnixNano()) / 1e9)
	return st, nil
}

// pollCollection takes in what col holds past its bookmark. What was
// fetched before an error is still taken in and bookmarked.
func (p *Poller) pollCollection(ctx context.Context, r *Remote, col string, st *PollStats) error {
	since, err := p.Bookmarks.Get(ctx, r.name(), col)
	if err != nil {
		return fmt.Errorf("unable to read the bookmark: %w", err)
	}
	var raws []json.RawMessage
	mark, perr := r.Client.Poll(ctx, r.APIRoot, col, since, client.Filter{}, func(pg client.Page) error {
		raws = append(raws, pg.Objects...)
		return nil
	})
	if len(raws) > 0 {
		if err := p.ingest(ctx, r, raws, st); err != nil {
			return errors.Join(perr, err)
		}
	}
	if mark.After(since) {
		if err := p.Bookmarks.Set(ctx, r.name(), col, mark); err != nil {
			return errors.Join(perr, fmt.Errorf("unable to save the bookmark: %w", err))
		}
	}
	if perr != nil {
		return fmt.Errorf("unable to poll: %w", perr)
	}
	return nil
}

// ingest takes in one batch of a partner's objects. It fails only when
// the ledger or the sink does (then the batch is fetched again).
func (p *Poller) ingest(ctx context.Context, r *Remote, raws []json.RawMessage, st *PollStats) error {
	name, now := r.name(), p.Now()
	st.Received += len(raws)
	p.m.received.WithLabelValues(name).Add(float64(len(raws)))
	var accepted []stix.Object
	for _, raw := range raws {
		o, err := stix.Parse(raw)
		if err != nil {
			st.Invalid++
			p.m.decisions.WithLabelValues(name, "parse").Inc()
			continue
		}
		ok, reason, err := r.Gate.Incoming(ctx, o, now)
		if err != nil {
			return fmt.Errorf("unable to decide on %s: %w", o.ID, err)
		}
		p.m.decisions.WithLabelValues(name, string(reason)).Inc()
		if !ok {
			st.Refused++
			continue
		}
		st.Accepted++
		accepted = append(accepted, o)
	}
	ps := p.partner(name)
	objs := make([]stix.Object, 0, len(ps.context)+len(accepted))
	for _, o := range ps.context {
		objs = append(objs, o)
	}
	objs = append(objs, accepted...)
	ps.remember(accepted)
	cands, err := share.ToSuspects(objs, name, r.Gate.Agreement.Incoming.Trust, now)
	if err != nil {
		return fmt.Errorf("unable to read candidates: %w", err)
	}
	return p.hand(name, cands, st)
}

// hand gives the candidates to the sink.
func (p *Poller) hand(name string, cands []share.Incoming, st *PollStats) error {
	var errs []error
	count := func(op string) { p.m.suspects.WithLabelValues(name, op).Inc() }
	for _, in := range cands {
		var err error
		op := "added"
		switch {
		case in.Withdrawn():
			op, err = "withdrawn", p.Sink.Withdraw(in)
		case in.Role == "":
			count("norole")
			st.Skipped++
			continue
		default:
			err = p.Sink.Add(in)
		}
		switch {
		case errors.Is(err, ErrUnsupported):
			count("unsupported")
			st.Skipped++
		case err != nil:
			count("error")
			errs = append(errs, err)
		case op == "added":
			count(op)
			st.Added++
		default:
			count(op)
			st.Withdrawn++
		}
	}
	return errors.Join(errs...)
}

// remember keeps the indicates relationships and the infrastructure of
// objs (latest version) as context for later batches.
func (ps *partnerState) remember(objs []stix.Object) {
	if len(ps.context) > maxContext {
		clear(ps.context)
	}
	for _, o := range objs {
		if o.Type != stix.TypeInfrastructure && o.Type != stix.TypeRelationship {
			continue
		}
		if old, ok := ps.context[o.ID]; ok && old.Modified.After(o.Modified.Time) {
			continue
		}
		ps.context[o.ID] = o
	}
}

// Start runs Run now and every Every (default 1 min) until Stop or ctx
// ends; a failing partner waits Every × 2^(failures-1), at most
// MaxBackoff. Errors are logged and counted.
func (p *Poller) Start(ctx context.Context) error {
	if err := p.init(); err != nil {
		return err
	}
	return p.loop.start(ctx, p.Every, func(ctx context.Context) {
		if _, err := p.Run(ctx); err != nil && ctx.Err() == nil {
			p.Logger.Debug("poll run had errors", "error", err)
		}
	})
}

// Stop ends what Start started and waits for a running Run to return.
func (p *Poller) Stop() { p.loop.stop() }
