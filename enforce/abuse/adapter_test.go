package abuse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// newReporter starts a reporter of cfg (state_dir in a temp dir when
// unset) over the fixture's dossiers.
func newReporter(t *testing.T, cfg Config, f fixture) *Reporter {
	t.Helper()
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(t.TempDir(), "state")
	}
	if cfg.From == "" {
		cfg.From = "CERT acd <reports@cert.example>"
	}
	if cfg.Format == "" {
		cfg.Format = FormatARF
	}
	r, err := New(cfg, Deps{Logger: discard(), Dossiers: f.dos, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// mimePart is one decoded part of a received message.
type mimePart struct {
	ctype  string
	params map[string]string
	header map[string][]string
	body   string
}

// parseMessage parses a multipart message with net/mail and
// mime/multipart.
func parseMessage(t *testing.T, data []byte) (*mail.Message, string, map[string]string, []mimePart) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("unable to parse the message: %v", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var parts []mimePart
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("part %d: %v", len(parts), err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part %d Content-Type: %v", len(parts), err)
		}
		parts = append(parts, mimePart{ctype: ct, params: cp, header: p.Header, body: string(b)})
	}
	return m, mt, params, parts
}

func TestSendARF(t *testing.T) {
	rl := startRelay(t)
	f := newCase(t, "case-1", abuseAction("198.51.100.7", ""))
	r := newReporter(t, Config{SMTP: &SMTPConfig{Relay: rl.addr, From: "bounces@cert.example", HELO: "acd.test", Timeout: 10 * time.Second},
		Contacts: []Contact{{Prefix: "198.51.100.0/24", Email: "abuse@net.example"}, {Prefix: "198.51.0.0/16", Email: "abuse@rir.example"}}}, f)
	if err := r.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	msgs := rl.messages()
	if len(msgs) != 1 {
		t.Fatalf("relay got %d messages, want 1", len(msgs))
	}
	if msgs[0].from != "bounces@cert.example" || !cmp.Equal(msgs[0].to, []string{"abuse@net.example"}) {
		t.Errorf("envelope from %q to %q, want bounces@cert.example to [abuse@net.example]", msgs[0].from, msgs[0].to)
	}
	m, mt, params, parts := parseMessage(t, msgs[0].data)
	for k, want := range map[string]string{"From": `"CERT acd" <reports@cert.example>`, "To": "<abuse@net.example>",
		"Reply-To": "<reports@cert.example>", "Auto-Submitted": "auto-generated", "Date": "Sat, 14 Mar 2026 09:00:00 +0000"} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(m.Header.Get("Subject"), "198.51.100.7") || !strings.Contains(m.Header.Get("Subject"), "case-1") {
		t.Errorf("subject %q names neither the target nor the case", m.Header.Get("Subject"))
	}
	if mt != "multipart/report" || params["report-type"] != "feedback-report" {
		t.Fatalf("content type %s %v, want multipart/report; report-type=feedback-report", mt, params)
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	checkHuman(t, parts[0])
	checkFeedback(t, parts[1])
	checkSummary(t, parts[2])
	checkNoLeak(t, string(msgs[0].data))
}

func checkHuman(t *testing.T, p mimePart) {
	t.Helper()
	if p.ctype != "text/plain" || p.params["charset"] != "utf-8" {
		t.Errorf("part 1 is %s %v, want text/plain; charset=utf-8", p.ctype, p.params)
	}
	for _, want := range []string{"198.51.100.7", "bruteforce", "scanner", "412 short ssh connections", "2026-03-14T06:00:00Z",
		"2026-03-14T08:00:00Z", "Case: case-1 (version 1)", "Legal basis: ACD Act art. 12(1)", "reports@cert.example",
		"attempts=412", "probes=1040, targets=512", "no content was captured", "±2%"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("human text lacks %q:\n%s", want, p.body)
		}
	}
}

func checkFeedback(t *testing.T, p mimePart) {
	t.Helper()
	if p.ctype != "message/feedback-report" {
		t.Fatalf("part 2 is %s, want message/feedback-report", p.ctype)
	}
	fr, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(p.body + "\r\n")))
	if err != nil {
		t.Fatalf("feedback report fields: %v", err)
	}
	for k, want := range map[string]string{"Feedback-Type": "abuse", "Version": "1", "User-Agent": "acd/1",
		"Source-IP": "198.51.100.7", "Arrival-Date": "Sat, 14 Mar 2026 06:00:00 +0000", "Incidents": "5",
		"Reporting-MTA": "dns; cert.example"} {
		if got := fr.Header.Get(k); got != want {
			t.Errorf("feedback field %s = %q, want %q", k, got, want)
		}
	}
}

func checkSummary(t *testing.T, p mimePart) {
	t.Helper()
	if p.ctype != "application/json" {
		t.Fatalf("part 3 is %s, want application/json", p.ctype)
	}
	var s Summary
	if err := json.Unmarshal([]byte(p.body), &s); err != nil {
		t.Fatalf("evidence summary: %v", err)
	}
	if s.Case != "case-1" || s.Target != "198.51.100.7" || len(s.Suspects) != 1 || s.Suspects[0].Address != "198.51.100.7" ||
		len(s.Suspects[0].Evidence) != 2 || s.Incidents != 5 {
		t.Errorf("evidence summary %+v: want case-1, one suspect 198.51.100.7 with 2 statements, 5 incidents", s)
	}
}

// checkNoLeak checks that no peer, sample, pseudonym or other address of
// the evidence appears in the message.
func checkNoLeak(t *testing.T, msg string) {
	t.Helper()
	for _, bad := range []string{"10.9.8.7", "10.1.2.3", "198.51.100.9", "pseudonymous beacon", "203.0.113.5", "192.0.2.10", "192.0.2.0", "2001:db8::7"} {
		if strings.Contains(msg, bad) {
			t.Errorf("the message contains %q", bad)
		}
	}
}

func TestSendOnce(t *testing.T) {
	rl := startRelay(t)
	f := newCase(t, "case-2", abuseAction("198.51.100.0/24", "noc@net.example"))
	cfg := Config{SMTP: &SMTPConfig{Relay: rl.addr}, StateDir: filepath.Join(t.TempDir(), "state")}
	r := newReporter(t, cfg, f)
	for range 2 {
		if err := r.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
			t.Fatal(err)
		}
	}
	// A restart: a new reporter on the same ledger.
	r2 := newReporter(t, cfg, f)
	if err := r2.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	if n := len(rl.messages()); n != 1 {
		t.Fatalf("relay got %d messages, want 1", n)
	}
	if got := rl.messages()[0].to; !cmp.Equal(got, []string{"noc@net.example"}) {
		t.Errorf("sent to %v, want scope.recipient noc@net.example", got)
	}
	// A new version of the case is another report.
	c := f.c.Clone()
	c.Version = 2
	if err := r2.Apply(context.Background(), c, c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	if n := len(rl.messages()); n != 2 {
		t.Fatalf("relay got %d messages after version 2, want 2", n)
	}
	ents, err := os.ReadDir(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"abuse-case-2-v1-a0.json", "abuse-case-2-v2-a0.json"}; !cmp.Equal(names, want) {
		t.Errorf("ledger holds %v, want %v", names, want)
	}
}
