package main

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeNeverActReload executes a block, then adds its network to
// enforce.rails.never_act and sends SIGHUP: the action is withdrawn at
// once (case.retract in the audit log) and executing it again is refused
// by the rail.
func TestServeNeverActReload(t *testing.T) {
	f := newCaseFixture(t)
	s := startServe(t, f.bin, f.dir, f.cfg)
	server := "http://" + s.http
	as := func(user string, want int, args ...string) string {
		t.Helper()
		code, out, errOut := f.as(t, server, user, args...)
		if code != want {
			t.Fatalf("%s %v: exit %d, want %d: %s %s", user, args, code, want, out, errOut)
		}
		return out + errOut
	}
	out := as("ana", 0, "create", "--target", "100.64.0.7", "--suspect", "100.64.0.7", "--legal-basis", "ACD Act art. 12(1)",
		"--action", "block=100.64.0.7", "--for", "1h", "--json")
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	id := created.ID
	as("ana", 0, "request", id)
	as("c1", 0, "approve", id, "--key", f.keys["c1"])
	as("c2", 0, "approve", id, "--key", f.keys["c2"])
	as("op1", 0, "execute", id, "--action", "0")

	cfg, err := os.ReadFile(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(cfg), "enforce: {record_only: true}", "enforce: {record_only: true, rails: {never_act: [100.64.0.0/24]}}", 1)
	if edited == string(cfg) {
		t.Fatal("the fixture's enforce line changed; update this test")
	}
	if err := os.WriteFile(f.cfg, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the block to be retracted", func() bool {
		var entries []struct {
			Action string          `json:"action"`
			Data   json.RawMessage `json:"data"`
		}
		apiGetEntries(t, server, "aud", f.pw["aud"], "/api/v1/audit?action=case.retract&object=case:"+id, &entries)
		return len(entries) == 1 && strings.Contains(string(entries[0].Data), "100.64.0.0/24")
	}, s.logs.String)
	if msg := as("op1", 1, "execute", id, "--action", "0"); !strings.Contains(msg, "rail") {
		t.Errorf("executing again under the rail: %s", msg)
	}
}
