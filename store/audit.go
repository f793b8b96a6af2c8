package store

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/acd-org/acd/audit"
)

// defaultActor is the actor of audited writes whose context names none
// (audit.WithActor): the command line.
const defaultActor = "cli"

// SetAuditCheckpointer makes every write transaction (WriteTx, Audit and
// the audited writes such as CreateToken) sign a checkpoint when
// audit.Config.CheckpointEvery entries follow the last one, and enables
// AuditCheckpoint. nil turns it off. Call it before the first write.
func (db *DB) SetAuditCheckpointer(c *audit.Checkpointer) { db.auditCP.Store(c) }

// WriteTx runs fn in a write transaction on the writer connection (which
// takes the write lock at BEGIN) and commits when fn returns nil, so that
// a state change and the audit entries fn appends (audit.Append, or
// DB.AuditTx) commit together or not at all. fn's error is returned as
// is, after a rollback. A checkpoint is signed in the same transaction
// when one is due.
func (db *DB) WriteTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap("write to", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if cp := db.auditCP.Load(); cp != nil {
		if err := cp.AfterWrite(ctx, tx); err != nil {
			return db.wrap("write to", err)
		}
	}
	return db.wrap("write to", tx.Commit())
}

// AuditTx appends e inside tx (from WriteTx). A zero Time is the store's
// clock; an empty Actor is the context's (audit.WithActor), else "cli".
func (db *DB) AuditTx(ctx context.Context, tx *sql.Tx, e audit.Entry) (audit.Entry, error) {
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	if e.Actor == "" {
		e.Actor = actorOf(ctx)
	}
	return audit.Append(ctx, tx, e)
}

// actorOf returns the context's actor, or "cli".
func actorOf(ctx context.Context) string {
	if a, ok := audit.ActorFrom(ctx); ok {
		return a
	}
	return defaultActor
}

// Audit appends e to the audit log in its own write transaction (see
// AuditTx for the defaults).
func (db *DB) Audit(ctx context.Context, e audit.Entry) error {
	return db.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := db.AuditTx(ctx, tx, e)
		return err
	})
}

// ErrNoCheckpointer: AuditCheckpoint was called without
// SetAuditCheckpointer.
var ErrNoCheckpointer = errors.New("store: no audit checkpointer (audit key) configured")

// AuditCheckpoint signs the latest audit entry now, unless it is signed
// already (ok false). Call it at shutdown so that no entry stays in the
// unverified tail.
func (db *DB) AuditCheckpoint(ctx context.Context) (cp audit.Checkpoint, ok bool, err error) {
	c := db.auditCP.Load()
	if c == nil {
		return cp, false, ErrNoCheckpointer
	}
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		cp, ok, err = c.Checkpoint(ctx, tx)
		return err
	})
	return cp, ok, err
}

// readTx runs fn in one read transaction: a consistent snapshot while
// writers go on.
func (db *DB) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.r.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap("read", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// ListAudit returns the audit entries f selects, in seq order.
func (db *DB) ListAudit(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	var out []audit.Entry
	err := db.readTx(ctx, func(tx *sql.Tx) (err error) {
		out, err = audit.List(ctx, tx, f)
		return err
	})
	return out, err
}

// VerifyAudit verifies the audit log's chain and checkpoints with pub, in
// one snapshot. The error is for failing to read; what is wrong with the
// log is in the report.
func (db *DB) VerifyAudit(ctx context.Context, pub ed25519.PublicKey) (audit.Report, error) {
	var r audit.Report
	err := db.readTx(ctx, func(tx *sql.Tx) (err error) {
		r, err = audit.VerifyDB(ctx, tx, pub)
		return err
	})
	return r, err
}

// ExportAudit writes the audit log (or the range opts selects) to w as
// JSON lines (see package audit), in one snapshot.
func (db *DB) ExportAudit(ctx context.Context, w io.Writer, opts audit.ExportOptions) (audit.Header, error) {
	var h audit.Header
	err := db.readTx(ctx, func(tx *sql.Tx) (err error) {
		h, err = audit.Export(ctx, tx, w, opts)
		return err
	})
	return h, err
}

// AuditOversight counts the audit entries with from <= time < to for the
// oversight report.
func (db *DB) AuditOversight(ctx context.Context, from, to time.Time) (audit.Oversight, error) {
	var o audit.Oversight
	err := db.readTx(ctx, func(tx *sql.Tx) (err error) {
		o, err = audit.OversightDB(ctx, tx, from, to)
		return err
	})
	if err != nil {
		return o, fmt.Errorf("oversight report from %s: %w", db.path, err)
	}
	return o, nil
}
