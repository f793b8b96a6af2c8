package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"empty path", func(c *Config) { c.Path = " " }, "store.path: must not be empty"},
		{"memory", func(c *Config) { c.Path = ":memory:" }, "store.path"},
		{"uri", func(c *Config) { c.Path = "file:x.db" }, "store.path"},
		{"query", func(c *Config) { c.Path = "x.db?mode=ro" }, "store.path"},
		{"negative retention", func(c *Config) { c.SuspectRetention = -time.Hour }, "store.suspect_retention"},
		{"tiny retention", func(c *Config) { c.SuspectRetention = time.Minute }, "store.suspect_retention"},
		{"no retention", func(c *Config) { c.SuspectRetention = 0 }, ""},
		{"busy timeout", func(c *Config) { c.BusyTimeout = time.Hour }, "store.busy_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestOpenMigratesOnce(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "acd.db")
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	latest := ms[len(ms)-1].version
	for range 2 {
		db, err := Open(ctx, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil || v != latest {
			t.Errorf("schema version = %d, %v; want %d", v, err, latest)
		}
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
			t.Errorf("schema_migrations rows = %d, %v; want %d", n, err, len(ms))
		}
		var mode string
		if err := db.r.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		var fk int
		if err := db.w.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestMigrationsOrdered(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %d is numbered %d: versions must run 1, 2, 3...", i, m.version)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing directory", filepath.Join(dir, "nope", "acd.db"), "store.path: directory"},
		{"directory as file", dir, "store.path: unable to open"},
		{"not a database", writeFile(t, filepath.Join(dir, "junk.db"), strings.Repeat("not sqlite ", 100)), "unable to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Path = tt.path
			db, err := Open(ctx, cfg, nil)
			if err == nil {
				_ = db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want containing %q", err, tt.want)
			}
		})
	}
}

func TestOpenNewerSchema(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.w.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, db.cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "newer than this acd") {
		t.Errorf("error = %v, want a newer-schema error", err)
	}
}

func TestLockedByAnother(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	other, err := Open(ctx, db.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// The other process holds the write lock.
	conn, err := other.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.ExecContext(ctx, "ROLLBACK") }()
	short, err := Open(ctx, withBusy(db.cfg, 50*time.Millisecond), nil)
	if err == nil {
		_, err = short.CreateToken(ctx, "ci", RoleAnalyst)
		short.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "database is locked (by another acd?") {
		t.Errorf("error = %v, want the locked hint", err)
	}
}

func withBusy(c Config, d time.Duration) Config {
	c.BusyTimeout = d
	return c
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
