package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acd-org/acd/store"
)

func TestBouncerCommands(t *testing.T) {
	dir := t.TempDir()
	environ := []string{"ACD_STORE_PATH=" + filepath.Join(dir, "acd.db")}
	code, key, errOut := runCmd(t, environ, "bouncer", "add", "edge-fw1")
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, errOut)
	}
	key = strings.TrimSpace(key)
	if len(key) < 40 || strings.Contains(errOut, key) || !strings.Contains(errOut, "will not be shown again") {
		t.Fatalf("add printed %q / %q", key, errOut)
	}
	if code, _, errOut := runCmd(t, environ, "bouncer", "add", "edge-fw1"); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("second add: exit %d: %s", code, errOut)
	}
	if code, _, _ := runCmd(t, environ, "bouncer", "add", "no good"); code != 2 {
		t.Errorf("bad name: exit %d, want 2", code)
	}
	cfg := store.DefaultConfig()
	cfg.Path = filepath.Join(dir, "acd.db")
	db, err := store.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	name, err := db.BouncerKeys().Bouncer(context.Background(), key)
	db.Close()
	if err != nil || name != "edge-fw1" {
		t.Fatalf("the printed key does not authenticate: %q %v", name, err)
	}
	if code, out, _ := runCmd(t, environ, "bouncer", "list"); code != 0 || !strings.Contains(out, "edge-fw1") || strings.Contains(out, key) {
		t.Errorf("list: exit %d:\n%s", code, out)
	}
	if code, out, _ := runCmd(t, environ, "bouncer", "revoke", "edge-fw1"); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: exit %d: %s", code, out)
	}
	if code, _, errOut := runCmd(t, environ, "bouncer", "revoke", "nobody"); code != 1 || !strings.Contains(errOut, "acd bouncer list") {
		t.Errorf("revoke unknown: exit %d: %s", code, errOut)
	}
	code, out, _ := runCmd(t, environ, "bouncer", "list", "--json")
	var bs []store.Bouncer
	if err := json.Unmarshal([]byte(out), &bs); code != 0 || err != nil || len(bs) != 1 || bs[0].RevokedAt.IsZero() || bs[0].LastPull.IsZero() {
		t.Fatalf("list --json: exit %d, %v: %s", code, err, out)
	}
	if code, _, out := runCmd(t, environ, "bouncer", "--help"); code != 0 || !strings.Contains(out, "api_url") {
		t.Errorf("help: exit %d: %s", code, out)
	}
}
