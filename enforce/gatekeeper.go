package enforce

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
)

// ActionType is the type of a case action (block, flowspec, …).
type ActionType = cases.ActionType

// Adapter carries out one kind of action on the network or outside it.
// Apply makes action a of case c take effect; Withdraw undoes it. Both
// must be idempotent: the Gatekeeper's callers retry after a crash or a
// failed commit.
type Adapter interface {
	// Name names the adapter (and the system it drives) for the audit log.
	Name() string
	// Apply puts the action into effect.
	Apply(ctx context.Context, c cases.Case, a cases.Action) error
	// Withdraw removes the action's effect.
	Withdraw(ctx context.Context, c cases.Case, a cases.Action) error
}

// AuditFunc appends one entry to the audit log: action (audit.Action*),
// object ("case:ID") and details. The store's (store.DB.TxAudit) writes
// it in the caller's transaction when the context carries one.
type AuditFunc func(ctx context.Context, action, object string, data map[string]any) error

// Gatekeeper runs case actions through the gate: nothing reaches an
// adapter that the gate has not let through at that moment.
type Gatekeeper struct {
	// Gate decides; it holds the policy and the commissioners' keys.
	Gate *cases.Gate
	// Adapters carry out each type of action; a type without one is
	// refused.
	Adapters map[ActionType]Adapter
	// Audit records refusals, executions and withdrawals; required.
	Audit AuditFunc
	// Rails, when set, are checked after the gate and before the
	// adapter (refusal reason "rail"); with Rails.DryRun no adapter is
	// called at all.
	Rails *Rails
	// Active counts the actions in effect, for Rails.MaxActive (the cap
	// is not checked when nil).
	Active func(ctx context.Context) (int, error)
}

// Audit actions of the enforcement side besides audit.ActionGateRefuse
// (the gate refused) and audit.ActionCaseExecute (an action ran).
const (
	// ActionFailed: the gate let an action through but its adapter failed.
	ActionFailed = "enforce.fail"
	// ActionWithdraw: an action's effect was removed (revocation, expiry,
	// rollback).
	ActionWithdraw = "enforce.withdraw"
)

// Reason returns the typed reason of a gate refusal, for the audit log
// and the oversight report: "signature", "replay", "duties", "revoked-key",
// "quorum", "scope", "window", "state", "rail" (a safety rail), or "other".
func Reason(err error) string {
	for _, r := range []struct {
		err  error
		name string
	}{
		{cases.ErrSignature, "signature"}, {cases.ErrReplay, "replay"}, {cases.ErrDuties, "duties"},
		{cases.ErrRevokedKey, "revoked-key"}, {cases.ErrScope, "scope"}, {cases.ErrWindow, "window"},
		{cases.ErrState, "state"}, {cases.ErrQuorum, "quorum"}, {ErrRail, "rail"},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// Execute runs action number i of case c for executor at now: it checks
// the gate itself (Gate.Check on c, approvals and that action), and only
// when the gate grants it calls the action type's adapter. A refusal is
// audited (audit.ActionGateRefuse, with the reason) and returned wrapping
// the gate's error; an adapter failure is audited (ActionFailed) and
// returned; a success is audited (audit.ActionCaseExecute, with the
// grounds: approvers or emergency).
func (g *Gatekeeper) Execute(ctx context.Context, c cases.Case, approvals []cases.Approval, i int, executor string, now time.Time) (cases.Grant, error) {
	if g.Gate == nil || g.Audit == nil {
		return cases.Grant{}, errors.New("enforce: a gatekeeper needs a gate and an audit log")
	}
	if i < 0 || i >= len(c.Actions) {
		err := fmt.Errorf("%w: case %s v%d has no action %d (it has %d)", cases.ErrScope, c.ID, c.Version, i, len(c.Actions))
		return cases.Grant{}, g.refuse(ctx, c, i, "", executor, err)
	}
	a := c.Actions[i]
	grant, err := g.Gate.Check(c, approvals, a, executor, now)
	if err != nil {
		return cases.Grant{}, g.refuse(ctx, c, i, a.Type, executor, err)
	}
	if g.Rails != nil {
		active := -1
		if g.Active != nil {
			if active, err = g.Active(ctx); err != nil {
				return cases.Grant{}, fmt.Errorf("enforce: unable to count the actions in effect: %w", err)
			}
		}
		if err := g.Rails.Check(a, active); err != nil {
			return cases.Grant{}, g.refuse(ctx, c, i, a.Type, executor, err)
		}
	}
	ad := g.adapter(a.Type)
	if ad == nil {
		err := fmt.Errorf("%w: no adapter carries out %s actions", cases.ErrScope, a.Type)
		return cases.Grant{}, g.refuse(ctx, c, i, a.Type, executor, err)
	}
	if err := ad.Apply(ctx, c, a); err != nil {
		err = fmt.Errorf("enforce: %s: %s %s of case %s: %w", ad.Name(), a.Type, a.Target, c.ID, err)
		aerr := g.Audit(ctx, ActionFailed, "case:"+c.ID, g.data(c, i, a.Type, executor, "adapter", ad.Name(), "error", err.Error()))
		return cases.Grant{}, errors.Join(err, aerr)
	}
	data := g.data(c, i, a.Type, executor, "adapter", ad.Name(), "target", a.Target.String(),
		"approvers", grant.Approvers, "emergency", grant.Emergency)
	if grant.Emergency {
		data["review_by"] = grant.ReviewBy.UTC()
	}
	if err := g.Audit(ctx, audit.ActionCaseExecute, "case:"+c.ID, data); err != nil {
		// Not on record, so not done: undo it.
		return cases.Grant{}, errors.Join(fmt.Errorf("enforce: unable to audit the execution of case %s: %w", c.ID, err), ad.Withdraw(ctx, c, a))
	}
	return grant, nil
}

// Withdraw removes the effect of action i of case c through its adapter
// (on revocation, expiry or an emergency rollback) and audits it
// (ActionWithdraw, with why). It does not consult the gate: stopping an
// action is always allowed.
func (g *Gatekeeper) Withdraw(ctx context.Context, c cases.Case, i int, by, why string) error {
	if g.Audit == nil {
		return errors.New("enforce: a gatekeeper needs an audit log")
	}
	if i < 0 || i >= len(c.Actions) {
		return fmt.Errorf("enforce: case %s has no action %d", c.ID, i)
	}
	a := c.Actions[i]
	ad := g.adapter(a.Type)
	if ad == nil {
		return fmt.Errorf("enforce: no adapter withdraws %s actions (case %s)", a.Type, c.ID)
	}
	if err := ad.Withdraw(ctx, c, a); err != nil {
		return fmt.Errorf("enforce: %s: withdraw %s %s of case %s: %w", ad.Name(), a.Type, a.Target, c.ID, err)
	}
	return g.Audit(ctx, ActionWithdraw, "case:"+c.ID, g.data(c, i, a.Type, by, "adapter", ad.Name(), "why", why))
}

// DryRunAdapter is the name the audit log gives the adapter in dry-run
// mode (Rails.DryRun): nothing was carried out.
const DryRunAdapter = "dry-run"

// adapter returns the adapter for t: the dry-run recorder under
// Rails.DryRun, else the configured one (nil when none).
func (g *Gatekeeper) adapter(t ActionType) Adapter {
	if g.Rails != nil && g.Rails.DryRun {
		return dryRun{}
	}
	return g.Adapters[t]
}

// dryRun carries out nothing.
type dryRun struct{}

func (dryRun) Name() string                                             { return DryRunAdapter }
func (dryRun) Apply(context.Context, cases.Case, cases.Action) error    { return nil }
func (dryRun) Withdraw(context.Context, cases.Case, cases.Action) error { return nil }

// refuse audits a refusal and returns it (joined with an audit failure).
func (g *Gatekeeper) refuse(ctx context.Context, c cases.Case, i int, t ActionType, executor string, err error) error {
	aerr := g.Audit(ctx, audit.ActionGateRefuse, "case:"+c.ID, g.data(c, i, t, executor, "reason", Reason(err), "error", err.Error()))
	if aerr != nil {
		return errors.Join(err, fmt.Errorf("enforce: unable to audit the refusal: %w", aerr))
	}
	return err
}

func (g *Gatekeeper) data(c cases.Case, i int, t ActionType, executor string, kv ...any) map[string]any {
	m := map[string]any{audit.DataRoute: string(c.Route), audit.DataType: string(t), "action": i,
		"version": c.Version, "executor": executor}
	for j := 0; j+1 < len(kv); j += 2 {
		m[kv[j].(string)] = kv[j+1]
	}
	return m
}
