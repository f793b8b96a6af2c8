package police

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acd-org/acd/cases"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var pub = serverKey.Public().(ed25519.PublicKey)

func TestRoundTrip(t *testing.T) {
	f := newCase(t, "case-1", "npa")
	s, chdir, state := newSender(t, f)
	if err := s.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	if got, want := dirNames(t, chdir), []string{"acd-case-1-v1-a0.json"}; !cmp.Equal(got, want) {
		t.Fatalf("channel dir holds %v, want %v", got, want)
	}
	if got, want := dirNames(t, state), []string{"police-case-1-v1-a0.json"}; !cmp.Equal(got, want) {
		t.Fatalf("ledger holds %v, want %v", got, want)
	}
	b, err := os.ReadFile(filepath.Join(chdir, "acd-case-1-v1-a0.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Verify(b, pub)
	if err != nil {
		t.Fatal(err)
	}
	d := f.dos.m["case-1"]
	if p.Case.ID != "case-1" || p.Case.EvidenceHash != f.c.EvidenceHash || !bytes.Equal(p.Evidence, d.Evidence) ||
		len(p.Approvals) != 1 || len(p.Audit) != 3 || p.Audit[2].Hash != d.Audit[2].Hash {
		t.Errorf("verified package differs from the dossier: %+v", p)
	}
	payload, err := cases.Payload(p.Case)
	if err != nil {
		t.Fatal(err)
	}
	if err := cases.Verify(payload, p.Approvals[0], seedKey("alice").Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("the approval in the package does not verify: %v", err)
	}
	if !strings.Contains(p.Manifest.Statement, "acd did nothing beyond handing over this package") ||
		p.Manifest.Channel != "npa" || p.Manifest.KeyID != cases.KeyID(pub) {
		t.Errorf("manifest %+v", p.Manifest)
	}
	if _, err := Verify(b, seedKey("another").Public().(ed25519.PublicKey)); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify with another key: %v, want ErrSignature", err)
	}
}

func TestIdempotent(t *testing.T) {
	f := newCase(t, "case-2", "npa")
	s, chdir, _ := newSender(t, f)
	if err := s.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(chdir, "acd-case-2-v1-a0.json")
	first, _ := os.ReadFile(path)
	calls := f.dos.calls
	// Applied again, and again after the channel took the package away.
	if err := s.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, first) {
		t.Error("the second Apply rewrote the package")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, chdir); len(got) != 0 || f.dos.calls != calls {
		t.Errorf("second Apply wrote %v and read %d more dossiers, want nothing", got, f.dos.calls-calls)
	}
	// A crash after the write, before the ledger: the file is there, the
	// ledger is not; Apply records it without writing another package.
	f2 := newCase(t, "case-3", "npa")
	s2, chdir2, state2 := newSender(t, f2)
	if err := s2.Apply(context.Background(), f2.c, f2.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(state2, "police-case-3-v1-a0.json")); err != nil {
		t.Fatal(err)
	}
	calls = f2.dos.calls
	if err := s2.Apply(context.Background(), f2.c, f2.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	if f2.dos.calls != calls || len(dirNames(t, state2)) != 1 || len(dirNames(t, chdir2)) != 1 {
		t.Errorf("after a crash: %d dossier reads, ledger %v, channel %v", f2.dos.calls-calls, dirNames(t, state2), dirNames(t, chdir2))
	}
}

func TestApplyRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(f *fixture) (cases.Case, cases.Action)
		want error
		msg  string
	}{
		{"unknown channel", func(f *fixture) (cases.Case, cases.Action) {
			c := f.c.Clone()
			c.Actions[0].Scope.Recipient = "somebody"
			return c, c.Actions[0]
		}, ErrUnknownChannel, `"somebody"`},
		{"another type", func(f *fixture) (cases.Case, cases.Action) {
			a := f.c.Actions[0]
			a.Type = cases.ActionAbuseReport
			return f.c, a
		}, ErrUnsupported, "abuse-report"},
		{"evidence not the approved one", func(f *fixture) (cases.Case, cases.Action) {
			d := f.dos.m[f.c.ID]
			d.Evidence = bytes.Replace(d.Evidence, []byte("0.9"), []byte("0.8"), 1)
			f.dos.m[f.c.ID] = d
			return f.c, f.c.Actions[0]
		}, nil, "not what the case was approved on"},
		{"audit excerpt edited", func(f *fixture) (cases.Case, cases.Action) {
			d := f.dos.m[f.c.ID]
			d.Audit[1].Actor = "mallory"
			return f.c, f.c.Actions[0]
		}, ErrAudit, "seq 2"},
		{"action not in the case", func(f *fixture) (cases.Case, cases.Action) {
			a := f.c.Actions[0]
			a.Target = cases.MustTarget("198.51.100.8")
			return f.c, a
		}, nil, "not one of case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCase(t, "case-4", "npa")
			s, chdir, state := newSender(t, f)
			c, a := tc.edit(&f)
			err := s.Apply(context.Background(), c, a)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Apply: %v, want %v %q", err, tc.want, tc.msg)
			}
			if len(dirNames(t, chdir)) != 0 || len(dirNames(t, state)) != 0 {
				t.Errorf("a refused Apply wrote %v %v", dirNames(t, chdir), dirNames(t, state))
			}
		})
	}
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	c := Config{Channels: []Channel{{Name: "a", Dir: "/x"}, {Name: "a", Dir: ""}, {Dir: "/y"}}, AuditExcerpt: -1}
	err := c.Validate()
	for _, want := range []string{"given twice", "(a): no dir", "channels[2]: no name", "state_dir", "audit_excerpt"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want %q", err, want)
		}
	}
	f := newCase(t, "case-5", "npa")
	cfg := Config{Channels: []Channel{{Name: "npa", Dir: filepath.Join(t.TempDir(), "absent")}}, StateDir: t.TempDir()}
	if s, err := New(cfg, Deps{Dossiers: f.dos, Key: serverKey, KeyID: "k"}); err == nil || s != nil {
		t.Errorf("New without a logger: %v", err)
	}
	if _, err := New(cfg, Deps{Logger: slog.New(slog.DiscardHandler), Dossiers: f.dos, KeyID: "k"}); err == nil {
		t.Error("New without a key: no error")
	}
	s, err := New(cfg, Deps{Logger: slog.New(slog.DiscardHandler), Dossiers: f.dos, Key: serverKey, KeyID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "channel npa") {
		t.Errorf("Start with a missing channel directory: %v", err)
	}
	if err := s.Apply(context.Background(), f.c, f.c.Actions[0]); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Apply before Start: %v", err)
	}
}

func TestWithdrawIsNoop(t *testing.T) {
	f := newCase(t, "case-6", "npa")
	s, chdir, _ := newSender(t, f)
	if err := s.Withdraw(context.Background(), f.c, f.c.Actions[0]); err != nil || len(dirNames(t, chdir)) != 0 || f.dos.calls != 0 {
		t.Errorf("Withdraw: %v, wrote %v, read %d dossiers", err, dirNames(t, chdir), f.dos.calls)
	}
}

// golden returns the package built with the fixed clock and key.
func golden(t *testing.T) []byte {
	t.Helper()
	f := newCase(t, "case-7", "npa")
	s, chdir, _ := newSender(t, f)
	if err := s.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(chdir, "acd-case-7-v1-a0.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	got := golden(t)
	path := filepath.Join("testdata", "package.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(got), string(want)); d != "" {
		t.Errorf("package differs from %s (-got, +want):\n%s", path, d)
	}
	if _, err := Verify(want, pub); err != nil {
		t.Errorf("the golden package does not verify: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal(want, &v); err != nil {
		t.Fatal(err)
	}
}

func readGolden() ([]byte, error) { return os.ReadFile(filepath.Join("testdata", "package.json")) }
