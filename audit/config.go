package audit

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Config is the audit log's configuration (key "audit").
type Config struct {
	// Key is the file holding the server's Ed25519 checkpoint signing key
	// (PEM, PKCS #8). It is created with mode 0600 on first use; its
	// public half is written beside it as Key+".pub", which is all that
	// acd audit verify needs. Empty: audit.key beside the store's database
	// (the caller resolves it; see ResolveKey).
	Key string `yaml:"key"`
	// CheckpointEvery signs a checkpoint after this many entries (and on
	// demand, at shutdown). Entries after the last checkpoint are an
	// unverified tail until the next one.
	CheckpointEvery int `yaml:"checkpoint_every"`
}

// DefaultConfig keeps the key beside the store's database and signs a
// checkpoint every 10 entries.
func DefaultConfig() Config {
	return Config{CheckpointEvery: 10}
}

// ResolveKey returns c with an empty Key set to audit.key in dir (the
// store's directory).
func (c Config) ResolveKey(dir string) Config {
	if c.Key == "" {
		c.Key = filepath.Join(dir, "audit.key")
	}
	return c
}

// PublicKeyPath is where the public half of the key is written.
func (c Config) PublicKeyPath() string { return c.Key + ".pub" }

// Validate checks c; every problem names its key.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Key != "" && strings.TrimSpace(c.Key) == "":
		errs = append(errs, errors.New("audit.key: must not be blank (leave it empty for audit.key beside the store)"))
	case strings.ContainsRune(c.Key, 0):
		errs = append(errs, fmt.Errorf("audit.key: %q must not contain NUL", c.Key))
	}
	if c.CheckpointEvery < 1 || c.CheckpointEvery > 1_000_000 {
		errs = append(errs, fmt.Errorf("audit.checkpoint_every: %d out of range [1, 1000000]", c.CheckpointEvery))
	}
	return errors.Join(errs...)
}
