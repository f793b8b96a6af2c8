package cases

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases/jcs"
	"github.com/acd-org/acd/minimize"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking the change):\ngot  %s\nwant %s", name, got, want)
	}
}

// TestPayloadGolden pins the exact bytes commissioners sign: a change
// here invalidates every approval in every store.
func TestPayloadGolden(t *testing.T) {
	c := testCase()
	c.Actions = append(c.Actions,
		Action{Type: ActionFlowSpec, Target: MustTarget("198.51.100.7"),
			Scope:     Scope{Destination: MustTarget("203.0.113.0/25"), Protocol: 17, Ports: []PortRange{{53, 53}, {123, 123}}, RateBps: 125000},
			NotBefore: t0, NotAfter: t0.Add(6 * time.Hour)},
		Action{Type: ActionSinkhole, Target: MustTarget("c2.evil.example"), Scope: Scope{Subdomains: true},
			NotBefore: t0.In(time.FixedZone("JST", 9*3600)), NotAfter: t0.Add(48 * time.Hour)},
		Action{Type: ActionReidentify, Target: MustTarget("10.20.0.0/16"),
			Scope:     Scope{Pseudonyms: []minimize.Pseudonym{{Epoch: 3, Addr: netip.MustParseAddr("10.20.30.40")}}},
			NotBefore: t0, NotAfter: t0.Add(time.Hour)},
		Action{Type: ActionPoliceRequest, Target: MustTarget("198.51.100.7"), Scope: Scope{Recipient: "npa-cyber"},
			NotBefore: t0, NotAfter: t0.Add(72 * time.Hour)},
	)
	p, err := Payload(c)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := jcs.Canonicalize(p)
	if err != nil || !bytes.Equal(canon, p) {
		t.Fatalf("payload is not canonical JSON (%v):\n%s", err, p)
	}
	golden(t, "payload.golden.json", p)

	a := Approval{Case: c.ID, Version: c.Version, Commissioner: "alice", KeyID: "k-alice",
		Decision: DecisionReject, Reason: "scope too wide", SignedAt: t0}
	msg, err := Message(p, a)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "message.golden.json", msg)
}

func TestPayloadCoversWhatIsApproved(t *testing.T) {
	base, err := Payload(testCase())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		edit    func(*Case)
		changes bool
	}{
		{"id", func(c *Case) { c.ID = "other" }, true},
		{"version", func(c *Case) { c.Version = 2 }, true},
		{"target", func(c *Case) { c.Target = MustTarget("198.51.100.0/24") }, true},
		{"suspects", func(c *Case) { c.Suspects = nil }, true},
		{"evidence", func(c *Case) { c.EvidenceHash = strings.Repeat("1", 64) }, true},
		{"legal basis", func(c *Case) { c.LegalBasis = "x" }, true},
		{"route", func(c *Case) { c.Route = RouteUrgent }, true},
		{"urgency", func(c *Case) { c.Urgency = UrgencyLow }, true},
		{"requester", func(c *Case) { c.Requester = "bob" }, true},
		{"action type", func(c *Case) { c.Actions[0].Type = ActionFlowSpec }, true},
		{"action target", func(c *Case) { c.Actions[0].Target = MustTarget("198.51.100.8") }, true},
		{"action scope", func(c *Case) { c.Actions[0].Scope.Ports = nil }, true},
		{"action window", func(c *Case) { c.Actions[0].NotBefore = c.Actions[0].NotBefore.Add(time.Second) }, true},
		{"action params", func(c *Case) { c.Actions[0].Params = nil }, true},
		{"action order", func(c *Case) { c.Actions[0], c.Actions[1] = c.Actions[1], c.Actions[0] }, true},
		{"state", func(c *Case) { c.State = StateClosed }, false},
		{"history", func(c *Case) { c.History = nil }, false},
		{"flags", func(c *Case) { c.Flags.Emergency = true }, false},
		{"time zone", func(c *Case) { c.Actions[0].NotAfter = c.Actions[0].NotAfter.In(time.FixedZone("X", -3600)) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCase().Clone()
			tc.edit(&c)
			p, err := Payload(c)
			if err != nil {
				t.Fatal(err)
			}
			if changed := !bytes.Equal(p, base); changed != tc.changes {
				t.Errorf("payload changed: %v, want %v", changed, tc.changes)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	c := testCase()
	p, _ := Payload(c)
	priv := seedKey("alice")
	pub := priv.Public().(ed25519.PublicKey)
	a, err := SignCase(c, "alice", KeyID(pub), DecisionApprove, "", t0, priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(p, a, pub); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Approval)
		pub  ed25519.PublicKey
		want error
	}{
		{"other key", func(*Approval) {}, seedKey("bob").Public().(ed25519.PublicKey), ErrSignature},
		{"decision flipped", func(a *Approval) { a.Decision, a.Reason = DecisionReject, "no" }, pub, ErrSignature},
		{"time moved", func(a *Approval) { a.SignedAt = a.SignedAt.Add(time.Second) }, pub, ErrSignature},
		{"signer renamed", func(a *Approval) { a.Commissioner = "mallory" }, pub, ErrSignature},
		{"other version", func(a *Approval) { a.Version = 2 }, pub, ErrReplay},
		{"truncated signature", func(a *Approval) { a.Signature = a.Signature[:10] }, pub, ErrSignature},
		{"short public key", func(*Approval) {}, pub[:5], ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := a
			b.Signature = bytes.Clone(a.Signature)
			tc.edit(&b)
			if err := Verify(p, b, tc.pub); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := SignCase(c, "alice", "k", DecisionReject, "", t0, priv); err == nil || !strings.Contains(err.Error(), "needs a reason") {
		t.Errorf("rejection without reason: %v", err)
	}
	if _, err := Sign(p, Approval{Case: c.ID, Version: 1, Commissioner: "a", KeyID: "k", Decision: "maybe", SignedAt: t0}, priv); err == nil {
		t.Error("unknown decision signed")
	}
	if _, err := Sign(p, a, priv[:10]); err == nil {
		t.Error("short private key accepted")
	}
	if id := KeyID(pub); len(id) != 16 || id == KeyID(seedKey("bob").Public().(ed25519.PublicKey)) {
		t.Errorf("KeyID %q", id)
	}
}
