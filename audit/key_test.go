package audit

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("create: %v, created %v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	pub, err := LoadPublicKey(path + ".pub")
	if err != nil || !bytes.Equal(pub, k1.Public().(ed25519.PublicKey)) {
		t.Fatalf("public key: %v", err)
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || !k1.Equal(k2) {
		t.Fatalf("reload: %v, created %v, same %v", err, created, k1.Equal(k2))
	}
	// A lost .pub is written again.
	_ = os.Remove(path + ".pub")
	if _, _, err := LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPublicKey(path + ".pub"); err != nil {
		t.Fatal(err)
	}

	other := filepath.Join(dir, "other.key")
	if _, _, err := LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) string
		want  string
	}{
		{"readable by others", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "k")
			b, _ := os.ReadFile(path)
			_ = os.WriteFile(p, b, 0o644)
			_ = os.Chmod(p, 0o644)
			return p
		}, "chmod 600"},
		{"not PEM", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "k")
			_ = os.WriteFile(p, []byte("hello"), 0o600)
			return p
		}, "not a PEM PRIVATE KEY"},
		{"mismatched pub", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "k")
			b, _ := os.ReadFile(path)
			_ = os.WriteFile(p, b, 0o600)
			o, _ := os.ReadFile(other + ".pub")
			_ = os.WriteFile(p+".pub", o, 0o644)
			return p
		}, "does not match"},
		{"missing directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "no", "k") }, "unable to create"},
	}
	for _, tt := range tests {
		if _, _, err := LoadOrCreateKey(tt.setup(t)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := LoadPublicKey(path); err == nil {
		t.Error("a private key file loaded as a public key")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		c    Config
		want string
	}{
		{Config{Key: "  ", CheckpointEvery: 1}, "audit.key"},
		{Config{Key: "a\x00b", CheckpointEvery: 1}, "audit.key"},
		{Config{Key: "k", CheckpointEvery: 0}, "audit.checkpoint_every"},
		{Config{Key: "k", CheckpointEvery: 2_000_000}, "audit.checkpoint_every"},
	}
	for _, tt := range tests {
		if err := tt.c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.c, err, tt.want)
		}
	}
	if got := DefaultConfig().ResolveKey("d").PublicKeyPath(); got != "d/audit.key.pub" {
		t.Errorf("PublicKeyPath = %q", got)
	}
}
