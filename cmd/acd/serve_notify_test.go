package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestServeNotifiesEmergency: an operator acts first on an urgent case;
// the commission's webhook hears of it at once, with the review deadline.
func TestServeNotifiesEmergency(t *testing.T) {
	got := make(chan map[string]any, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil || !strings.HasPrefix(r.Header.Get("X-Acd-Signature"), "sha256=") {
			t.Errorf("webhook got %q (%v), signature %q", b, err, r.Header.Get("X-Acd-Signature"))
		}
		got <- ev
	}))
	defer hook.Close()
	f := newCaseFixtureWith(t, "enforce: {record_only: true}\nnotify: {webhooks: ["+hook.URL+"/commission], secret: s3cret}\n", "")
	s := startServe(t, f.bin, f.dir, f.cfg)
	server := "http://" + s.http
	code, out, errOut := f.as(t, server, "ana", "create", "--target", "100.64.0.7", "--suspect", "100.64.0.7", "--legal-basis", "ACD Act art. 12(1)",
		"--route", "urgent", "--urgency", "critical", "--action", "block=100.64.0.7", "--for", "1h", "--json")
	if code != 0 {
		t.Fatalf("create: %s %s", out, errOut)
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := f.as(t, server, "ana", "request", created.ID); code != 0 {
		t.Fatalf("request: %s %s", out, errOut)
	}
	if code, out, errOut := f.as(t, server, "op1", "emergency", created.ID, "--action", "0", "--reason", "the flood is on now"); code != 0 {
		t.Fatalf("emergency: %s %s", out, errOut)
	}
	select {
	case ev := <-got:
		if ev["event"] != "case.emergency" || ev["case"] != created.ID || ev["audience"] != "commission" || ev["by"] != "op1" ||
			ev["review_by"] == nil || ev["reason"] != "the flood is on now" {
			t.Fatalf("event %v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no notification\n%s", lastLines(s.logs.String(), 30))
	}
	if strings.Contains(s.logs.String(), "s3cret") {
		t.Error("the webhook secret reached the log")
	}
}

// TestConfigDumpHidesSecrets: secrets set in the configuration never
// come out of acd config dump.
func TestConfigDumpHidesSecrets(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/acd.yaml"
	if err := os.WriteFile(cfg, []byte(`notify: {webhooks: ["https://hooks.example/x"], secret: notify-s3cret}
enforce:
  rpz: {tsig: {name: acd-key., secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQ="}}
  abuse: {smtp: {relay: "127.0.0.1:25", password: smtp-s3cret}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, nil, "config", "dump", "-c", cfg)
	if code != 0 {
		t.Fatalf("config dump: %s", errOut)
	}
	if strings.Count(out, "<redacted>") != 3 {
		t.Errorf("config dump does not show the three secrets redacted:\n%s", out)
	}
	for _, secret := range []string{"notify-s3cret", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", "smtp-s3cret"} {
		if strings.Contains(out, secret) {
			t.Errorf("config dump shows %q", secret)
		}
	}
}
