package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/notify"
)

// Execute runs action i of case id through the enforcement side (see
// cases.Service). The gatekeeper checks the gate itself with the
// approvals of the current version; its refusal is audited and
// committed, then returned. On success the first action activates an
// approved case (later ones leave it active), and the execution is
// recorded, all in the transaction that holds the execution's entry; if
// that transaction cannot commit, the action is withdrawn again.
func (s *Cases) Execute(ctx context.Context, id string, i int, executor string, now time.Time) (cases.Case, error) {
	return s.run(ctx, id, i, executor, now, false, "")
}

// Emergency runs action i of the urgent, requested case id before
// approval, for an operator with the emergency right (see
// cases.Service): the gate grants it on the emergency path only, the
// case becomes active with its review deadline, and the commission's
// review (a quorum of approvals, AddApproval) must follow before
// ReviewDue rolls it back.
func (s *Cases) Emergency(ctx context.Context, id string, i int, operator, reason string, now time.Time) (cases.Case, error) {
	if strings.TrimSpace(reason) == "" {
		return cases.Case{}, fmt.Errorf("%w: an emergency needs a reason", cases.ErrState)
	}
	return s.run(ctx, id, i, operator, now, true, reason)
}

// run is Execute and Emergency.
func (s *Cases) run(ctx context.Context, id string, i int, executor string, now time.Time, emergency bool, reason string) (cases.Case, error) {
	if now.IsZero() {
		now = s.now()
	}
	now = now.UTC()
	var (
		refused error
		applied *cases.Case
		out     cases.Case
	)
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		refused, applied = nil, nil
		c, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		tctx := context.WithValue(ctx, txKey{}, tx)
		// Refusals before the gate: the wrong path for the state, or an
		// action already in effect.
		var pre error
		switch {
		case emergency && c.State != cases.StateRequested:
			pre = fmt.Errorf("%w: case %s is %s; the emergency path is for requested cases (execute an approved one)", cases.ErrState, id, c.State)
		case !emergency && c.State == cases.StateRequested:
			pre = fmt.Errorf("%w: case %s is requested, not approved (the emergency path is separate)", cases.ErrState, id)
		default:
			if running, err := s.running(ctx, tx, id); err != nil {
				return err
			} else if i >= 0 && i < len(c.Actions) && slices.Contains(running, i) {
				pre = fmt.Errorf("%w: action %d of case %s is in effect already", cases.ErrState, i, id)
			}
		}
		if pre != nil {
			refused = pre
			t := cases.ActionType("")
			if i >= 0 && i < len(c.Actions) {
				t = c.Actions[i].Type
			}
			return s.db.TxAudit(tctx, audit.ActionGateRefuse, "case:"+id, map[string]any{audit.DataRoute: string(c.Route),
				audit.DataType: string(t), "action": i, "version": c.Version, "executor": executor, "reason": "state", "error": pre.Error()})
		}
		approvals, err := s.approvals(ctx, tx, id, c.Version)
		if err != nil {
			return err
		}
		grant, err := s.gk.Execute(tctx, c, approvals, i, executor, now)
		if err != nil {
			refused = err
			return nil // commit the refusal's entry
		}
		applied = &c
		switch {
		case emergency:
			err = c.Apply(cases.Change{Event: cases.EventEmergency, By: executor, At: now, Reason: reason, ReviewBy: grant.ReviewBy})
			if err == nil {
				err = s.audit(ctx, tx, executor, audit.ActionCaseEmergency, c, audit.DataType, string(c.Actions[i].Type),
					"action", i, "reason", reason, "review_by", grant.ReviewBy.UTC())
			}
		case c.State == cases.StateApproved:
			err = c.Apply(cases.Change{Event: cases.EventActivate, By: executor, At: now,
				Reason: fmt.Sprintf("action %d (%s %s) executed", i, c.Actions[i].Type, c.Actions[i].Target)})
		}
		if err != nil {
			return err
		}
		dry := s.gk.Rails != nil && s.gk.Rails.DryRun
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_executions (case_id, idx, version, executor, emergency, at, dry_run) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (case_id, idx) DO UPDATE SET version = excluded.version, executor = excluded.executor,
			emergency = excluded.emergency, at = excluded.at, withdrawn = NULL, dry_run = excluded.dry_run`, id, i, c.Version, executor, grant.Emergency, now.UnixMilli(), dry); err != nil {
			return s.db.wrap("write execution to", err)
		}
		out = c
		return s.save(ctx, tx, c)
	})
	if err != nil && applied != nil {
		// In effect but not on record: undo it (audited on its own).
		werr := s.gk.Withdraw(ctx, *applied, i, systemActor, "the execution could not be recorded: "+err.Error())
		return cases.Case{}, errors.Join(err, werr)
	}
	if err != nil {
		return cases.Case{}, err
	}
	if refused != nil {
		return cases.Case{}, refused
	}
	if emergency {
		s.tell(notify.EventEmergency, out, executor, reason, "commission")
	}
	return out, nil
}

// running returns the indexes of case id's actions in effect.
func (s *Cases) running(ctx context.Context, q querier, id string) ([]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT idx FROM case_executions WHERE case_id = ? AND withdrawn IS NULL ORDER BY idx`, id)
	if err != nil {
		return nil, s.db.wrap("read executions from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []int
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return nil, s.db.wrap("read executions from", err)
		}
		out = append(out, i)
	}
	return out, s.db.wrap("read executions from", rows.Err())
}

// withdrawAll withdraws the actions of c in effect through the
// enforcement side and records it; it returns their indexes.
func (s *Cases) withdrawAll(ctx context.Context, tx *sql.Tx, c cases.Case, by, why string) ([]int, error) {
	idx, err := s.running(ctx, tx, c.ID)
	if err != nil {
		return nil, err
	}
	tctx := context.WithValue(ctx, txKey{}, tx)
	for _, i := range idx {
		if err := s.gk.Withdraw(tctx, c, i, by, why); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE case_executions SET withdrawn = ? WHERE case_id = ? AND idx = ?`, s.now().UnixMilli(), c.ID, i); err != nil {
			return nil, s.db.wrap("write execution to", err)
		}
	}
	return idx, nil
}

// ReviewDue rolls back the emergencies whose review deadline passed at
// now unreviewed: it withdraws their actions through the enforcement
// side, applies cases.EventRollback (state revoked, flagged
// review_missed) and audits a case.rollback per action, each case in one
// transaction. It returns the ids rolled back; a case whose withdrawal
// fails stays due (and is retried on the next call), its error joined.
func (s *Cases) ReviewDue(ctx context.Context, now time.Time) ([]string, error) {
	now = now.UTC()
	running, err := s.query(ctx, s.db.r, `SELECT doc FROM cases WHERE state IN (?, ?, ?) ORDER BY created, id`,
		string(cases.StateActive), string(cases.StateEffective), string(cases.StateIneffective))
	if err != nil {
		return nil, err
	}
	var due []string
	for _, c := range running {
		if _, ok := cases.ReviewDue(c, now); ok {
			due = append(due, c.ID)
		}
	}
	var (
		done   []string
		rolled []cases.Case
		errs   []error
	)
	defer func() {
		for _, c := range rolled {
			s.tell(notify.EventRollback, c, systemActor, "emergency review missed: actions rolled back", "commission")
		}
	}()
	for _, id := range due {
		_, err := s.change(ctx, id, func(tx *sql.Tx, c *cases.Case) error {
			deadline, ok := cases.ReviewDue(*c, now)
			if !ok {
				return errUnchanged // reviewed or stopped meanwhile
			}
			why := fmt.Sprintf("emergency review due at %s missed", deadline.UTC().Format(time.RFC3339))
			if err := c.Apply(cases.Change{Event: cases.EventRollback, By: systemActor, At: now, Reason: why}); err != nil {
				return err
			}
			idx, err := s.withdrawAll(ctx, tx, *c, systemActor, why)
			if err != nil {
				return err
			}
			if len(idx) == 0 {
				idx = []int{-1}
			}
			for _, i := range idx {
				t := ""
				if i >= 0 && i < len(c.Actions) {
					t = string(c.Actions[i].Type)
				}
				if err := s.audit(ctx, tx, systemActor, audit.ActionCaseRollback, *c, audit.DataType, t, "action", i,
					"review_by", deadline.UTC(), "emergency_by", c.Flags.EmergencyBy); err != nil {
					return err
				}
			}
			done = append(done, id)
			rolled = append(rolled, *c)
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("roll back case %s: %w", id, err))
		}
	}
	return done, errors.Join(errs...)
}

// Reviewer is the daemon component that runs the cases' timers: every
// Every it calls Cases.ReviewDue (roll back unreviewed emergencies),
// then Cases.ExpireDue (withdraw actions whose window ended, expire
// cases), both with Now(). A deadline or window end is therefore acted
// on at most one period (plus the run's own duration) late; in that
// time the gate already refuses new executions outside the window, but
// an action in effect stays in effect. When a review deadline and the
// last window end fall in the same period, the rollback wins (the case
// is revoked and flagged review_missed, not expired).
type Reviewer struct {
	Cases *Cases
	// Every is the period (a minute when zero or negative): the most a
	// rollback or an expiry can be late. The caller sets it (the daemon's
	// configuration).
	Every time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Log receives rollbacks and errors (discarded when nil).
	Log *slog.Logger
	// OnRun, when set, is called after each run with its result: the
	// cases rolled back, those expired, and both calls' errors joined
	// (tests, metrics).
	OnRun func(rolledBack, expired []string, err error)

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start starts the timers.
func (r *Reviewer) Start(context.Context) error {
	if r.Cases == nil {
		return errors.New("store: the review timer needs the cases")
	}
	every, now, log := r.Every, r.Now, r.Log
	if every <= 0 {
		every = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			at := now()
			ids, err := r.Cases.ReviewDue(ctx, at)
			if ctx.Err() != nil {
				return // stopped mid-run: the next start retries
			}
			for _, id := range ids {
				log.Warn("emergency review missed: actions rolled back", "case", id)
			}
			if err != nil {
				log.Error("emergency review timer", "err", err)
			}
			expired, xerr := r.Cases.ExpireDue(ctx, at)
			if ctx.Err() != nil {
				return
			}
			for _, id := range expired {
				log.Info("case expired: every action's window has ended", "case", id)
			}
			if xerr != nil {
				log.Error("case expiry timer", "err", xerr)
			}
			if r.OnRun != nil {
				r.OnRun(ids, expired, errors.Join(err, xerr))
			}
		}
	}()
	return nil
}

// Stop stops the timers and waits for a run in progress.
func (r *Reviewer) Stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}
