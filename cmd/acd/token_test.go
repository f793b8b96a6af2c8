package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acd-org/acd/store"
)

func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	environ := []string{"ACD_STORE_PATH=" + filepath.Join(dir, "acd.db")}

	code, secret, errOut := runCmd(t, environ, "token", "create", "--role", "analyst", "grafana")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	secret = strings.TrimSpace(secret)
	if !strings.HasPrefix(secret, "acd_") || strings.Contains(secret, "\n") {
		t.Errorf("create printed %q, want the secret alone", secret)
	}
	if !strings.Contains(errOut, "will not be shown again") || strings.Contains(errOut, secret) {
		t.Errorf("create stderr = %q", errOut)
	}
	// The flag may follow the name.
	if code, _, errOut := runCmd(t, environ, "token", "create", "ci", "--role", "operator"); code != 0 {
		t.Fatalf("create (flag last): exit %d: %s", code, errOut)
	}

	// The secret authenticates against the store.
	cfg := store.DefaultConfig()
	cfg.Path = filepath.Join(dir, "acd.db")
	db, err := store.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.Authenticate(context.Background(), secret)
	db.Close()
	if err != nil || p.Name != "grafana" || p.Roles[0] != "analyst" {
		t.Fatalf("authenticate: %+v, %v", p, err)
	}

	code, out, _ := runCmd(t, environ, "token", "list")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "grafana") || !strings.Contains(out, "analyst") || strings.Contains(out, secret) {
		t.Errorf("list: exit %d:\n%s", code, out)
	}

	if code, out, errOut := runCmd(t, environ, "token", "revoke", "grafana"); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: exit %d: %s %s", code, out, errOut)
	}
	code, out, _ = runCmd(t, environ, "token", "list", "--json")
	var ts []store.Token
	if err := json.Unmarshal([]byte(out), &ts); code != 0 || err != nil || len(ts) != 2 {
		t.Fatalf("list --json: exit %d, %v:\n%s", code, err, out)
	}
	if ts[1].Name != "grafana" || ts[1].RevokedAt.IsZero() || ts[1].LastUsed.IsZero() || !ts[0].RevokedAt.IsZero() {
		t.Errorf("tokens = %+v", ts)
	}
}

func TestTokenErrors(t *testing.T) {
	dir := t.TempDir()
	environ := []string{"ACD_STORE_PATH=" + filepath.Join(dir, "acd.db")}
	if code, _, errOut := runCmd(t, environ, "token", "create", "--role", "admin", "root"); code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	tests := []struct {
		name    string
		args    []string
		environ []string
		code    int
		out     string // substring of stdout
		err     string // substring of stderr
	}{
		{"no subcommand", []string{"token"}, environ, 2, "", "expected create, list or revoke"},
		{"unknown subcommand", []string{"token", "rotate"}, environ, 2, "", `unknown subcommand "rotate"`},
		{"help", []string{"token", "--help"}, environ, 0, "", "Exit status"},
		{"help token", []string{"help", "token"}, environ, 0, "acd token create --role", ""},
		{"create help", []string{"token", "create", "--help"}, environ, 0, "", "Usage: acd token create"},
		{"create without role", []string{"token", "create", "x"}, environ, 2, "", "--role is required"},
		{"create bad role", []string{"token", "create", "--role", "root", "x"}, environ, 2, "", `unknown role "root"`},
		{"create bad name", []string{"token", "create", "--role", "admin", "a b"}, environ, 2, "", "invalid token name"},
		{"create two names", []string{"token", "create", "--role", "admin", "a", "b"}, environ, 2, "", "expected one NAME"},
		{"create taken", []string{"token", "create", "--role", "analyst", "root"}, environ, 1, "", "already exists"},
		{"revoke unknown", []string{"token", "revoke", "nobody"}, environ, 1, "", `no token named "nobody"`},
		{"revoke without name", []string{"token", "revoke"}, environ, 2, "", "expected one NAME"},
		{"list argument", []string{"token", "list", "x"}, environ, 2, "", "no argument"},
		{"store directory missing", []string{"token", "list"}, []string{"ACD_STORE_PATH=" + filepath.Join(dir, "no", "acd.db")}, 1, "", "store.path: directory"},
		{"bad store path", []string{"token", "list"}, []string{"ACD_STORE_PATH=x.db?mode=ro"}, 1, "", "store.path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.environ, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tt.code, tt.out, tt.err)
			}
		})
	}
}

func TestTokenConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "acd.yaml")
	dbPath := filepath.Join(dir, "tokens.db")
	if err := os.WriteFile(cfgFile, []byte("store:\n  path: "+dbPath+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd(t, nil, "token", "create", "-c", cfgFile, "--role", "auditor", "audit"); code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	if _, err := os.Stat(dbPath); err != nil {
		t.Errorf("store not at store.path: %v", err)
	}
	if code, out, _ := runCmd(t, nil, "token", "list", "-c", cfgFile); code != 0 || !strings.Contains(out, "auditor") {
		t.Errorf("list: exit %d: %s", code, out)
	}
}
