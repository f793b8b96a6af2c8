package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/acd-org/acd/detect"
)

func newTestWriter(t *testing.T, db *DB, opts WriterOptions) *SuspectWriter {
	t.Helper()
	w, err := NewSuspectWriter(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWriterCoalesces(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	w := newTestWriter(t, db, WriterOptions{})
	book := detect.NewBook(0, w)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var last detect.Suspect
	for i := range 10 {
		last = book.Add(finding(t, "192.0.2.1", detect.RoleScanner, 0.5+float64(i)/100, at.Add(time.Duration(i)*time.Minute)))
	}
	if n := w.Pending(); n != 1 {
		t.Errorf("pending = %d, want 1", n)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(w.m.written); got != 1 {
		t.Errorf("written = %v, want 1", got)
	}
	got, err := db.LoadSuspects(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("loaded %d, %v", len(got), err)
	}
	if !got[0].LastSeen.Equal(last.LastSeen) || got[0].Evidence[0].Findings != 10 {
		t.Errorf("stored %+v, want the latest version (10 findings, last seen %v)", got[0], last.LastSeen)
	}
}

func TestWriterStopWritesEverything(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	reg := prometheus.NewRegistry()
	w := newTestWriter(t, db, WriterOptions{Registerer: reg, FlushInterval: time.Hour, FlushSize: 100})
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	book := detect.NewBook(0, w)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const n = 2500
	for i := range n {
		book.Add(finding(t, fmt.Sprintf("10.%d.%d.1", i/256, i%256), detect.RoleScanner, 0.8, at))
	}
	w.Stop()
	if c, err := db.CountSuspects(ctx); err != nil || c != n {
		t.Errorf("stored %d, %v; want %d", c, err, n)
	}
	if w.Pending() != 0 {
		t.Errorf("pending = %d after Stop", w.Pending())
	}
	if got := testutil.ToFloat64(w.m.written); got < n {
		t.Errorf("acd_store_suspects_written_total = %v, want ≥ %d", got, n)
	}
	if c, _ := testutil.GatherAndCount(reg, "acd_store_write_errors_total", "acd_store_suspects_dropped_total"); c != 2 {
		t.Errorf("registered metrics = %d, want 2", c)
	}
}

func TestWriterBound(t *testing.T) {
	db := openTest(t)
	w := newTestWriter(t, db, WriterOptions{MaxPending: 10})
	book := detect.NewBook(0, w)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 15 {
		book.Add(finding(t, fmt.Sprintf("192.0.2.%d", i), detect.RoleScanner, 0.8, at))
	}
	// A suspect already pending is still updated.
	book.Add(finding(t, "192.0.2.0", detect.RoleC2, 0.8, at))
	if got := testutil.ToFloat64(w.m.dropped); got != 5 {
		t.Errorf("dropped = %v, want 5", got)
	}
	if w.Pending() != 10 {
		t.Errorf("pending = %d, want 10", w.Pending())
	}
}

func TestWriterKeepsPendingOnError(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	w := newTestWriter(t, db, WriterOptions{})
	book := detect.NewBook(0, w)
	book.Add(finding(t, "192.0.2.1", detect.RoleScanner, 0.8, time.Now()))
	if _, err := db.w.ExecContext(ctx, `ALTER TABLE suspects RENAME TO suspects_away`); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err == nil {
		t.Fatal("flush succeeded without a table")
	}
	if got := testutil.ToFloat64(w.m.errors); got != 1 {
		t.Errorf("write errors = %v, want 1", got)
	}
	if w.Pending() != 1 {
		t.Errorf("pending = %d, want 1 (kept for the next try)", w.Pending())
	}
	if _, err := db.w.ExecContext(ctx, `ALTER TABLE suspects_away RENAME TO suspects`); err != nil {
		t.Fatal(err)
	}
	w.Stop()
	if c, _ := db.CountSuspects(ctx); c != 1 {
		t.Errorf("stored %d after recovery, want 1", c)
	}
}

func TestWriterExpires(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	db.now = func() time.Time { return now }
	if err := db.SaveSuspects(ctx, []detect.Suspect{
		suspectAt(t, "192.0.2.1", now.Add(-91*24*time.Hour)),
		suspectAt(t, "192.0.2.2", now.Add(-89*24*time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	w := newTestWriter(t, db, WriterOptions{})
	w.expire(ctx)
	if got := testutil.ToFloat64(w.m.deleted); got != 1 {
		t.Errorf("expired = %v, want 1", got)
	}
	db.cfg.SuspectRetention = 0 // forever
	w.expire(ctx)
	if c, _ := db.CountSuspects(ctx); c != 1 {
		t.Errorf("left %d, want 1", c)
	}
}
