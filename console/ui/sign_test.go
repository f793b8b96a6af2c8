package ui

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/jcs"
)

// runner drives assets/js/sign.js under node: for each case of the
// input it checks the payload, imports the key, builds the message and
// signs, as the browser does (commission.js).
const runner = `
import { checkPayload, importSigningKey, pemToDER, approvalMessage, signApproval } from './sign.mjs';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { pem, cases } = JSON.parse(input);
const signer = await importSigningKey(pemToDER(pem));
const out = [];
for (const c of cases) {
  try {
    const p = checkPayload(c.approval.case, c.payload);
    const a = { ...c.approval, key_id: signer.keyId };
    const { body, message } = await signApproval(signer.key, p, a);
    if (message !== approvalMessage(p, a)) throw new Error('two messages');
    out.push({ key_id: signer.keyId, message, body });
  } catch (e) {
    out.push({ error: e.message });
  }
}
process.stdout.write(JSON.stringify(out));
`

// TestSignMatchesGo proves that the browser's signing code builds the
// message cases.Message builds, byte for byte, and that its signature and
// key id verify in Go. It needs node (not one of acd's test peers): the
// browser test (cmd/acd console_browser_test.go) proves the same path
// against the server in Chromium.
func TestSignMatchesGo(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the JS signing code is proven by the browser test only")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	payload := func(t *testing.T, m map[string]any) string {
		t.Helper()
		b, err := jcs.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	type approval struct {
		Case         string `json:"case"`
		Version      int    `json:"version"`
		Commissioner string `json:"commissioner"`
		Decision     string `json:"decision"`
		Reason       string `json:"reason"`
		SignedAt     string `json:"signed_at"`
	}
	type tc struct {
		name    string
		payload string
		a       approval
		refused string // the JS refuses to sign, with this in its error
	}
	at := "2026-03-14T08:00:00Z"
	tcs := []tc{
		{name: "approve", payload: payload(t, map[string]any{"case": "c-1", "version": 1, "target": "198.51.100.7",
			"actions": []any{map[string]any{"type": "block", "target": "198.51.100.7", "not_before": at, "not_after": "2026-03-15T08:00:00Z",
				"scope": map[string]any{"protocol": 6, "ports": []any{map[string]any{"from": 22, "to": 22}}}}}}),
			a: approval{"c-1", 1, "carol", "approve", "", at}},
		{name: "reject with reason", payload: payload(t, map[string]any{"case": "c-2", "version": 3, "legal_basis": "ACD Act art. 12(1)"}),
			a: approval{"c-2", 3, "cole", "reject", "evidence too thin: \"one\" window <only> & 'no' samples\n\tsee ticket", at}},
		{name: "unicode and numbers", payload: payload(t, map[string]any{"case": "c-3", "version": 2, "note": "Zürich € 😀 \u2028 \u0001 \\ /",
			"nums": []any{0.1, 1e21, 1e-7, 123456789012, -0.5, 100, 1.5e300}, "ünïcode-key": true, "Z": nil, "a": false, "€": 1, "😀": 2}),
			a: approval{"c-3", 2, "cora", "approve", "ok ✓", at}},
		{name: "not canonical", payload: `{"version":1,"case":"c-4"}`, a: approval{"c-4", 1, "carol", "approve", "", at}, refused: "not canonical"},
		{name: "another case", payload: payload(t, map[string]any{"case": "c-9", "version": 1}), a: approval{"c-5", 1, "carol", "approve", "", at}, refused: "does not name case"},
	}
	in := map[string]any{"pem": pemText}
	var list []map[string]any
	for _, c := range tcs {
		list = append(list, map[string]any{"payload": c.payload, "approval": c.a})
	}
	in["cases"] = list
	dir := t.TempDir()
	src, err := fs.ReadFile(assets, "assets/js/sign.js")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"sign.mjs": src, "run.mjs": []byte(runner)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stdin, _ := json.Marshal(in)
	cmd := exec.Command(node, "run.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var out []struct {
		Error   string          `json:"error"`
		KeyID   string          `json:"key_id"`
		Message string          `json:"message"`
		Body    json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil || len(out) != len(tcs) {
		t.Fatalf("node answered %s (%v)", stdout, err)
	}
	for i, c := range tcs {
		t.Run(c.name, func(t *testing.T) {
			got := out[i]
			if c.refused != "" {
				if !strings.Contains(got.Error, c.refused) {
					t.Fatalf("JS signed or failed otherwise (%q), want a refusal with %q", got.Error, c.refused)
				}
				return
			}
			if got.Error != "" {
				t.Fatalf("JS: %s", got.Error)
			}
			if want := cases.KeyID(pub); got.KeyID != want {
				t.Errorf("key id %s, want %s", got.KeyID, want)
			}
			var a cases.Approval
			dec := json.NewDecoder(bytes.NewReader(got.Body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&a); err != nil {
				t.Fatalf("the POST body %s does not decode as cases.Approval: %v", got.Body, err)
			}
			want, err := cases.Message([]byte(c.payload), a)
			if err != nil {
				t.Fatal(err)
			}
			if got.Message != string(want) {
				t.Errorf("message differs:\n JS: %s\n Go: %s", got.Message, want)
			}
			if err := cases.Verify([]byte(c.payload), a, pub); err != nil {
				t.Errorf("the browser's signature does not verify in Go: %v", err)
			}
			if !a.SignedAt.Equal(time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC)) || a.Commissioner != c.a.Commissioner || string(a.Decision) != c.a.Decision {
				t.Errorf("body %s does not carry the decision", got.Body)
			}
		})
	}
}

// TestModulesParse checks every module's syntax with node (as an ES
// module: node --check reads .mjs files as such), when node is installed.
func TestModulesParse(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the modules' syntax is checked by the browser test only")
	}
	entries, err := fs.ReadDir(assets, "assets/js")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			src, err := fs.ReadFile(assets, "assets/js/"+e.Name())
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, strings.TrimSuffix(e.Name(), ".js")+".mjs")
			if err := os.WriteFile(p, src, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(node, "--check", p).CombinedOutput(); err != nil {
				t.Errorf("%s does not parse: %v\n%s", e.Name(), err, out)
			}
		})
	}
}
