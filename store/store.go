// Package store is acd's embedded store: one SQLite database (pure Go,
// WAL mode) holding what must survive a restart: suspects, API tokens,
// and (as later stages land) cases, intel and the audit log.
//
// Open opens or creates the file and brings its schema up to date with
// the migrations embedded in migrations/*.sql (table schema_migrations
// records the versions applied). A DB keeps two connection pools: one
// writer connection (SQLite has one writer at a time; transactions take
// the write lock at BEGIN, so two writers never deadlock on an upgrade)
// and a few read-only connections that WAL lets run beside the writer.
// Other processes (acd token, while acd serve runs) may open the same
// file: they wait up to store.busy_timeout for the write lock.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/acd-org/acd/audit"
)

// Sentinel errors. Test with errors.Is.
var (
	// ErrNotFound: the named object does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: an object of that name exists already.
	ErrExists = errors.New("store: already exists")
	// ErrUnauthenticated: the secret matches no valid token.
	ErrUnauthenticated = errors.New("store: invalid or revoked token")
)

// readers is the size of the read-only pool.
const readers = 4

// DB is an open store. It is safe for concurrent use.
type DB struct {
	cfg    Config
	log    *slog.Logger
	path   string  // absolute path
	w      *sql.DB // the one writer connection
	r      *sql.DB // read-only connections
	now    func() time.Time
	closed bool
	// auditCP signs audit checkpoints after write transactions (nil:
	// none); see SetAuditCheckpointer.
	auditCP atomic.Pointer[audit.Checkpointer]
}

// Open opens the database at cfg.Path, creating it (mode 0600) when
// missing, and applies the migrations it lacks. logger may be nil.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("store.path: %q: %w", cfg.Path, err)
	}
	if err := probe(path); err != nil {
		return nil, err
	}
	db := &DB{cfg: cfg, log: logger, path: path, now: time.Now}
	busy := cfg.BusyTimeout.Milliseconds()
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)", busy)
	if db.w, err = sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate"); err != nil {
		return nil, db.wrap("open", err)
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	if err := db.w.PingContext(ctx); err != nil {
		_ = db.w.Close()
		return nil, db.wrap("open", err)
	}
	if err := db.migrate(ctx); err != nil {
		_ = db.w.Close()
		return nil, err
	}
	// The writer made the file WAL (a persistent setting) before the
	// readers open it.
	if db.r, err = sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)"); err != nil {
		_ = db.w.Close()
		return nil, db.wrap("open", err)
	}
	db.r.SetMaxOpenConns(readers)
	db.r.SetMaxIdleConns(readers)
	logger.Debug("store open", "path", path)
	return db, nil
}

// probe checks that path can be opened for writing, so that a missing
// directory or a permission problem reads as such rather than as
// SQLite's "unable to open database file".
func probe(path string) error {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("store.path: directory %s: %w", dir, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("store.path: %s is not a directory", dir)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store.path: unable to open %s: %w", path, err)
	}
	return f.Close()
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Close closes the database. The writer (if any) must be stopped first.
func (db *DB) Close() error {
	if db.closed {
		return nil
	}
	db.closed = true
	errR := db.r.Close()
	// A checkpoint folds the WAL back into the main file.
	_, _ = db.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(errR, db.w.Close())
}

// wrap adds the path and, for a lock timeout, a hint.
func (db *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if isBusy(err) {
		return fmt.Errorf("unable to %s store %s: database is locked (by another acd? waited %v, store.busy_timeout): %w", op, db.path, db.cfg.BusyTimeout, err)
	}
	return fmt.Errorf("unable to %s store %s: %w", op, db.path, err)
}

// execTx runs a write statement in tx and reports whether it changed a
// row; what names the object in an error ("user", "signing key").
func (db *DB) execTx(ctx context.Context, tx *sql.Tx, what, query string, args ...any) (bool, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return false, db.wrap("write "+what+" to", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, db.wrap("write "+what+" to", err)
	}
	return n > 0, nil
}

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED (any
// extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code() & 0xff
	return c == 5 || c == 6
}

// ms converts a time to Unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts Unix milliseconds (0: never) to UTC time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
