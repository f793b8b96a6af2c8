package enforce

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

type key struct {
	user    string
	priv    ed25519.PrivateKey
	revoked *time.Time
}

// keyring is a cases.Keyring over a map.
type keyring map[string]*key

func (k keyring) Key(id string) (string, ed25519.PublicKey, *time.Time, error) {
	kk, ok := k[id]
	if !ok {
		return "", nil, nil, fmt.Errorf("no key %q", id)
	}
	return kk.user, kk.priv.Public().(ed25519.PublicKey), kk.revoked, nil
}

func newKeyring() keyring {
	k := keyring{}
	for _, u := range []string{"alice", "bob", "carol"} {
		s := sha256.Sum256([]byte("enforce test " + u))
		k["k-"+u] = &key{user: u, priv: ed25519.NewKeyFromSeed(s[:])}
	}
	return k
}

// entry is one audited call.
type entry struct {
	action, object string
	data           map[string]any
}

type fixture struct {
	keys  keyring
	rec   *Recorder
	log   []entry
	gk    *Gatekeeper
	c     cases.Case
	appr  []cases.Approval
	other ed25519.PrivateKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{keys: newKeyring(), rec: &Recorder{}}
	p := cases.DefaultPolicy()
	p.Quorum = 2
	p.Commissioners = []string{"k-alice", "k-bob", "k-carol"}
	p.EmergencyOperators = []string{"oscar"}
	p.OwnedPrefixes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	g, err := cases.NewGate(p, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	f.gk = &Gatekeeper{Gate: g, Adapters: map[ActionType]Adapter{cases.ActionBlock: f.rec, cases.ActionRTBH: f.rec},
		Audit: func(_ context.Context, action, object string, data map[string]any) error {
			f.log = append(f.log, entry{action, object, data})
			return nil
		}}
	c := cases.New("case-1", "ann", t0.Add(-2*time.Hour))
	c.Target = cases.MustTarget("198.51.100.0/24")
	c.Suspects = []string{"198.51.100.7"}
	c.EvidenceHash = fmt.Sprintf("%x", sha256.Sum256([]byte("evidence")))
	c.LegalBasis = "ACD Act art. 12(1)"
	c.Actions = []cases.Action{{Type: cases.ActionBlock, Target: cases.MustTarget("198.51.100.7"),
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}}
	c.State = cases.StateApproved
	f.c = c
	f.appr = []cases.Approval{f.sign(t, c, "k-alice", t0.Add(-30*time.Minute)), f.sign(t, c, "k-bob", t0.Add(-20*time.Minute))}
	s := sha256.Sum256([]byte("forger"))
	f.other = ed25519.NewKeyFromSeed(s[:])
	return f
}

func (f *fixture) sign(t *testing.T, c cases.Case, keyID string, at time.Time) cases.Approval {
	t.Helper()
	k := f.keys[keyID]
	a, err := cases.SignCase(c, k.user, keyID, cases.DecisionApprove, "", at, k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestGatekeeperRefuses(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(t *testing.T, f *fixture) (c cases.Case, appr []cases.Approval, executor string, now time.Time)
		want   error
		reason string
	}{
		{"widened prefix", func(t *testing.T, f *fixture) (cases.Case, []cases.Approval, string, time.Time) {
			c := f.c.Clone() // the approvals are of the /32; a /24 is presented
			c.Actions[0].Target = cases.MustTarget("198.51.100.0/24")
			return c, f.appr, "otto", t0
		}, cases.ErrSignature, "signature"},
		{"expired window", func(t *testing.T, f *fixture) (cases.Case, []cases.Approval, string, time.Time) {
			return f.c, f.appr, "otto", t0.Add(time.Hour)
		}, cases.ErrWindow, "window"},
		{"forged approval", func(t *testing.T, f *fixture) (cases.Case, []cases.Approval, string, time.Time) {
			a, err := cases.SignCase(f.c, "carol", "k-carol", cases.DecisionApprove, "", t0.Add(-time.Minute), f.other)
			if err != nil {
				t.Fatal(err)
			}
			return f.c, append([]cases.Approval{f.appr[0]}, a), "otto", t0
		}, cases.ErrSignature, "signature"},
		{"replayed approval of an older version", func(t *testing.T, f *fixture) (cases.Case, []cases.Approval, string, time.Time) {
			c := f.c.Clone()
			c.Version = 2
			return c, append(f.appr, f.sign(t, c, "k-carol", t0.Add(-time.Minute))), "otto", t0
		}, cases.ErrReplay, "replay"},
		{"revoked key", func(t *testing.T, f *fixture) (cases.Case, []cases.Approval, string, time.Time) {
			at := t0.Add(-time.Minute)
			f.keys["k-bob"].revoked = &at
			return f.c, f.appr, "otto", t0
		}, cases.ErrRevokedKey, "revoked-key"},
		{"k-1 approvals", func(t *testing.T, f *fixture) (cases.Case, []cases.Approval, string, time.Time) {
			return f.c, f.appr[:1], "otto", t0
		}, cases.ErrQuorum, "quorum"},
		{"approver executes", func(t *testing.T, f *fixture) (cases.Case, []cases.Approval, string, time.Time) {
			return f.c, f.appr, "alice", t0
		}, cases.ErrDuties, "duties"},
		{"no such action", func(t *testing.T, f *fixture) (cases.Case, []cases.Approval, string, time.Time) {
			c := f.c.Clone()
			c.Actions = nil
			return c, nil, "otto", t0
		}, cases.ErrScope, "scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			c, appr, ex, now := tt.edit(t, f)
			_, err := f.gk.Execute(context.Background(), c, appr, 0, ex, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Execute = %v, want %v", err, tt.want)
			}
			if calls := f.rec.Calls(); len(calls) != 0 {
				t.Fatalf("adapter called on a refusal: %+v", calls)
			}
			if len(f.log) != 1 || f.log[0].action != audit.ActionGateRefuse || f.log[0].object != "case:case-1" {
				t.Fatalf("audit = %+v, want one refusal", f.log)
			}
			if got := f.log[0].data["reason"]; got != tt.reason {
				t.Errorf("reason = %v, want %s", got, tt.reason)
			}
		})
	}
}

func TestGatekeeperExecutes(t *testing.T) {
	f := newFixture(t)
	g, err := f.gk.Execute(context.Background(), f.c, f.appr, 0, "otto", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Approvers) != 2 || g.Emergency {
		t.Errorf("grant = %+v", g)
	}
	calls := f.rec.Calls()
	if len(calls) != 1 || calls[0].Op != "apply" || calls[0].Action.Target.String() != "198.51.100.7" {
		t.Fatalf("calls = %+v", calls)
	}
	if len(f.log) != 1 || f.log[0].action != audit.ActionCaseExecute || f.log[0].data[audit.DataType] != "block" {
		t.Fatalf("audit = %+v", f.log)
	}
	if err := f.gk.Withdraw(context.Background(), f.c, 0, "system", "expired"); err != nil {
		t.Fatal(err)
	}
	if calls := f.rec.Calls(); len(calls) != 2 || calls[1].Op != "withdraw" || f.log[1].action != ActionWithdraw {
		t.Fatalf("after withdraw: %+v %+v", calls, f.log)
	}
}

func TestGatekeeperAdapterFailure(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("boom")
	f.rec.Err = boom
	if _, err := f.gk.Execute(context.Background(), f.c, f.appr, 0, "otto", t0); !errors.Is(err, boom) {
		t.Fatalf("Execute = %v", err)
	}
	if len(f.log) != 1 || f.log[0].action != ActionFailed {
		t.Fatalf("audit = %+v", f.log)
	}
	delete(f.gk.Adapters, cases.ActionBlock)
	f.log = nil
	if _, err := f.gk.Execute(context.Background(), f.c, f.appr, 0, "otto", t0); !errors.Is(err, cases.ErrScope) || f.log[0].action != audit.ActionGateRefuse {
		t.Fatalf("no adapter: %v %+v", err, f.log)
	}
}
