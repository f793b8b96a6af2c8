package store

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/flow"
)

// Environment of the approval crash test's child.
const (
	caseCrashEnvDB  = "ACD_CASE_CRASH_DB"
	caseCrashEnvKey = "ACD_CASE_CRASH_KEY"
)

// crashCases opens the cases of db with a 2-of-n policy over every
// registered key and a Recorder, on the wall clock.
func crashCases(ctx context.Context, db *DB) (*Cases, error) {
	keys, err := db.SigningKeys(ctx, "")
	if err != nil {
		return nil, err
	}
	p := cases.DefaultPolicy()
	for _, k := range keys {
		p.Commissioners = append(p.Commissioners, k.KeyID)
	}
	g, err := cases.NewGate(p, db.Keyring())
	if err != nil {
		return nil, err
	}
	rec := &enforce.Recorder{}
	return NewCases(db, &enforce.Gatekeeper{Gate: g, Adapters: map[enforce.ActionType]enforce.Adapter{cases.ActionBlock: rec}}, p, nil)
}

// TestCaseApprovalCrashSafety kills a child adding approvals in a loop
// with SIGKILL at random moments, several times; afterwards every
// approval the child acknowledged is stored with its audit entry, no
// case.approve entry lacks its approval, and the chain verifies.
func TestCaseApprovalCrashSafety(t *testing.T) {
	if os.Getenv(caseCrashEnvDB) != "" {
		caseCrashChild()
		return
	}
	if testing.Short() {
		t.Skip("kills child processes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	dbPath, keyPath := filepath.Join(dir, "acd.db"), filepath.Join(dir, "audit.key")
	cfg := DefaultConfig()
	cfg.Path = dbPath
	db, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pol := DefaultLoginPolicy()
	pol.Argon2 = cheap
	if err := db.SetLoginPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := db.AddUser(ctx, u, []Role{RoleCommissioner}, "a long enough passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddSigningKey(ctx, u, seedPriv(u).Public().(ed25519.PublicKey)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	acked := killChildren(t, "^TestCaseApprovalCrashSafety$", []string{caseCrashEnvDB + "=" + dbPath, caseCrashEnvKey + "=" + keyPath}, 5, 30) // "CASE USER"
	if db, err = Open(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cs, err := crashCases(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	list, _, err := cs.Cases(ctx, cases.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		r, err := cs.Case(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range r.Approvals {
			stored[c.ID+" "+a.Commissioner] = true
		}
		if want := len(r.Approvals) >= 2; want != (r.Case.State == cases.StateApproved) {
			t.Errorf("case %s: %d approvals, state %s", c.ID, len(r.Approvals), r.Case.State)
		}
	}
	es, err := db.ListAudit(ctx, audit.Filter{Action: audit.ActionCaseApprove})
	if err != nil {
		t.Fatal(err)
	}
	entry := map[string]bool{}
	for _, e := range es {
		entry[strings.TrimPrefix(e.Object, "case:")+" "+e.Actor] = true
	}
	for _, a := range acked {
		if !stored[a] || !entry[a] {
			t.Errorf("acknowledged approval %s lost: stored %v, entry %v", a, stored[a], entry[a])
		}
	}
	for a := range entry {
		if !stored[a] {
			t.Errorf("entry for approval %s without the approval", a)
		}
	}
	for a := range stored {
		if !entry[a] {
			t.Errorf("approval %s without its entry", a)
		}
	}
	pub, err := audit.LoadPublicKey(keyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.VerifyAudit(ctx, pub)
	if err != nil || !r.OK() || r.Valid == 0 {
		t.Fatalf("after %d acknowledged approvals: %v %+v", len(acked), err, r)
	}
	t.Logf("%d approvals acknowledged, %d stored, %d entries", len(acked), len(stored), r.Entries)
}

// caseCrashChild opens cases and approves them (alice, then bob) in a
// loop, printing "ack CASE USER" after each AddApproval returns, until
// killed.
func caseCrashChild() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.Path = os.Getenv(caseCrashEnvDB)
	db, err := Open(ctx, cfg, nil)
	if err != nil {
		fail(err)
	}
	key, _, err := audit.LoadOrCreateKey(os.Getenv(caseCrashEnvKey))
	if err != nil {
		fail(err)
	}
	cp, _ := audit.NewCheckpointer(key, 3, nil)
	db.SetAuditCheckpointer(cp)
	cs, err := crashCases(ctx, db)
	if err != nil {
		fail(err)
	}
	k, _ := detect.ParseKey("198.51.100.7")
	now := time.Now().UTC()
	s := detect.NewBook(10, nil).Add(detect.Finding{Addr: k.Addr, Bits: k.Bits, Role: detect.RoleScanner, Evidence: detect.Evidence{
		Detector: "scan", Score: 0.8, Reason: "probed 300 hosts", First: now, Last: now,
		Peers: []detect.Peer{detect.PeerOf(flow.AddrFromNetip(netip.MustParseAddr("198.18.0.7")), true, "target", 3)}}})
	for {
		c, err := cs.CreateCase(ctx, cases.Case{Requester: "ann", Target: cases.MustTarget("198.51.100.7"), LegalBasis: "ACD Act art. 12(1)",
			Actions: []cases.Action{{Type: cases.ActionBlock, Target: cases.MustTarget("198.51.100.7"), NotBefore: now, NotAfter: now.Add(time.Hour)}}},
			[]detect.Suspect{s})
		if err != nil {
			fail(err)
		}
		if c, err = cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRequest, By: "ann"}); err != nil {
			fail(err)
		}
		p, err := cases.Payload(c)
		if err != nil {
			fail(err)
		}
		for _, u := range []string{"alice", "bob"} {
			priv := seedPriv(u)
			a, err := cases.Sign(p, cases.Approval{Case: c.ID, Version: c.Version, Commissioner: u, KeyID: KeyID(priv.Public().(ed25519.PublicKey)),
				Decision: cases.DecisionApprove, SignedAt: time.Now().UTC()}, priv)
			if err != nil {
				fail(err)
			}
			if _, err := cs.AddApproval(ctx, c.ID, a); err != nil {
				fail(err)
			}
			fmt.Printf("ack %s %s\n", c.ID, u) // os.Stdout is unbuffered
		}
	}
}
