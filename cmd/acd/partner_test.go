package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPartnerUpdate: a partner added read-only learns its server and the
// key acd presents there; only the flags given change; bad uses are
// usage errors.
func TestPartnerUpdate(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "acd.yaml")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("acd.yaml", "store: {path: "+filepath.Join(dir, "acd.db")+"}\n")
	agreement := write("us.yaml", "outgoing: {collections: [0f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1], max_tlp: green}\n")
	if code, _, errOut := runCmd(t, nil, "partner", "add", "us", "-c", cfg, "--agreement", agreement); code != 0 {
		t.Fatalf("partner add: exit %d: %s", code, errOut)
	}
	key := write("from-us.key", "secret-from-us\n")
	list := func() map[string]any {
		t.Helper()
		code, out, errOut := runCmd(t, nil, "partner", "list", "--json", "-c", cfg)
		var ps []map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &ps) != nil || len(ps) != 1 {
			t.Fatalf("partner list: exit %d: %s %s", code, out, errOut)
		}
		if strings.Contains(out, "secret-from-us") {
			t.Fatal("partner list shows the remote key")
		}
		return ps[0]
	}
	if code, _, errOut := runCmd(t, nil, "partner", "update", "us", "-c", cfg, "--url", "https://taxii.us.example/", "--api-root", "acd",
		"--remote-key-file", key); code != 0 {
		t.Fatalf("partner update: exit %d: %s", code, errOut)
	}
	if p := list(); p["url"] != "https://taxii.us.example/" || p["api_root"] != "acd" || p["has_remote_key"] != true {
		t.Errorf("after update: %v", p)
	}
	if code, _, errOut := runCmd(t, nil, "partner", "update", "us", "-c", cfg, "--push-collection", "c-in"); code != 0 {
		t.Fatalf("partner update --push-collection: exit %d: %s", code, errOut)
	}
	if p := list(); p["url"] != "https://taxii.us.example/" || p["push_collection"] != "c-in" || p["has_remote_key"] != true {
		t.Errorf("after a push-collection update the rest must stay: %v", p)
	}
	if code, _, errOut := runCmd(t, nil, "partner", "update", "us", "-c", cfg, "--url", ""); code != 0 {
		t.Fatalf("partner update --url '': exit %d: %s", code, errOut)
	}
	if p := list(); p["url"] != nil || p["has_remote_key"] != false || p["push_collection"] != nil {
		t.Errorf("read-only again: %v", p)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"us"}, 2, "nothing to change"},
		{[]string{"us", "--url", "https://x.example/"}, 2, "go together"},
		{[]string{"nobody", "--push-collection", "c"}, 1, "no partner named"},
		{[]string{"us", "--url", "ftp://x/", "--api-root", "acd"}, 1, "not an http(s) URL"},
		{[]string{"us", "--remote-key-file", filepath.Join(dir, "missing.key")}, 1, "unable to read the remote key"},
	} {
		code, _, errOut := runCmd(t, nil, append([]string{"partner", "update", "-c", cfg}, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("partner update %v: exit %d: %s; want exit %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}
