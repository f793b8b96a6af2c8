package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
)

// ExpireDue ends what has outlived its window at now. For every case in
// a state where actions run or may still run (approved, active,
// effective, ineffective) it
//
//   - withdraws, through the enforcement side, each action in effect whose
//     window [not_before, not_after) has ended (now >= not_after), records
//     the execution as withdrawn and audits a case.expire naming the
//     action and its type;
//   - applies cases.EventExpire (audited case.expire with the state it
//     left) once no action is in effect and no action's window is still
//     open: every window has ended. An approved case whose windows all
//     ended without an execution expires the same way.
//
// An action not yet executed whose window is still open keeps its case
// alive: it was approved and may still be executed. Each case is handled
// in one transaction, so a withdrawal, its record, its entries and the
// state change commit together or not at all. It returns the ids of the
// cases that expired; a case whose withdrawal fails is left as it was
// (and retried on the next call), its error joined.
func (s *Cases) ExpireDue(ctx context.Context, now time.Time) ([]string, error) {
	now = now.UTC()
	due, err := s.expiryCandidates(ctx, now)
	if err != nil {
		return nil, err
	}
	var (
		done []string
		errs []error
	)
	for _, id := range due {
		var expired bool
		_, err := s.change(ctx, id, func(tx *sql.Tx, c *cases.Case) error {
			expired = false
			if !slices.Contains(expirable, c.State) {
				return errUnchanged // revoked or closed meanwhile
			}
			running, err := s.running(ctx, tx, id)
			if err != nil {
				return err
			}
			withdraw, expire := expiry(*c, running, now)
			if len(withdraw) == 0 && !expire {
				return errUnchanged // executed or changed meanwhile
			}
			tctx := context.WithValue(ctx, txKey{}, tx)
			for _, i := range withdraw {
				a := c.Actions[i]
				why := "expire: window ended at " + a.NotAfter.UTC().Format(time.RFC3339)
				if err := s.gk.Withdraw(tctx, *c, i, systemActor, why); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE case_executions SET withdrawn = ? WHERE case_id = ? AND idx = ?`, now.UnixMilli(), id, i); err != nil {
					return s.db.wrap("write execution to", err)
				}
				if err := s.audit(ctx, tx, systemActor, audit.ActionCaseExpire, *c, audit.DataType, string(a.Type), "action", i,
					"not_after", a.NotAfter.UTC()); err != nil {
					return err
				}
			}
			if !expire {
				return nil
			}
			from := c.State
			reason := "every action's window has ended"
			if len(withdraw) > 0 {
				reason += "; actions withdrawn: " + joinInts(withdraw)
			}
			if err := c.Apply(cases.Change{Event: cases.EventExpire, By: systemActor, At: now, Reason: reason}); err != nil {
				return err
			}
			expired = true
			return s.audit(ctx, tx, systemActor, audit.ActionCaseExpire, *c, "from", string(from), "reason", reason,
				"withdrawn", withdraw)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("expire case %s: %w", id, err))
			continue
		}
		if expired {
			done = append(done, id)
		}
	}
	return done, errors.Join(errs...)
}

// expirable are the states ExpireDue looks at: those EventExpire leaves.
var expirable = []cases.State{cases.StateApproved, cases.StateActive, cases.StateEffective, cases.StateIneffective}

// expiry says what expiry does to c at now, given the indexes of its
// actions in effect: the actions to withdraw (in effect, window ended)
// and whether the case then expires (no action in effect, no window
// still open). Indexes outside c.Actions are ignored.
func expiry(c cases.Case, running []int, now time.Time) (withdraw []int, expire bool) {
	expire = true
	for i, a := range c.Actions {
		ended := !now.Before(a.NotAfter)
		switch {
		case ended && slices.Contains(running, i):
			withdraw = append(withdraw, i)
		case !ended:
			expire = false
		}
	}
	return withdraw, expire
}

// expiryCandidates returns, oldest first, the cases ExpireDue has
// something to do for at now (re-checked in each case's transaction).
func (s *Cases) expiryCandidates(ctx context.Context, now time.Time) ([]string, error) {
	var due []string
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, len(expirable))
		for i, st := range expirable {
			args[i] = string(st)
		}
		list, err := s.query(ctx, tx, `SELECT doc FROM cases WHERE state IN (?, ?, ?, ?) ORDER BY created, id`, args...)
		if err != nil {
			return err
		}
		for _, c := range list {
			running, err := s.running(ctx, tx, c.ID)
			if err != nil {
				return err
			}
			if withdraw, expire := expiry(c, running, now); len(withdraw) > 0 || expire {
				due = append(due, c.ID)
			}
		}
		return nil
	})
	return due, err
}

// joinInts writes 0, 2 (or "none").
func joinInts(xs []int) string {
	if len(xs) == 0 {
		return "none"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
