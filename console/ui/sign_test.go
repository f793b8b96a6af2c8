package ui

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/jcs"
	"github.com/acd-org/acd/peertest"
)

// runner drives assets/js/sign.js in the browser: for each case of the
// input it checks the payload, imports the key, builds the message and
// signs, as the console does (commission.js). %s is the input as JSON.
const runner = `(async (input) => {
  const { checkPayload, importSigningKey, pemToDER, approvalMessage, signApproval } = await import('/assets/js/sign.js');
  const { pem, cases } = input;
  const signer = await importSigningKey(pemToDER(pem));
  const out = [];
  for (const c of cases) {
    try {
      const p = checkPayload(c.approval.case, c.payload);
      const a = { ...c.approval, key_id: signer.keyId };
      const { body, message } = await signApproval(signer.key, p, a);
      if (message !== approvalMessage(p, a)) throw new Error('two messages');
      out.push({ key_id: signer.keyId, message, body, extractable: signer.key.extractable });
    } catch (e) {
      out.push({ error: e.message });
    }
  }
  return JSON.stringify(out);
})(%s)`

// browserAt starts headless Chromium (a test peer: it skips without it,
// fails under ACD_INTEGRATION=1) on a loopback server of the console's
// handler, with a blank page of the same origin at /blank (so that the
// modules can be imported without booting the app) and /console/session
// answering 401 as a server with nobody logged in does. It returns the
// browser's context and the server's URL.
func browserAt(t *testing.T) (context.Context, string) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", Handler())
	mux.HandleFunc("GET /blank", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>blank</title>"))
	})
	mux.HandleFunc("GET /console/session", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"not logged in"}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return peertest.Browser(t), srv.URL
}

// TestSignMatchesGo proves that the browser's signing code builds the
// message cases.Message builds, byte for byte, and that its signature and
// key id verify in Go — in Chromium, as a commissioner's browser runs
// it (the browser test in cmd/acd proves the same path against the
// server).
func TestSignMatchesGo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
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
	ctx, base := browserAt(t)
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(rctx, chromedp.Navigate(base+"/blank")); err != nil {
		t.Fatalf("opening a page in Chromium: %v", err)
	}
	res, err := chromedp.Run(rctx, chromedp.Evaluate[string](fmt.Sprintf(runner, input), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running sign.js in Chromium: %v", err)
	}
	stdout := []byte(res)
	var out []struct {
		Error   string `json:"error"`
		KeyID   string `json:"key_id"`
		Message string `json:"message"`
		// Extractable: whether the key kept for signing could be
		// exported (it must not).
		Extractable bool            `json:"extractable"`
		Body        json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil || len(out) != len(tcs) {
		t.Fatalf("the browser answered %s (%v)", stdout, err)
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
			if got.Extractable {
				t.Error("the signing key kept by the page is extractable: a script could export the private half")
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

// TestModulesLoad loads the console's page in Chromium with nobody
// logged in: every module under assets/js must be fetched (the app
// imports them all, directly or not), none may throw (peertest.Browser
// fails the test on an uncaught exception, a syntax error included), and
// the login form must show.
func TestModulesLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	entries, err := fs.ReadDir(assets, "assets/js")
	if err != nil {
		t.Fatal(err)
	}
	ctx, base := browserAt(t)
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(rctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("form#login"))); err != nil {
		t.Fatalf("loading the console in Chromium: %v", err)
	}
	loaded, err := chromedp.Run(rctx, chromedp.Evaluate[[]string](`performance.getEntriesByType("resource").map(e => new URL(e.name).pathname)`))
	if err != nil {
		t.Fatalf("loading the console in Chromium: %v", err)
	}
	for _, e := range entries {
		if !slices.Contains(loaded, "/assets/js/"+e.Name()) {
			t.Errorf("module %s was not loaded by the page (loaded: %q)", e.Name(), loaded)
		}
	}
}
