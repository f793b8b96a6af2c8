package abuse

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

func TestApplyRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, f *fixture, r *Reporter) (cases.Case, cases.Action)
		want string
	}{
		{"another type", func(t *testing.T, f *fixture, r *Reporter) (cases.Case, cases.Action) {
			a := f.c.Actions[0]
			a.Type = cases.ActionBlock
			return f.c, a
		}, "unsupported action: block"},
		{"domain target", func(t *testing.T, f *fixture, r *Reporter) (cases.Case, cases.Action) {
			c := f.c.Clone()
			c.Actions[0].Target = cases.MustTarget("evil.example")
			return c, c.Actions[0]
		}, "not an address or a prefix"},
		{"no contact", func(t *testing.T, f *fixture, r *Reporter) (cases.Case, cases.Action) {
			c := f.c.Clone()
			c.Actions[0].Target = cases.MustTarget("203.0.113.5")
			return c, c.Actions[0]
		}, "no abuse contact known for 203.0.113.5"},
		{"action not in the case", func(t *testing.T, f *fixture, r *Reporter) (cases.Case, cases.Action) {
			a := f.c.Actions[0]
			a.Target = cases.MustTarget("198.51.100.8")
			return f.c, a
		}, "not one of case case-9 v1's actions"},
		{"evidence not the approved one", func(t *testing.T, f *fixture, r *Reporter) (cases.Case, cases.Action) {
			d := f.dos.m[f.c.ID]
			d.Evidence = []byte(strings.Replace(string(d.Evidence), "412 short", "413 short", 1))
			f.dos.m[f.c.ID] = d
			return f.c, f.c.Actions[0]
		}, "not what the case was approved on"},
		{"nothing reportable in the target", func(t *testing.T, f *fixture, r *Reporter) (cases.Case, cases.Action) {
			c := f.c.Clone()
			c.Actions[0].Target = cases.MustTarget("198.51.100.9") // the pseudonym
			return c, c.Actions[0]
		}, "no suspect inside 198.51.100.9 that may be reported"},
		{"unsafe case id", func(t *testing.T, f *fixture, r *Reporter) (cases.Case, cases.Action) {
			c := f.c.Clone()
			c.ID = "x\r\nBcc: a@b.example"
			return c, c.Actions[0]
		}, "case id"},
		{"no dossier", func(t *testing.T, f *fixture, r *Reporter) (cases.Case, cases.Action) {
			delete(f.dos.m, f.c.ID)
			return f.c, f.c.Actions[0]
		}, "unable to read the dossier"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rl := startRelay(t)
			f := newCase(t, "case-9", abuseAction("198.51.100.7", ""))
			state := filepath.Join(t.TempDir(), "state")
			r := newReporter(t, Config{SMTP: &SMTPConfig{Relay: rl.addr}, StateDir: state,
				Contacts: []Contact{{Prefix: "198.51.100.0/24", Email: "abuse@net.example"}}}, f)
			c, a := tc.edit(t, &f, r)
			err := r.Apply(context.Background(), c, a)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply: %v, want an error containing %q", err, tc.want)
			}
			if n := len(rl.messages()); n != 0 {
				t.Errorf("%d messages sent, want none", n)
			}
			if ents, _ := os.ReadDir(state); len(ents) != 0 {
				t.Errorf("ledger holds %d entries, want none", len(ents))
			}
		})
	}
}

func TestNotStarted(t *testing.T) {
	f := newCase(t, "case-3", abuseAction("198.51.100.7", "a@b.example"))
	r, err := New(Config{Format: FormatARF, From: "r@cert.example", Dir: t.TempDir(), StateDir: t.TempDir()}, Deps{Logger: discard(), Dossiers: f.dos})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(context.Background(), f.c, f.c.Actions[0]); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Fatalf("Apply before Start: %v, want not started", err)
	}
}

func TestRelayRefuses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rcpt, data error
		want       string
	}{
		{"at RCPT", errRefused, nil, "RCPT TO:<abuse@net.example> refused"},
		{"at DATA", nil, errRefused, "message refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rl := startRelay(t)
			rl.refuse(tc.rcpt, tc.data)
			f := newCase(t, "case-4", abuseAction("198.51.100.7", "abuse@net.example"))
			state := filepath.Join(t.TempDir(), "state")
			r := newReporter(t, Config{SMTP: &SMTPConfig{Relay: rl.addr}, StateDir: state}, f)
			err := r.Apply(context.Background(), f.c, f.c.Actions[0])
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "554") {
				t.Fatalf("Apply: %v, want %q with the 554", err, tc.want)
			}
			if ents, _ := os.ReadDir(state); len(ents) != 0 {
				t.Fatalf("ledger holds %d entries after a refusal, want none", len(ents))
			}
			// Once the relay accepts, the retry sends it.
			rl.refuse(nil, nil)
			if err := r.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
				t.Fatal(err)
			}
			if n := len(rl.messages()); n != 1 {
				t.Fatalf("%d messages, want 1", n)
			}
		})
	}
}

func TestRelayUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	f := newCase(t, "case-10", abuseAction("198.51.100.7", "abuse@net.example"))
	state := filepath.Join(t.TempDir(), "state")
	r := newReporter(t, Config{SMTP: &SMTPConfig{Relay: addr, Timeout: 5 * time.Second}, StateDir: state}, f)
	if err := r.Apply(context.Background(), f.c, f.c.Actions[0]); err == nil || !strings.Contains(err.Error(), "unable to connect") {
		t.Fatalf("Apply to a closed port: %v", err)
	}
	if ents, _ := os.ReadDir(state); len(ents) != 0 {
		t.Errorf("ledger holds %d entries, want none", len(ents))
	}
}

func TestStartTLSRequiredNotOffered(t *testing.T) {
	rl := startRelay(t)
	f := newCase(t, "case-5", abuseAction("198.51.100.7", "abuse@net.example"))
	yes := true
	r := newReporter(t, Config{SMTP: &SMTPConfig{Relay: rl.addr, StartTLS: &yes}}, f)
	err := r.Apply(context.Background(), f.c, f.c.Actions[0])
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("Apply with starttls required to a relay without it: %v", err)
	}
	if n := len(rl.messages()); n != 0 {
		t.Fatalf("%d messages sent in clear, want none", n)
	}
}

func TestWithdrawIsNoop(t *testing.T) {
	f := newCase(t, "case-6", abuseAction("198.51.100.7", "abuse@net.example"))
	r := newReporter(t, Config{Dir: t.TempDir()}, f)
	if err := r.Withdraw(context.Background(), f.c, f.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	if f.dos.calls != 0 {
		t.Errorf("Withdraw read %d dossiers, want none", f.dos.calls)
	}
	var _ enforce.Adapter = r
	if !errors.Is(r.Apply(context.Background(), f.c, cases.Action{Type: cases.ActionRTBH}), ErrUnsupported) {
		t.Error("Apply of an rtbh action is not ErrUnsupported")
	}
}
