package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/daemon"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/enforce/crowdsec"
	"github.com/acd-org/acd/enforce/reidentify"
	"github.com/acd-org/acd/minimize"
	"github.com/acd-org/acd/store"
)

// enforceConfig is the "enforce" section: the enforcement side's own
// keys (record_only, rails, reconcile_every) and one section per adapter.
// An adapter runs when its section enables it.
type enforceConfig struct {
	enforce.Config `yaml:",inline"`
	CrowdSec       crowdsecConfig `yaml:"crowdsec"`
}

func defaultEnforceConfig() enforceConfig {
	return enforceConfig{Config: enforce.DefaultConfig(), CrowdSec: crowdsecConfig{Config: crowdsec.DefaultConfig()}}
}

func (c enforceConfig) validate() error {
	errs := []error{c.Config.Validate()}
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

	crowdsec   *crowdsec.Decisions
	reid       *reidentify.Adapter
	reconciler *enforce.Reconciler
}

// newEnforcement builds the adapters; it does no I/O.
func newEnforcement(cfg enforceConfig, log *slog.Logger, reg prometheus.Registerer, screen *minimize.Screen) (*enforcement, error) {
	e := &enforcement{cfg: cfg, log: log, reg: reg, adapters: cfg.Adapters()}
	// Re-identification goes through the screening stage, which checks
	// the authorization again itself; its results and dossiers come from
	// the cases once they run (start).
	e.reid = &reidentify.Adapter{Screen: screen}
	e.adapters[cases.ActionReidentify] = e.reid
	if cfg.CrowdSec.Listen != "" {
		d, err := crowdsec.NewDecisions(cfg.CrowdSec.Config, nil)
		if err != nil {
			return nil, err
		}
		e.crowdsec = d
		e.adapters[cases.ActionBlock] = d
	}
	return e, nil
}

// start starts the adapters' parts, then the reconciler over svc (the
// actions in effect; retraction through the cases).
func (e *enforcement) start(ctx context.Context, db *store.DB, svc *store.Cases) error {
	e.reid.Results, e.reid.Dossiers = svc, svc
	if e.crowdsec != nil {
		e.parts = append(e.parts, daemon.Named{Name: "crowdsec", Component: &httpPart{
			addr: e.cfg.CrowdSec.Listen, log: e.log.With("adapter", "crowdsec"),
			handler: &crowdsec.Server{Decisions: e.crowdsec, Keys: db.BouncerKeys(), Log: e.log.With("adapter", "crowdsec")},
		}})
	}
	for i, p := range e.parts {
		if err := p.Start(ctx); err != nil {
			for j := i - 1; j >= 0; j-- {
				e.parts[j].Stop()
			}
			return fmt.Errorf("enforce: %s: %w", p.Name, err)
		}
	}
	rails := e.cfg.Rails
	e.reconciler = &enforce.Reconciler{Desired: svc.InEffect, Adapters: e.adapters, Rails: &rails, Retract: svc.Retract,
		Every: e.cfg.ReconcileEvery, Log: e.log.With("part", "reconcile"), Registerer: e.reg}
	if err := e.reconciler.Start(ctx); err != nil {
		e.stopParts()
		return err
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

func (e *enforcement) stop() {
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
}

// EnforcementStatus implements api.Enforcement.
func (e *enforcement) EnforcementStatus(context.Context) (any, error) {
	st := enforcementStatus{DryRun: e.cfg.Rails.DryRun, Adapters: []enforce.AdapterStatus{}}
	if e.reconciler != nil {
		st.Adapters, st.ReconciledAt = e.reconciler.Status()
	}
	if e.crowdsec != nil {
		st.Bouncers = e.crowdsec.Bouncers()
	}
	return st, nil
}

// httpPart serves handler on addr from Start to Stop.
type httpPart struct {
	addr    string
	handler http.Handler
	log     *slog.Logger
	srv     *http.Server
	done    chan struct{}
}

func (h *httpPart) Start(context.Context) error {
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return err
	}
	h.srv = &http.Server{Handler: h.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("listener failed", "addr", h.addr, "err", err)
		}
	}()
	h.log.Info("listening", "addr", ln.Addr().String())
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
