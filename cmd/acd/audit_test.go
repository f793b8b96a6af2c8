package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/store"
)

func TestAuditCommands(t *testing.T) {
	dir := t.TempDir()
	environ := []string{"ACD_STORE_PATH=" + filepath.Join(dir, "acd.db")}
	key := filepath.Join(dir, "audit.key")
	pub := key + ".pub"
	for _, name := range []string{"grafana", "ci", "backup"} {
		if code, _, errOut := runCmd(t, environ, "token", "create", "--role", "analyst", name); code != 0 {
			t.Fatalf("token create: %s", errOut)
		}
	}
	if code, _, errOut := runCmd(t, environ, "token", "revoke", "ci"); code != 0 {
		t.Fatalf("token revoke: %s", errOut)
	}

	// Each command signed a checkpoint when it was done, with the key
	// beside the store (the default).
	code, out, errOut := runCmd(t, environ, "audit", "checkpoint", "--key", key)
	if code != 0 || !strings.Contains(out, "nothing to sign") {
		t.Fatalf("checkpoint: exit %d: %s %s", code, out, errOut)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if code, out, _ := runCmd(t, environ, "audit", "checkpoint", "--key", key); code != 0 || !strings.Contains(out, "nothing to sign") {
		t.Errorf("second checkpoint: exit %d: %s", code, out)
	}

	code, out, errOut = runCmd(t, environ, "audit", "verify", "--pubkey", pub)
	if code != 0 || !strings.Contains(out, "4 entries") || !strings.Contains(out, "verified") {
		t.Fatalf("verify: exit %d: %s %s", code, out, errOut)
	}

	code, out, _ = runCmd(t, environ, "audit", "list", "--action", "token.*")
	if code != 0 || !strings.Contains(out, "token.revoke") || !strings.Contains(out, "token:grafana") || !strings.Contains(out, `"role":"analyst"`) {
		t.Errorf("list: exit %d:\n%s", code, out)
	}
	code, out, _ = runCmd(t, environ, "audit", "list", "--json", "--action", "token.revoke")
	var e audit.Entry
	if err := json.Unmarshal([]byte(out), &e); code != 0 || err != nil || e.Seq != 4 || e.Object != "token:ci" || e.Actor != "cli" {
		t.Errorf("list --json: exit %d, %v: %s", code, err, out)
	}

	export := filepath.Join(dir, "audit.jsonl")
	if code, _, errOut := runCmd(t, environ, "audit", "export", "-o", export); code != 0 || !strings.Contains(errOut, "entries 1..4") {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	// Offline: no store needed, only the file and the public key.
	if code, out, errOut := runCmd(t, nil, "audit", "verify", "--file", export, "--pubkey", pub); code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("verify --file: exit %d: %s %s", code, out, errOut)
	}
	b, _ := os.ReadFile(export)
	tampered := filepath.Join(dir, "tampered.jsonl")
	_ = os.WriteFile(tampered, []byte(strings.Replace(string(b), "token:ci", "token:cj", 1)), 0o600)
	code, out, errOut = runCmd(t, nil, "audit", "verify", "--file", tampered, "--pubkey", pub)
	if code != 1 || !strings.Contains(out, "BROKEN seq 2: hash") || !strings.Contains(errOut, "broken at seq 2") {
		t.Errorf("tampered: exit %d: %s %s", code, out, errOut)
	}
	code, out, _ = runCmd(t, nil, "audit", "verify", "--file", tampered, "--pubkey", pub, "--json")
	var r audit.Report
	if err := json.Unmarshal([]byte(out), &r); code != 1 || err != nil || len(r.Problems) == 0 || r.Problems[0].Seq != 2 {
		t.Errorf("tampered --json: exit %d, %v: %s", code, err, out)
	}

	// A new entry after the checkpoint (written by something that does not
	// sign: the commands sign when they are done) is an unverified tail:
	// fine, unless --strict.
	cfg := store.DefaultConfig()
	cfg.Path = filepath.Join(dir, "acd.db")
	db, err := store.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Audit(context.Background(), audit.Entry{Action: "test", Object: "late"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, out, _ := runCmd(t, environ, "audit", "verify", "--pubkey", pub); code != 0 || !strings.Contains(out, "unverified tail: 1") {
		t.Errorf("tail: exit %d: %s", code, out)
	}
	if code, _, errOut := runCmd(t, environ, "audit", "verify", "--pubkey", pub, "--strict"); code != 1 || !strings.Contains(errOut, "unverified tail") {
		t.Errorf("tail --strict: exit %d: %s", code, errOut)
	}

	for _, args := range [][]string{
		{"audit", "report", "--from", "2000-01-01", "--to", "2100-01-01"},
		{"report", "oversight", "--from", "2000-01-01", "--to", "2100-01-01"},
	} {
		code, out, errOut := runCmd(t, environ, args...)
		if code != 0 || !strings.Contains(out, "approval requests") || !strings.Contains(out, "token.create") {
			t.Errorf("%v: exit %d: %s %s", args, code, out, errOut)
		}
	}
	code, out, _ = runCmd(t, environ, "report", "oversight", "--from", "2000-01-01", "--to", "2100-01-01", "--json")
	var o audit.Oversight
	if err := json.Unmarshal([]byte(out), &o); code != 0 || err != nil || o.Entries != 5 {
		t.Errorf("report --json: exit %d, %v: %s", code, err, out)
	}
}

func TestAuditUsage(t *testing.T) {
	dir := t.TempDir()
	environ := []string{"ACD_STORE_PATH=" + filepath.Join(dir, "acd.db")}
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"audit"}, 2, "expected verify, export"},
		{[]string{"audit", "rotate"}, 2, `unknown subcommand "rotate"`},
		{[]string{"audit", "verify", "extra"}, 2, "no argument"},
		{[]string{"audit", "verify", "--partial", "--pubkey", "x"}, 2, "--partial is for an export"},
		{[]string{"audit", "verify", "--pubkey", filepath.Join(dir, "none.pub")}, 1, "--pubkey"},
		{[]string{"audit", "verify", "--file", filepath.Join(dir, "none.jsonl"), "--pubkey", filepath.Join(dir, "none.pub")}, 1, "no such file"},
		{[]string{"audit", "export", "--from", "yesterday"}, 2, `--from "yesterday"`},
		{[]string{"audit", "list", "--limit", "-1"}, 2, "negative"},
		{[]string{"audit", "report", "--from", "2026-01-01"}, 2, "--from and --to are required"},
		{[]string{"audit", "report", "--from", "2026-02-01", "--to", "2026-01-01"}, 2, "not before"},
		{[]string{"report"}, 2, "expected 'oversight'"},
	}
	for _, tt := range tests {
		code, _, errOut := runCmd(t, environ, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", tt.args, code, errOut, tt.code, tt.err)
		}
	}
	if code, _, errOut := runCmd(t, environ, "audit", "verify", "--help"); code != 0 || !strings.Contains(errOut, "Exit status") {
		t.Errorf("verify --help: exit %d: %s", code, errOut)
	}
}
