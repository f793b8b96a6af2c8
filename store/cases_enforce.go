package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/notify"
	"github.com/acd-org/acd/enforce"
)

// InEffect returns the actions in effect — executed and not withdrawn —
// of the cases that are active, effective or ineffective, by case and
// index: the reconciler's desired state.
func (s *Cases) InEffect(ctx context.Context) ([]enforce.Item, error) {
	rows, err := s.db.r.QueryContext(ctx, `SELECT e.case_id, c.doc, e.idx, e.at FROM case_executions e JOIN cases c ON c.id = e.case_id
		WHERE e.withdrawn IS NULL AND c.state IN (?, ?, ?) ORDER BY e.case_id, e.idx`,
		string(cases.StateActive), string(cases.StateEffective), string(cases.StateIneffective))
	if err != nil {
		return nil, s.db.wrap("read executions from", err)
	}
	defer func() { _ = rows.Close() }()
	var (
		out    []enforce.Item
		c      cases.Case
		lastID string
	)
	for rows.Next() {
		var (
			id, doc string
			i       int
			at      int64
		)
		if err := rows.Scan(&id, &doc, &i, &at); err != nil {
			return nil, s.db.wrap("read executions from", err)
		}
		if id != lastID { // rows come by case: parse each case once
			c = cases.Case{}
			if err := jsonUnmarshal(doc, &c); err != nil {
				return nil, err
			}
			lastID = id
		}
		if i < 0 || i >= len(c.Actions) {
			return nil, fmt.Errorf("store: case %s has an execution of action %d but %d actions", c.ID, i, len(c.Actions))
		}
		out = append(out, enforce.Item{Case: c, Index: i, Action: c.Actions[i], Since: fromMS(at)})
	}
	return out, s.db.wrap("read executions from", rows.Err())
}

// InEffectCount counts the actions in effect (the rails' cap).
func (s *Cases) InEffectCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.r.QueryRowContext(ctx, `SELECT count(*) FROM case_executions WHERE withdrawn IS NULL`).Scan(&n)
	return n, s.db.wrap("read executions from", err)
}

// Retract withdraws an action in effect that a safety rail now covers
// (enforce.Reconciler): through the enforcement side, recorded as
// withdrawn and audited (case.retract, with the rail), in one
// transaction. The case keeps its state — its other actions may run on —
// and expires as usual; executing the action again is refused by the
// rail while it covers the target. Retracting an action no longer in
// effect does nothing.
func (s *Cases) Retract(ctx context.Context, it enforce.Item, why string) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		c, err := s.load(ctx, tx, it.Case.ID)
		if err != nil {
			return err
		}
		running, err := s.running(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if !slices.Contains(running, it.Index) || it.Index >= len(c.Actions) {
			return nil
		}
		tctx := context.WithValue(ctx, txKey{}, tx)
		if err := s.gk.Withdraw(tctx, c, it.Index, systemActor, "retract: "+why); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE case_executions SET withdrawn = ? WHERE case_id = ? AND idx = ?`,
			s.now().UnixMilli(), c.ID, it.Index); err != nil {
			return s.db.wrap("write execution to", err)
		}
		return s.audit(ctx, tx, systemActor, audit.ActionCaseRetract, c, audit.DataType, string(c.Actions[it.Index].Type),
			"action", it.Index, "target", c.Actions[it.Index].Target.String(), "rail", why)
	})
}

// Dossier returns what a one-shot adapter sends about case id
// (enforce.DossierSource): the case, the approvals of its current
// version, its frozen evidence and its audit entries so far.
func (s *Cases) Dossier(ctx context.Context, id string) (enforce.Dossier, error) {
	var d enforce.Dossier
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		c, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		d.Case = c
		if d.Approvals, err = s.approvals(ctx, tx, id, c.Version); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT doc FROM case_evidence WHERE case_id = ?`, id).Scan(&d.Evidence); err != nil {
			return s.db.wrap("read case evidence from", err)
		}
		d.Audit, err = audit.List(ctx, tx, audit.Filter{Object: "case:" + id})
		return err
	})
	return d, err
}

var _ enforce.DossierSource = (*Cases)(nil)

// Verified records the verify stage's verdict on action v.Action of case
// id, in one transaction: the verdict on the case, a case.verify entry
// with the figures (before and after rates, window), and the transition
// to effective or ineffective the verdicts call for (cases.SetVerdict).
// A case no longer running (expired, revoked…) keeps its state; the
// entry is written all the same.
func (s *Cases) Verified(ctx context.Context, id string, v cases.Verdict, figures map[string]any) (cases.Case, error) {
	if v.At.IsZero() {
		v.At = s.now()
	}
	v.At = v.At.UTC()
	var escalate bool
	c, err := s.change(ctx, id, func(tx *sql.Tx, c *cases.Case) error {
		escalate = false
		if v.Action < 0 || v.Action >= len(c.Actions) {
			return fmt.Errorf("store: case %s has no action %d", id, v.Action)
		}
		from := c.State
		if ev := c.SetVerdict(v); ev != "" {
			if err := c.Apply(cases.Change{Event: ev, By: verifyActor, At: v.At, Reason: v.Reason}); err != nil {
				return err
			}
			escalate = ev == cases.EventIneffective
		}
		kv := []any{audit.DataType, string(c.Actions[v.Action].Type), "action", v.Action, "verdict", v.Verdict,
			"reason", v.Reason, "from", string(from)}
		for _, k := range slices.Sorted(maps.Keys(figures)) {
			kv = append(kv, k, figures[k])
		}
		return s.audit(ctx, tx, verifyActor, audit.ActionCaseVerify, *c, kv...)
	})
	if err == nil && escalate {
		s.tell(notify.EventIneffective, c, verifyActor, v.Reason, "analysts")
	}
	return c, err
}

// verifyActor is the audit actor of the verify stage.
const verifyActor = "verify"

// CheckEnforcement refuses to run enforcement in a state that would
// strand the actions in effect: some were executed in the other dry-run
// mode (a real action would never be withdrawn from the equipment, or a
// dry run would reach it at the next reconciliation), or their type has
// no adapter any more (they could never be withdrawn, so their cases
// could neither be revoked nor expire). The error says what to do.
func (s *Cases) CheckEnforcement(ctx context.Context, dryRun bool, hasAdapter func(cases.ActionType) bool) error {
	items, err := s.InEffect(ctx)
	if err != nil {
		return err
	}
	var other int
	if err := s.db.r.QueryRowContext(ctx, `SELECT count(*) FROM case_executions WHERE withdrawn IS NULL AND dry_run != ?`, dryRun).Scan(&other); err != nil {
		return s.db.wrap("read executions from", err)
	}
	var errs []error
	if other > 0 {
		was := "real"
		if !dryRun {
			was = "dry-run"
		}
		errs = append(errs, fmt.Errorf("%d actions in effect were executed as %s actions, but enforce.rails.dry_run is %v: "+
			"set it back, revoke those cases (acd case revoke), then change it", other, was, dryRun))
	}
	if !dryRun {
		var missing []string
		for _, it := range items {
			if !hasAdapter(it.Action.Type) {
				missing = append(missing, fmt.Sprintf("%s (%s %s)", it.Key(), it.Action.Type, it.Action.Target))
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("actions in effect have no adapter any more, so they could never be withdrawn: %s; "+
				"configure their adapters again (enforce.*) and revoke those cases before removing them", strings.Join(missing, ", ")))
		}
	}
	return errors.Join(errs...)
}
