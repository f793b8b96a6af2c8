package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// t0 is the tests' first entry time.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)

// newKey returns a fresh signing key.
func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixedClock returns a clock starting at t0 and advancing a second per call.
func fixedClock() func() time.Time {
	n := 0
	return func() time.Time { n++; return t0.Add(time.Duration(n) * time.Second) }
}

// buildChain returns n valid entries and a checkpoint every `every`
// entries (0: none), made in memory.
func buildChain(t testing.TB, key ed25519.PrivateKey, n, every int) ([]Entry, []Checkpoint) {
	t.Helper()
	cp, err := NewCheckpointer(key, max(every, 1), fixedClock())
	if err != nil {
		t.Fatal(err)
	}
	var (
		es   []Entry
		cps  []Checkpoint
		prev = Genesis
	)
	for i := 1; i <= n; i++ {
		e, err := Entry{Actor: "alice", Action: ActionCaseApprove, Object: fmt.Sprintf("case:%d", i),
			Data: Data(DataRoute, "art-21", "n", i), Time: t0.Add(time.Duration(i) * time.Minute)}.normalize(time.Now)
		if err != nil {
			t.Fatal(err)
		}
		e.Seq, e.Prev = int64(i), prev
		e.Hash = e.ComputeHash()
		prev = e.Hash
		es = append(es, e)
		if every > 0 && i%every == 0 {
			cps = append(cps, cp.Sign(e.Seq, e.Hash))
		}
	}
	return es, cps
}

// openDB opens a fresh SQLite database with the audit schema of the
// store's migration.
func openDB(t testing.TB) *sql.DB {
	t.Helper()
	schema, err := os.ReadFile("../store/migrations/0003_audit.sql")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(string(schema)); err != nil {
		t.Fatal(err)
	}
	return db
}

// write runs fn in a transaction and commits it.
func write(t testing.TB, db *sql.DB, fn func(*sql.Tx) error) {
	t.Helper()
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// appendN appends n entries, each with cp.AfterWrite (cp may be nil).
func appendN(t testing.TB, db *sql.DB, cp *Checkpointer, n int, action string) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		write(t, db, func(tx *sql.Tx) error {
			if _, err := Append(ctx, tx, Entry{Actor: "bob", Action: action, Object: fmt.Sprintf("case:%d", i),
				Data: Data(DataRoute, "art-21", DataType, "block")}); err != nil {
				return err
			}
			if cp != nil {
				return cp.AfterWrite(ctx, tx)
			}
			return nil
		})
	}
}
