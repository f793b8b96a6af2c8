package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/notify"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/enforce/reidentify"
	"github.com/acd-org/acd/minimize"
	"github.com/acd-org/acd/store"
)

// casesEnabled reports whether the policy lets cases be decided: it
// names at least quorum commissioner keys. Without them the cases API
// answers 503 and says why at start.
func casesEnabled(p cases.Policy) bool {
	return len(p.Commissioners) > 0 && len(p.Commissioners) >= p.Quorum
}

// casesComponent builds the cases service over the open store (the gate
// with the commissioners' keys from the store, the enforcement
// gatekeeper) and runs the emergency review timer.
//
// The enforcement side (serve_enforce.go) runs with it: the adapters the
// configuration enables, the rails, the reconciler. A type without an
// adapter is refused (and audited) at execution instead of pretending to
// run, unless enforce.record_only gives it the Recorder.
type casesComponent struct {
	policy cases.Policy
	enf    *enforcement
	notify *notify.Notifier
	log    *slog.Logger
	st     *storeComponent

	svc      atomic.Pointer[store.Cases]
	reviewer *store.Reviewer
}

func (c *casesComponent) Start(ctx context.Context) error {
	db := c.st.db.Load()
	if db == nil {
		return errors.New("cases: the store is not open")
	}
	gate, err := cases.NewGate(c.policy, db.Keyring())
	if err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	if c.enf.cfg.RecordOnly {
		c.log.Warn("enforce.record_only: approved actions without a configured adapter pass the gate and are recorded, but nothing is carried out")
	}
	var svc *store.Cases
	// NewCases keeps a copy of the gatekeeper: everything is set first.
	gk := &enforce.Gatekeeper{Gate: gate, Adapters: c.enf.adapters, Rails: c.enf.rails,
		Active: func(ctx context.Context) (int, error) { return svc.InEffectCount(ctx) }}
	svc, err = store.NewCases(db, gk, c.policy, nil)
	if err != nil {
		return err
	}
	if err := svc.CheckEnforcement(ctx, c.enf.rails.DryRun, func(t cases.ActionType) bool {
		_, ok := c.enf.adapters[t]
		return ok
	}); err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	if c.notify != nil {
		svc.OnEvent(c.notify.Send)
	}
	if err := c.enf.start(ctx, db, svc); err != nil {
		return err
	}
	c.svc.Store(svc)
	c.reviewer = &store.Reviewer{Cases: svc, Log: c.log, Every: c.enf.cfg.TimersEvery}
	if err := c.reviewer.Start(ctx); err != nil {
		c.enf.stop()
		return err
	}
	c.log.Info("cases ready", "quorum", c.policy.Quorum, "commissioner_keys", len(c.policy.Commissioners),
		"enforcement_adapters", len(c.enf.adapters))
	return nil
}

func (c *casesComponent) Stop() {
	if c.reviewer != nil {
		c.reviewer.Stop()
	}
	c.svc.Store(nil)
	c.enf.stop()
}

var errCasesDown = fmt.Errorf("%w: the cases service is not running", cases.ErrState)

func (c *casesComponent) get() (*store.Cases, error) {
	if s := c.svc.Load(); s != nil {
		return s, nil
	}
	return nil, errCasesDown
}

// InEffect returns the actions in effect (for the console's overview and
// case pages).
func (c *casesComponent) InEffect(ctx context.Context) ([]enforce.Item, error) {
	s, err := c.get()
	if err != nil {
		return nil, err
	}
	return s.InEffect(ctx)
}

// The cases.Service methods delegate to the running service.

func (c *casesComponent) CreateCase(ctx context.Context, cs cases.Case, suspects []detect.Suspect) (cases.Case, error) {
	s, err := c.get()
	if err != nil {
		return cases.Case{}, err
	}
	return s.CreateCase(ctx, cs, suspects)
}

func (c *casesComponent) Case(ctx context.Context, id string) (cases.Record, error) {
	s, err := c.get()
	if err != nil {
		return cases.Record{}, err
	}
	return s.Case(ctx, id)
}

func (c *casesComponent) Cases(ctx context.Context, f cases.Filter) ([]cases.Case, int, error) {
	s, err := c.get()
	if err != nil {
		return nil, 0, err
	}
	return s.Cases(ctx, f)
}

func (c *casesComponent) AmendCase(ctx context.Context, id, by, reason string, edit func(*cases.Case)) (cases.Case, error) {
	s, err := c.get()
	if err != nil {
		return cases.Case{}, err
	}
	return s.AmendCase(ctx, id, by, reason, edit)
}

func (c *casesComponent) ChangeCase(ctx context.Context, id string, ch cases.Change) (cases.Case, error) {
	s, err := c.get()
	if err != nil {
		return cases.Case{}, err
	}
	return s.ChangeCase(ctx, id, ch)
}

func (c *casesComponent) AddApproval(ctx context.Context, id string, a cases.Approval) (cases.Case, error) {
	s, err := c.get()
	if err != nil {
		return cases.Case{}, err
	}
	return s.AddApproval(ctx, id, a)
}

func (c *casesComponent) Execute(ctx context.Context, id string, i int, executor string, now time.Time) (cases.Case, error) {
	s, err := c.get()
	if err != nil {
		return cases.Case{}, err
	}
	return s.Execute(ctx, id, i, executor, now)
}

func (c *casesComponent) Emergency(ctx context.Context, id string, i int, operator, reason string, now time.Time) (cases.Case, error) {
	s, err := c.get()
	if err != nil {
		return cases.Case{}, err
	}
	return s.Emergency(ctx, id, i, operator, reason, now)
}

var _ cases.Service = (*casesComponent)(nil)

// reidVerifier checks re-identification authorizations for the screening
// stage against the running cases (minimize.Verifier); without cases
// every authorization is refused.
type reidVerifier struct{ cases *casesComponent }

func (v *reidVerifier) VerifyReidentification(ctx context.Context, a minimize.Authorization) error {
	if v.cases == nil {
		return errCasesDown
	}
	s, err := v.cases.get()
	if err != nil {
		return err
	}
	return s.VerifyReidentification(ctx, a)
}

// Reidentified reads the addresses a case's reidentify actions lifted
// (api.Reidentifications), audited.
func (c *casesComponent) Reidentified(ctx context.Context, id, reader string) ([]reidentify.Result, error) {
	s, err := c.get()
	if err != nil {
		return nil, err
	}
	return s.Reidentified(ctx, id, reader)
}
