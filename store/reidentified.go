package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce/reidentify"
	"github.com/acd-org/acd/minimize"
)

// inTx runs fn in the write transaction ctx carries, or in one of its
// own.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return fn(tx)
	}
	return db.WriteTx(ctx, fn)
}

// AuditReidentification writes one re-identification attempt to the
// audit log (minimize.Auditor): who asked, for which case, the pseudonym,
// granted or why not — never the address. It is written in the
// transaction the context carries (a case's execution), so the attempt
// and the execution commit together.
func (db *DB) AuditReidentification(ctx context.Context, e minimize.AuditEntry) error {
	return db.TxAudit(ctx, audit.ActionReidentify, "case:"+e.CaseID, map[string]any{"actor": e.Actor,
		"pseudonym": e.Pseudonym.Addr.String(), "epoch": e.Pseudonym.Epoch, "granted": e.Granted, "reason": e.Reason})
}

var _ minimize.Auditor = (*DB)(nil)

// SaveReidentified keeps the addresses lifted by action idx of case id
// (reidentify.Results), replacing earlier ones of that action.
func (s *Cases) SaveReidentified(ctx context.Context, id string, idx int, rs []reidentify.Result) error {
	return s.db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM case_reidentified WHERE case_id = ? AND idx = ?`, id, idx); err != nil {
			return s.db.wrap("write re-identifications to", err)
		}
		for _, r := range rs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO case_reidentified (case_id, idx, pseudonym, epoch, addr, at) VALUES (?, ?, ?, ?, ?, ?)`,
				id, idx, r.Pseudonym.Addr.String(), int64(r.Pseudonym.Epoch), r.Addr.String(), r.At.UnixMilli()); err != nil {
				return s.db.wrap("write re-identifications to", err)
			}
		}
		return nil
	})
}

// DeleteReidentified erases the addresses lifted by action idx of case
// id (the action was withdrawn).
func (s *Cases) DeleteReidentified(ctx context.Context, id string, idx int) error {
	return s.db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM case_reidentified WHERE case_id = ? AND idx = ?`, id, idx)
		return s.db.wrap("erase re-identifications from", err)
	})
}

// Reidentified returns the addresses lifted for case id, for reader; the
// read itself is audited (reidentify.read, with how many), so that every
// sight of a domestic address is on record.
func (s *Cases) Reidentified(ctx context.Context, id, reader string) ([]reidentify.Result, error) {
	var out []reidentify.Result
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.load(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT idx, pseudonym, epoch, addr, at FROM case_reidentified WHERE case_id = ? ORDER BY idx, pseudonym`, id)
		if err != nil {
			return s.db.wrap("read re-identifications from", err)
		}
		defer func() { _ = rows.Close() }()
		out = nil
		for rows.Next() {
			var (
				r           reidentify.Result
				ps, addr    string
				epoch, atMS int64
			)
			if err := rows.Scan(&r.Action, &ps, &epoch, &addr, &atMS); err != nil {
				return s.db.wrap("read re-identifications from", err)
			}
			p, perr := netip.ParseAddr(ps)
			a, aerr := netip.ParseAddr(addr)
			if perr != nil || aerr != nil {
				return fmt.Errorf("store: case %s: a stored re-identification does not parse", id)
			}
			r.Pseudonym, r.Addr, r.At = minimize.Pseudonym{Epoch: uint32(epoch), Addr: p}, a, fromMS(atMS)
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return s.db.wrap("read re-identifications from", err)
		}
		_ = rows.Close() // before the next statement on this connection
		_, err = s.db.AuditTx(ctx, tx, audit.Entry{Actor: reader, Action: "reidentify.read", Object: "case:" + id,
			Data: audit.Data("count", len(out))})
		return err
	})
	return out, err
}

var _ reidentify.Results = (*Cases)(nil)

// VerifyReidentification checks an authorization to lift pseudonyms
// (minimize.Verifier) independently of who asks: the case it names must
// hold a reidentify action covering every pseudonym with the same end,
// and the approvals in its proof must pass the gate for that action now
// (signatures of the current version, quorum, window, state, revoked
// keys).
func (s *Cases) VerifyReidentification(ctx context.Context, auth minimize.Authorization) error {
	c, err := s.load(ctx, s.db.r, auth.CaseID)
	if err != nil {
		return err
	}
	var approvals []cases.Approval
	if err := json.Unmarshal(auth.Proof, &approvals); err != nil {
		return fmt.Errorf("the authorization's proof is not a list of approvals: %w", err)
	}
	var errs []error
	for _, a := range c.Actions {
		if a.Type != cases.ActionReidentify || !a.NotAfter.Equal(auth.NotAfter) || !coversAll(a.Scope.Pseudonyms, auth.Pseudonyms) {
			continue
		}
		_, err := s.gk.Gate.Check(c, approvals, a, systemActor, s.now())
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return fmt.Errorf("case %s has no reidentify action covering these pseudonyms until %s", c.ID, auth.NotAfter.UTC().Format(time.RFC3339))
	}
	return errors.Join(errs...)
}

func coversAll(have, want []minimize.Pseudonym) bool {
	for _, p := range want {
		if !slices.Contains(have, p) {
			return false
		}
	}
	return true
}

var _ minimize.Verifier = (*Cases)(nil)
