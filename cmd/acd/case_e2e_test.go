package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/store"
)

// TestCaseEndToEnd runs the acd binary with a 2-of-3 commission and the
// record-only enforcement, and takes a case from a stored suspect through
// the CLI and the REST API: create (analyst) → request → two signed
// approvals (commissioners, keys kept on "their" side) → execute
// (operator; the enforcement side checks the gate) → revoke; the refusals
// of separation of duties on the way; then the audit log verifies offline
// and the oversight report counts what happened.
// caseFixture is a commission (2 of c1, c2, c3), an analyst, an operator
// and an auditor, their passwords and keys, a configuration with the
// record-only enforcement and a stored scanner suspect.
type caseFixture struct {
	bin, dir, cfg string
	keys, pw      map[string]string
}

func newCaseFixture(t *testing.T) *caseFixture {
	t.Helper()
	return newCaseFixtureWith(t, "enforce: {record_only: true}\n", "")
}

// newCaseFixtureWith is newCaseFixture with more configuration: rest
// (the enforcement sections and anything else) and screen's extra keys
// (e.g. "domestic: {add: [...]}").
func newCaseFixtureWith(t *testing.T, rest, screenExtra string) *caseFixture {
	t.Helper()
	bin := buildAcd(t)
	dir := t.TempDir()
	screenKey := filepath.Join(dir, "screen.key")
	if code, _, errOut := runCmd(t, nil, "keygen", screenKey); code != 0 {
		t.Fatal(errOut)
	}
	// The commissioners make their keys; the policy lists the key ids.
	keys := map[string]string{}
	var ids []string
	pubs := map[string]string{}
	for _, c := range []string{"c1", "c2", "c3"} {
		keys[c] = filepath.Join(dir, c+".key")
		code, out, errOut := runCmd(t, nil, "user", "keygen", "--out", keys[c])
		if code != 0 {
			t.Fatal(errOut)
		}
		pubs[c] = strings.TrimSpace(out)
		priv, err := readSigningKey(keys[c])
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, store.KeyID(priv.Public().(ed25519.PublicKey)))
	}
	cfg := filepath.Join(dir, "acd.yaml")
	if err := os.WriteFile(cfg, []byte(`
http: {listen: 127.0.0.1:0}
collect:
  netflow: {listen: ["127.0.0.1:0"]}
  sflow: {listen: ["127.0.0.1:0"]}
screen: {key: {file: `+screenKey+`}`+screenExtra+`}
store: {path: `+filepath.Join(dir, "acd.db")+`}
cases:
  quorum: 2
  commissioners: [`+strings.Join(ids, ", ")+`]
  emergency_operators: [op1]
  owned_prefixes: [198.18.0.0/15]
`+rest), 0o600); err != nil {
		t.Fatal(err)
	}
	// Users (each gets a generated password, printed once) and keys.
	pw := map[string]string{}
	for _, u := range []struct{ name, role string }{{"ana", "analyst"}, {"c1", "commissioner"}, {"c2", "commissioner"}, {"c3", "commissioner"}, {"op1", "operator"}, {"aud", "auditor"}} {
		code, out, errOut := runCmd(t, nil, "user", "add", u.name, "--role", u.role, "-c", cfg)
		if code != 0 {
			t.Fatalf("user add %s: %s", u.name, errOut)
		}
		pw[u.name] = strings.TrimSpace(out)
	}
	for _, c := range []string{"c1", "c2", "c3"} {
		if code, _, errOut := runCmd(t, nil, "user", "key", "add", c, "--pubkey", pubs[c], "-c", cfg); code != 0 {
			t.Fatalf("key add %s: %s", c, errOut)
		}
	}
	// A suspect detection found earlier, in the store: serve loads it.
	scfg := store.DefaultConfig()
	scfg.Path = filepath.Join(dir, "acd.db")
	db, err := store.Open(context.Background(), scfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	scanner := detect.Suspect{Key: detect.Key{Addr: flow.AddrFrom4([4]byte{100, 64, 0, 7})}, Roles: []detect.Role{detect.RoleScanner}, Score: 0.9,
		FirstSeen: now.Add(-time.Hour), LastSeen: now, Updated: now,
		Evidence: []detect.Evidence{{Detector: "scan", Role: detect.RoleScanner, Score: 0.9, Reason: "horizontal scan", First: now.Add(-time.Hour), Last: now, Findings: 1}}}
	if err := db.SaveSuspects(context.Background(), []detect.Suspect{scanner}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	return &caseFixture{bin: bin, dir: dir, cfg: cfg, keys: keys, pw: pw}
}

// serve starts acd serve on the fixture and returns its URL and process.
func (f *caseFixture) serve(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	s := startServe(t, f.bin, f.dir, f.cfg)
	return "http://" + s.http, s.cmd
}

// as runs an acd case command as user against server.
func (f *caseFixture) as(t *testing.T, server, user string, args ...string) (int, string, string) {
	t.Helper()
	return runCmd(t, []string{"ACD_SERVER=" + server, "ACD_PASSWORD=" + f.pw[user]}, append(append([]string{"case"}, args...), "--user", user)...)
}

func TestCaseEndToEnd(t *testing.T) {
	f := newCaseFixture(t)
	keys, pw, cfg := f.keys, f.pw, f.cfg
	server, cmd := f.serve(t)

	as := func(user string, args ...string) (int, string, string) {
		t.Helper()
		return f.as(t, server, user, args...)
	}
	code, out, errOut := as("ana", "create", "--target", "100.64.0.7", "--suspect", "100.64.0.7", "--legal-basis", "ACD Act art. 12(1)",
		"--action", "block=100.64.0.7;protocol=tcp;ports=22", "--for", "1h", "--json")
	if code != 0 {
		t.Fatalf("create: %s %s", out, errOut)
	}
	var created struct {
		ID           string `json:"id"`
		EvidenceHash string `json:"evidence_hash"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID == "" || len(created.EvidenceHash) != 64 {
		t.Fatalf("create output %q: %v", out, err)
	}
	id := created.ID
	step := func(user string, want int, args ...string) string {
		t.Helper()
		code, out, errOut := as(user, args...)
		if code != want {
			t.Fatalf("%s %v: exit %d, want %d: %s %s", user, args, code, want, out, errOut)
		}
		return out + errOut
	}
	step("ana", 0, "request", id)
	// Separation of duties and roles, refused by the server.
	if msg := step("ana", 1, "approve", id, "--key", keys["c1"]); !strings.Contains(msg, "403") && !strings.Contains(strings.ToLower(msg), "forbidden") {
		t.Errorf("an analyst approving: %s", msg)
	}
	step("op1", 1, "execute", id, "--action", "0") // not approved yet: the gate refuses
	step("c1", 0, "approve", id, "--key", keys["c1"])
	step("c2", 0, "approve", id, "--key", keys["c2"])
	step("c1", 1, "execute", id, "--action", "0") // a commissioner is no operator
	step("op1", 0, "execute", id, "--action", "0")
	var shown struct {
		Case struct {
			State string `json:"state"`
		} `json:"case"`
		Approvals []json.RawMessage `json:"approvals"`
	}
	if err := json.Unmarshal([]byte(step("ana", 0, "show", id, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Case.State != "active" || len(shown.Approvals) != 2 {
		t.Fatalf("after execution: state %q, %d approvals", shown.Case.State, len(shown.Approvals))
	}
	step("c3", 0, "revoke", id, "--reason", "the scanner stopped")

	// The API refuses anonymous and wrong-role access to cases.
	resp, err := http.Get(server + "/api/v1/cases")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous GET /api/v1/cases: %d", resp.StatusCode)
	}

	// The auditor verifies the live chain through the API.
	req, _ := http.NewRequest(http.MethodGet, server+"/api/v1/audit/verify", nil)
	req.SetBasicAuth("aud", pw["aud"])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		OK bool `json:"ok"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !rep.OK {
		t.Errorf("GET /api/v1/audit/verify as auditor: status %d, ok %v", resp.StatusCode, rep.OK)
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	code, out, errOut = runCmd(t, nil, "audit", "verify", "-c", cfg, "--strict")
	if code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("audit verify: exit %d: %s %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, nil, "report", "oversight", "-c", cfg, "--from", "2000-01-01", "--to", "2100-01-01", "--json")
	if code != 0 {
		t.Fatalf("oversight: %s", errOut)
	}
	t.Logf("oversight report: %s", out)
	for _, want := range []string{"case.approve", "case.execute", "case.revoke", "gate.refuse"} {
		if !strings.Contains(out, want) {
			t.Errorf("oversight report lacks %s", want)
		}
	}
}
