package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/daemon"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/enforce/abuse"
	"github.com/acd-org/acd/enforce/bgp"
	"github.com/acd-org/acd/enforce/crowdsec"
	"github.com/acd-org/acd/enforce/nft"
	"github.com/acd-org/acd/enforce/police"
	"github.com/acd-org/acd/enforce/reidentify"
	"github.com/acd-org/acd/enforce/rpz"
	"github.com/acd-org/acd/minimize"
	"github.com/acd-org/acd/store"
	"github.com/acd-org/acd/verify"
)

// enforceConfig is the "enforce" section: the enforcement side's own
// keys (record_only, rails, reconcile_every) and one section per adapter.
// An adapter runs when its section enables it.
type enforceConfig struct {
	enforce.Config `yaml:",inline"`
	CrowdSec       crowdsecConfig            `yaml:"crowdsec"`
	NFT            switchable[nft.Config]    `yaml:"nftables"` // blocks in the local nftables (table inet acd)
	BGP            switchable[bgp.Config]    `yaml:"bgp"`      // FlowSpec and RTBH through the embedded speaker
	RPZ            switchable[rpz.Config]    `yaml:"rpz"`      // the DNS response-policy zone for sinkholes
	Abuse          switchable[abuse.Config]  `yaml:"abuse"`    // ARF/X-ARF abuse reports
	Police         switchable[police.Config] `yaml:"police"`   // signed evidence packages for the channels
}

// switchable is an adapter's section: its own keys, and enabled, which
// runs it.
type switchable[T interface{ Validate() error }] struct {
	Config  T    `yaml:",inline"`
	Enabled bool `yaml:"enabled"`
}

// validate checks the section when the adapter is enabled.
func (s switchable[T]) validate(name string) error {
	if !s.Enabled {
		return nil
	}
	if err := s.Config.Validate(); err != nil {
		return fmt.Errorf("enforce.%s: %w", name, err)
	}
	return nil
}

func defaultEnforceConfig() enforceConfig {
	return enforceConfig{Config: enforce.DefaultConfig(), CrowdSec: crowdsecConfig{Config: crowdsec.DefaultConfig()},
		NFT: switchable[nft.Config]{Config: nft.DefaultConfig()}, BGP: switchable[bgp.Config]{Config: bgp.DefaultConfig()},
		RPZ: switchable[rpz.Config]{Config: rpz.DefaultConfig()}, Abuse: switchable[abuse.Config]{Config: abuse.DefaultConfig()},
		Police: switchable[police.Config]{Config: police.DefaultConfig()}}
}

func (c enforceConfig) validate() error {
	errs := []error{c.Config.Validate(), c.NFT.validate("nftables"), c.RPZ.validate("rpz"), c.BGP.validate("bgp"),
		c.Abuse.validate("abuse"), c.Police.validate("police")}
	if c.CrowdSec.Listen != "" {
		if _, _, err := net.SplitHostPort(c.CrowdSec.Listen); err != nil {
			errs = append(errs, fmt.Errorf("enforce.crowdsec.listen %q: %w", c.CrowdSec.Listen, err))
		}
		if err := c.CrowdSec.Config.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("enforce.crowdsec: %w", err))
		}
	}
	return errors.Join(errs...)
}

// crowdsecConfig enables the CrowdSec decision stream for block actions:
// acd serves the Local API endpoints bouncers poll on Listen.
type crowdsecConfig struct {
	crowdsec.Config `yaml:",inline"`
	// Listen is the address bouncers pull from ("" disables the
	// adapter), e.g. "127.0.0.1:8081"; bouncer keys: acd bouncer add.
	Listen string `yaml:"listen"`
}

// enforcement is the enforcement side as the daemon runs it: the
// adapters the configuration enables (with their listeners and
// sessions), the gatekeeper's rails, and the reconciler that keeps the
// equipment in the desired state.
type enforcement struct {
	cfg      enforceConfig
	log      *slog.Logger
	reg      prometheus.Registerer
	adapters map[enforce.ActionType]enforce.Adapter
	parts    []daemon.Named // adapters' servers and sessions, started in order

	crowdsec    *crowdsec.Decisions
	rpz         *rpz.RPZ
	bgp         *bgp.Speaker
	reid        *reidentify.Adapter
	dossiers    *lateDossiers
	rails       *enforce.Rails
	never       atomic.Pointer[[]netip.Prefix]
	verifier    *verify.Verifier
	verifyEvery time.Duration
	watchStop   context.CancelFunc
	watchDone   chan struct{}
	reconciler  *enforce.Reconciler
}

// newEnforcement builds the adapters; it does no I/O.
func newEnforcement(cfg enforceConfig, owned []netip.Prefix, log *slog.Logger, reg prometheus.Registerer, screen *minimize.Screen, key ed25519.PrivateKey) (*enforcement, error) {
	e := &enforcement{cfg: cfg, log: log, reg: reg, adapters: cfg.Adapters(), dossiers: &lateDossiers{}}
	// The rails the gatekeeper and the reconciler share; the never-act
	// networks can be reloaded (SIGHUP) while acd runs.
	rails := cfg.Rails
	never := slices.Clone(rails.NeverAct)
	e.never.Store(&never)
	rails.NeverAct = nil
	rails.Dynamic = func() []netip.Prefix { return *e.never.Load() }
	e.rails = &rails
	// Re-identification goes through the screening stage, which checks
	// the authorization again itself; its results and dossiers come from
	// the cases once they run (start).
	e.reid = &reidentify.Adapter{Screen: screen}
	e.adapters[cases.ActionReidentify] = e.reid
	var blockers enforce.Fanout
	if cfg.CrowdSec.Listen != "" {
		d, err := crowdsec.NewDecisions(cfg.CrowdSec.Config, nil)
		if err != nil {
			return nil, err
		}
		e.crowdsec = d
		blockers = append(blockers, d)
	}
	if cfg.NFT.Enabled {
		n, err := nft.New(cfg.NFT.Config, nft.Deps{Logger: log.With("adapter", "nft"), Registerer: reg})
		if err != nil {
			return nil, err
		}
		blockers = append(blockers, n)
		e.parts = append(e.parts, daemon.Named{Name: "nftables", Component: ctxStop{n}})
	}
	switch len(blockers) {
	case 0:
	case 1:
		e.adapters[cases.ActionBlock] = blockers[0]
	default:
		e.adapters[cases.ActionBlock] = blockers // every block on each
	}
	if cfg.BGP.Enabled {
		bc := cfg.BGP.Config
		if len(bc.OwnedPrefixes) == 0 {
			bc.OwnedPrefixes = owned // the cases policy's: RTBH only inside them
		}
		sp, err := bgp.New(bc, bgp.Deps{Logger: log.With("adapter", "bgp")})
		if err != nil {
			return nil, err
		}
		e.bgp = sp
		e.adapters[cases.ActionFlowSpec] = sp
		e.adapters[cases.ActionRTBH] = sp
		e.parts = append(e.parts, daemon.Named{Name: "bgp", Component: sp})
	}
	if cfg.Abuse.Enabled {
		r, err := abuse.New(cfg.Abuse.Config, abuse.Deps{Logger: log.With("adapter", "abuse"), Dossiers: e.dossiers})
		if err != nil {
			return nil, err
		}
		e.adapters[cases.ActionAbuseReport] = r
		e.parts = append(e.parts, daemon.Named{Name: "abuse", Component: startOnly{r}})
	}
	if cfg.Police.Enabled {
		p, err := police.New(cfg.Police.Config, police.Deps{Logger: log.With("adapter", "police"), Dossiers: e.dossiers,
			Key: key, KeyID: store.KeyID(key.Public().(ed25519.PublicKey))})
		if err != nil {
			return nil, err
		}
		e.adapters[cases.ActionPoliceRequest] = p
		e.parts = append(e.parts, daemon.Named{Name: "police", Component: startOnly{p}})
	}
	if cfg.RPZ.Enabled {
		z, err := rpz.New(cfg.RPZ.Config, rpz.Deps{Logger: log.With("adapter", "rpz")})
		if err != nil {
			return nil, err
		}
		e.rpz = z
		e.adapters[cases.ActionSinkhole] = z
		e.parts = append(e.parts, daemon.Named{Name: "rpz", Component: stopErr{z}})
	}
	return e, nil
}

// stopErr adapts a part whose Stop returns an error (logged by its own
// logger) to daemon.Component.
type stopErr struct {
	p interface {
		Start(context.Context) error
		Stop() error
	}
}

func (s stopErr) Start(ctx context.Context) error { return s.p.Start(ctx) }
func (s stopErr) Stop()                           { _ = s.p.Stop() }

// ctxStop adapts a part whose Stop takes a context and returns an error.
type ctxStop struct {
	p interface {
		Start(context.Context) error
		Stop(context.Context) error
	}
}

func (s ctxStop) Start(ctx context.Context) error { return s.p.Start(ctx) }
func (s ctxStop) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.p.Stop(ctx)
}

// startOnly adapts a part that only needs starting.
type startOnly struct {
	p interface{ Start(context.Context) error }
}

func (s startOnly) Start(ctx context.Context) error { return s.p.Start(ctx) }
func (startOnly) Stop()                             {}

// lateDossiers is the cases' dossiers once the cases run (one-shot
// adapters are built before them).
type lateDossiers struct{ src enforce.DossierSource }

func (l *lateDossiers) Dossier(ctx context.Context, id string) (enforce.Dossier, error) {
	if l.src == nil {
		return enforce.Dossier{}, errCasesDown
	}
	return l.src.Dossier(ctx, id)
}

// start starts the adapters' parts, then the reconciler over svc (the
// actions in effect; retraction through the cases).
func (e *enforcement) start(ctx context.Context, db *store.DB, svc *store.Cases) error {
	e.reid.Results, e.reid.Dossiers = svc, svc
	e.dossiers.src = svc
	if e.crowdsec != nil {
		e.parts = append([]daemon.Named{{Name: "crowdsec", Component: &httpPart{
			addr: e.cfg.CrowdSec.Listen, log: e.log.With("adapter", "crowdsec"),
			handler: &crowdsec.Server{Decisions: e.crowdsec, Keys: db.BouncerKeys(), Log: e.log.With("adapter", "crowdsec")},
		}}}, e.parts...)
	}
	for i, p := range e.parts {
		if err := p.Start(ctx); err != nil {
			for j := i - 1; j >= 0; j-- {
				e.parts[j].Stop()
			}
			return fmt.Errorf("enforce: %s: %w", p.Name, err)
		}
	}
	e.reconciler = &enforce.Reconciler{Desired: svc.InEffect, Adapters: e.adapters, Rails: e.rails, Retract: svc.Retract,
		Every: e.cfg.ReconcileEvery, Log: e.log.With("part", "reconcile"), Registerer: e.reg}
	if err := e.reconciler.Start(ctx); err != nil {
		e.stopParts()
		return err
	}
	if e.verifier != nil {
		wctx, cancel := context.WithCancel(context.Background())
		e.watchStop, e.watchDone = cancel, make(chan struct{})
		go e.watch(wctx, svc)
	}
	names := make([]string, 0, len(e.adapters))
	for t, a := range e.adapters {
		names = append(names, string(t)+"="+a.Name())
	}
	e.log.Info("enforcement ready", "adapters", names, "dry_run", e.cfg.Rails.DryRun)
	if len(e.adapters) == 0 {
		e.log.Warn("no enforcement adapter is configured: approved actions are refused at execution (configure enforce.crowdsec, … or enforce.record_only)")
	}
	return nil
}

// reloadNeverAct puts never in force as the never-act networks (a
// configuration reload) and has the reconciler retract at once what they
// now cover.
func (e *enforcement) reloadNeverAct(never []netip.Prefix) {
	never = slices.Clone(never)
	e.never.Store(&never)
	e.log.Info("never-act networks reloaded", "networks", len(never))
	if e.reconciler != nil {
		e.reconciler.Kick()
	}
}

func (e *enforcement) stop() {
	if e.watchStop != nil {
		e.watchStop()
		<-e.watchDone
		e.watchStop = nil
	}
	if e.reconciler != nil {
		e.reconciler.Stop()
	}
	e.stopParts()
}

func (e *enforcement) stopParts() {
	for i := len(e.parts) - 1; i >= 0; i-- {
		e.parts[i].Stop()
	}
	e.parts = nil
}

// enforcementStatus is GET /api/v1/enforcement's body.
type enforcementStatus struct {
	ReconciledAt time.Time                `json:"reconciled_at,omitzero"`
	DryRun       bool                     `json:"dry_run"`
	Adapters     []enforce.AdapterStatus  `json:"adapters"`
	Bouncers     []crowdsec.BouncerStatus `json:"bouncers,omitempty"`
	RPZ          *rpzStatus               `json:"rpz,omitempty"`
	BGP          *bgp.Status              `json:"bgp,omitempty"`
	Verify       []verify.WatchStatus     `json:"verify,omitempty"`
}

type rpzStatus struct {
	Zone   string    `json:"zone"`
	Serial uint32    `json:"serial"`
	Stats  rpz.Stats `json:"stats"`
}

// EnforcementStatus implements api.Enforcement.
func (e *enforcement) EnforcementStatus(ctx context.Context) (any, error) {
	st := enforcementStatus{DryRun: e.cfg.Rails.DryRun, Adapters: []enforce.AdapterStatus{}}
	if e.reconciler != nil {
		st.Adapters, st.ReconciledAt = e.reconciler.Status()
	}
	if e.crowdsec != nil {
		st.Bouncers = e.crowdsec.Bouncers()
	}
	if e.rpz != nil {
		st.RPZ = &rpzStatus{Zone: e.cfg.RPZ.Config.Zone, Serial: e.rpz.Serial(), Stats: e.rpz.Stats()}
	}
	if e.verifier != nil {
		st.Verify = e.verifier.Status()
	}
	if e.bgp != nil {
		bs, err := e.bgp.Status(ctx)
		if err != nil {
			return nil, err
		}
		st.BGP = &bs
	}
	return st, nil
}

// httpPart serves handler on addr from Start to Stop.
type httpPart struct {
	addr    string
	handler http.Handler
	log     *slog.Logger
	tls     *tls.Config // nil: plain HTTP
	srv     *http.Server
	done    chan struct{}
}

func (h *httpPart) Start(context.Context) error {
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return err
	}
	if h.tls != nil {
		ln = tls.NewListener(ln, h.tls)
	}
	h.srv = &http.Server{Handler: h.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, TLSConfig: h.tls}
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("listener failed", "addr", h.addr, "err", err)
		}
	}()
	h.log.Info("listening", "addr", ln.Addr().String(), "tls", h.tls != nil)
	return nil
}

func (h *httpPart) Stop() {
	if h.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
	<-h.done
}

// watch tells the verifier what to follow, every verify.interval: the
// actions of cases not yet executed (prewatched, so that there is a
// "before" when they run) and the actions in effect (watched from when
// they were executed); it stops following what is neither.
func (e *enforcement) watch(ctx context.Context, svc *store.Cases) {
	defer close(e.watchDone)
	t := time.NewTicker(e.verifyEvery)
	defer t.Stop()
	followed := map[string]bool{}
	for {
		now := map[string]bool{}
		var listErr error
		// Every action of a case that may still run is prewatched — also
		// the actions not yet executed of a case another action of which
		// made it active —, so that each has its "before" when it runs.
		for _, st := range []cases.State{cases.StateDraft, cases.StateRequested, cases.StateApproved,
			cases.StateActive, cases.StateEffective, cases.StateIneffective} {
			cs, total, err := svc.Cases(ctx, cases.Filter{State: st, Limit: 1000})
			if err == nil && total > len(cs) {
				err = fmt.Errorf("%d %s cases, more than the %d followed", total, st, len(cs))
			}
			if err != nil {
				if ctx.Err() == nil {
					e.log.Error("verify: unable to list cases", "err", err)
				}
				listErr = err
				break
			}
			for _, c := range cs {
				for i, a := range c.Actions {
					it := enforce.Item{Case: c, Index: i, Action: a}
					if err := e.verifier.Prewatch(it, a.NotAfter); err != nil {
						e.log.Warn("verify: unable to prewatch", "item", it.Key(), "err", err)
						continue
					}
					now[it.Key()] = true
				}
			}
		}
		items, err := svc.InEffect(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("verify: unable to read the actions in effect", "err", err)
		}
		for _, it := range items {
			if err := e.verifier.Watch(it, it.Since, nil); err != nil {
				e.log.Warn("verify: unable to watch", "item", it.Key(), "err", err)
				continue
			}
			now[it.Key()] = true
		}
		if err == nil && listErr == nil { // an incomplete picture unwatches nothing
			for k := range followed {
				if !now[k] {
					e.verifier.Unwatch(k)
				}
			}
			followed = now
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// verdict records a verdict of the verifier on its case (store.Cases.Verified).
func (e *enforcement) verdict(svc func() (*store.Cases, error), r verify.Result) {
	s, err := svc()
	if err != nil {
		e.log.Warn("verify: verdict not recorded: the cases are not running", "item", r.Key, "verdict", r.Verdict)
		return
	}
	figures := map[string]any{
		"before_flows_per_min": r.Before.Flows, "before_packets_per_min": r.Before.Packets, "before_bytes_per_min": r.Before.Bytes,
		"after_flows_per_min": r.After.Flows, "after_packets_per_min": r.After.Packets, "after_bytes_per_min": r.After.Bytes,
		"baseline": r.Baseline, "window": r.Window.String(), "active_at": r.ActiveAt,
		"before_window": r.BeforeWindow, "after_window": r.AfterWindow,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := s.Verified(ctx, r.CaseID, cases.Verdict{Action: r.Index, Verdict: string(r.Verdict), At: time.Now(), Reason: r.Reason}, figures)
	if err != nil {
		e.log.Error("verify: unable to record a verdict", "item", r.Key, "verdict", r.Verdict, "err", err)
		return
	}
	lvl := slog.LevelInfo
	if r.Verdict == verify.Ineffective {
		lvl = slog.LevelWarn // escalated to the analysts
	}
	e.log.Log(ctx, lvl, "action verified", "case", r.CaseID, "action", r.Index, "verdict", r.Verdict, "state", c.State, "reason", r.Reason)
}
