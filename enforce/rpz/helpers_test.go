package rpz

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// sinkhole returns a sinkhole action on target from t0 for a day.
func sinkhole(target string, subdomains bool) cases.Action {
	return cases.Action{Type: cases.ActionSinkhole, Target: cases.MustTarget(target),
		Scope: cases.Scope{Subdomains: subdomains}, NotBefore: t0, NotAfter: t0.Add(24 * time.Hour)}
}

// kase returns case id with actions.
func kase(id string, actions ...cases.Action) cases.Case {
	return cases.Case{ID: id, Version: 1, Target: actions[0].Target, Actions: actions}
}

func items(c cases.Case) []enforce.Item {
	var out []enforce.Item
	for i, a := range c.Actions {
		out = append(out, enforce.Item{Case: c, Index: i, Action: a})
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testLogger logs through t.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// newRPZ returns an RPZ on cfg with a clock at t0.
func newRPZ(t *testing.T, cfg Config) (*RPZ, *clock) {
	t.Helper()
	clk := &clock{t: t0}
	r, err := New(cfg, Deps{Logger: quiet(), Now: clk.now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, clk
}

// start starts r on a free loopback port and stops it at cleanup.
func start(t *testing.T, r *RPZ) {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	return cfg
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(got, string(want)); diff != "" {
		t.Errorf("%s (-got, +want):\n%s", path, diff)
	}
}

func apply(t *testing.T, r *RPZ, c cases.Case, i int) {
	t.Helper()
	if err := r.Apply(context.Background(), c, c.Actions[i]); err != nil {
		t.Fatalf("Apply %s/%d: %v", c.ID, i, err)
	}
}

func withdraw(t *testing.T, r *RPZ, c cases.Case, i int) {
	t.Helper()
	if err := r.Withdraw(context.Background(), c, c.Actions[i]); err != nil {
		t.Fatalf("Withdraw %s/%d: %v", c.ID, i, err)
	}
}
