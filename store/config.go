package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the store's configuration (key "store").
type Config struct {
	// Path is the SQLite database file, relative to the working
	// directory unless absolute. It is created (mode 0600) when missing;
	// SQLite keeps two companion files beside it (-wal and -shm).
	Path string `yaml:"path"`
	// SuspectRetention deletes suspects that no finding has updated for
	// this long (wall clock). 0 keeps them forever.
	SuspectRetention time.Duration `yaml:"suspect_retention"`
	// BusyTimeout is how long a statement waits for another writer (acd
	// token in another process, say) before failing with "database is
	// locked".
	BusyTimeout time.Duration `yaml:"busy_timeout"`
}

// DefaultConfig keeps acd.db in the working directory and suspects for
// 90 days.
func DefaultConfig() Config {
	return Config{Path: "acd.db", SuspectRetention: 90 * 24 * time.Hour, BusyTimeout: 5 * time.Second}
}

// Validate checks c; every problem names its key.
func (c Config) Validate() error {
	var errs []error
	switch {
	case strings.TrimSpace(c.Path) == "":
		errs = append(errs, errors.New("store.path: must not be empty"))
	case c.Path == ":memory:" || strings.HasPrefix(c.Path, "file:"):
		errs = append(errs, fmt.Errorf("store.path: %q: give a file path (no :memory:, no file: URI)", c.Path))
	case strings.ContainsAny(c.Path, "?#\x00"):
		errs = append(errs, fmt.Errorf("store.path: %q must not contain '?', '#' or NUL", c.Path))
	}
	if c.SuspectRetention < 0 {
		errs = append(errs, fmt.Errorf("store.suspect_retention: %v is negative (0 keeps suspects forever)", c.SuspectRetention))
	} else if c.SuspectRetention > 0 && c.SuspectRetention < time.Hour {
		errs = append(errs, fmt.Errorf("store.suspect_retention: %v is under an hour (0 keeps suspects forever)", c.SuspectRetention))
	}
	if c.BusyTimeout < 0 || c.BusyTimeout > time.Minute {
		errs = append(errs, fmt.Errorf("store.busy_timeout: %v out of range [0, 1m]", c.BusyTimeout))
	}
	return errors.Join(errs...)
}
