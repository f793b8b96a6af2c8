package store

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/notify"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/enforce"
)

// ct0 is the case tests' start: no wall clock.
var ct0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// clock is a settable clock, safe for the review timer's goroutine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// caseEnv is a store with three commissioners (alice, bob, carol), each
// with a real Ed25519 key, a 2-of-3 policy, an emergency operator
// (oscar), and a gatekeeper whose adapters are one Recorder.
type caseEnv struct {
	db    *DB
	pub   ed25519.PublicKey
	clk   *clock
	rec   *enforce.Recorder
	cs    *Cases
	priv  map[string]ed25519.PrivateKey
	keyID map[string]string
}

func seedPriv(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("acd store case test " + name))
	return ed25519.NewKeyFromSeed(s[:])
}

func newCaseEnv(t *testing.T) *caseEnv {
	t.Helper()
	ctx := context.Background()
	db, pub := auditStore(t, 4)
	e := &caseEnv{db: db, pub: pub, clk: &clock{t: ct0}, rec: &enforce.Recorder{},
		priv: map[string]ed25519.PrivateKey{}, keyID: map[string]string{}}
	db.now = e.clk.Now
	pol := DefaultLoginPolicy()
	pol.Argon2 = cheap
	if err := db.SetLoginPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	p := cases.DefaultPolicy()
	p.Quorum = 2
	p.EmergencyOperators = []string{"oscar"}
	p.OwnedPrefixes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := db.AddUser(ctx, u, []Role{RoleCommissioner}, "a long enough passphrase"); err != nil {
			t.Fatal(err)
		}
		e.priv[u] = seedPriv(u)
		k, err := db.AddSigningKey(ctx, u, e.priv[u].Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		e.keyID[u] = k.KeyID
		p.Commissioners = append(p.Commissioners, k.KeyID)
	}
	g, err := cases.NewGate(p, db.Keyring())
	if err != nil {
		t.Fatal(err)
	}
	gk := &enforce.Gatekeeper{Gate: g, Adapters: map[enforce.ActionType]enforce.Adapter{
		cases.ActionBlock: e.rec, cases.ActionRTBH: e.rec, cases.ActionAbuseReport: e.rec}}
	if e.cs, err = NewCases(db, gk, p, e.clk.Now); err != nil {
		t.Fatal(err)
	}
	return e
}

// create opens a draft case by ann against 198.51.100.7 with a block
// (index 0) and an abuse report (index 1), both for a day from ct0.
func (e *caseEnv) create(t *testing.T, requester string, route cases.Route) cases.Case {
	t.Helper()
	s := suspectAt(t, "198.51.100.7", ct0.Add(-time.Hour))
	c, err := e.cs.CreateCase(context.Background(), cases.Case{Requester: requester, Target: cases.MustTarget("198.51.100.7"),
		LegalBasis: "ACD Act art. 12(1)", Route: route, Urgency: cases.UrgencyHigh, Actions: []cases.Action{
			{Type: cases.ActionBlock, Target: cases.MustTarget("198.51.100.7"), Scope: cases.Scope{Protocol: 6, Ports: []cases.PortRange{{From: 22, To: 22}}},
				NotBefore: ct0, NotAfter: ct0.Add(24 * time.Hour)},
			{Type: cases.ActionAbuseReport, Target: cases.MustTarget("198.51.100.7"), NotBefore: ct0, NotAfter: ct0.Add(24 * time.Hour)},
		}}, []detect.Suspect{s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sign has commissioner u decide on the stored current version of id.
func (e *caseEnv) sign(t *testing.T, id, u string, d cases.Decision, at time.Time) cases.Approval {
	t.Helper()
	r, err := e.cs.Case(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	reason := ""
	if d == cases.DecisionReject {
		reason = "disproportionate"
	}
	a, err := cases.Sign(r.Payload, cases.Approval{Case: id, Version: r.Case.Version, Commissioner: u, KeyID: e.keyID[u],
		Decision: d, Reason: reason, SignedAt: at}, e.priv[u])
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// approved returns a requested case approved by alice and bob.
func (e *caseEnv) approved(t *testing.T) cases.Case {
	t.Helper()
	ctx := context.Background()
	c := e.create(t, "ann", cases.RouteOrdinary)
	if _, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRequest, By: "ann", At: ct0}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		var err error
		if c, err = e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, u, cases.DecisionApprove, ct0)); err != nil {
			t.Fatal(err)
		}
	}
	if c.State != cases.StateApproved {
		t.Fatalf("after two approvals: %s", c.State)
	}
	return c
}

// entries returns the audit log.
func (e *caseEnv) entries(t *testing.T) []audit.Entry {
	t.Helper()
	es, err := e.db.ListAudit(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// verify checks the audit chain and checkpoints of the live store.
func (e *caseEnv) verify(t *testing.T) {
	t.Helper()
	r, err := e.db.VerifyAudit(context.Background(), e.pub)
	if err != nil || !r.OK() {
		t.Fatalf("audit verify: %v %+v", err, r)
	}
}

// exec runs a statement on the store behind the service's back (a
// tampering insider).
func (e *caseEnv) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if err := e.db.WriteTx(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(q, args...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCaseWholePath(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	c := e.create(t, "ann", cases.RouteOrdinary)
	if c.State != cases.StateDraft || c.Version != 1 || len(c.EvidenceHash) != 64 || len(c.Suspects) != 1 {
		t.Fatalf("created %+v", c)
	}
	r, err := e.cs.Case(ctx, c.ID)
	if err != nil || cases.VerifyEvidence(r.Evidence, c.EvidenceHash) != nil {
		t.Fatalf("record: %v, evidence %s", err, r.Evidence)
	}
	if _, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventApprove, By: "ann", At: ct0}); !errors.Is(err, cases.ErrState) {
		t.Fatalf("approve through ChangeCase: %v", err)
	}
	if c, err = e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRequest, By: "ann", At: ct0}); err != nil || c.State != cases.StateRequested {
		t.Fatalf("request: %v %s", err, c.State)
	}
	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0); !errors.Is(err, cases.ErrState) {
		t.Fatalf("execute a requested case: %v", err)
	}
	e.clk.Set(ct0.Add(time.Minute))
	if c, err = e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, "alice", cases.DecisionApprove, ct0)); err != nil || c.State != cases.StateRequested {
		t.Fatalf("first approval: %v %s", err, c.State)
	}
	// The same approval again (a retry) is on record once.
	a := e.sign(t, c.ID, "alice", cases.DecisionApprove, ct0)
	if c, err = e.cs.AddApproval(ctx, c.ID, a); err != nil || c.State != cases.StateRequested {
		t.Fatalf("repeated approval: %v %s", err, c.State)
	}
	if c, err = e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, "bob", cases.DecisionApprove, ct0.Add(time.Minute))); err != nil || c.State != cases.StateApproved {
		t.Fatalf("second approval: %v %s", err, c.State)
	}
	if c, err = e.cs.Execute(ctx, c.ID, 0, "otto", ct0.Add(time.Hour)); err != nil || c.State != cases.StateActive {
		t.Fatalf("execute: %v %s", err, c.State)
	}
	if c, err = e.cs.Execute(ctx, c.ID, 1, "otto", ct0.Add(time.Hour)); err != nil || c.State != cases.StateActive {
		t.Fatalf("execute the second action: %v %s", err, c.State)
	}
	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0.Add(time.Hour)); !errors.Is(err, cases.ErrState) {
		t.Fatalf("execute a running action again: %v", err)
	}
	e.clk.Set(ct0.Add(25 * time.Hour))
	if c, err = e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventExpire, By: "system"}); err != nil || c.State != cases.StateExpired {
		t.Fatalf("expire: %v %s", err, c.State)
	}
	calls := e.rec.Calls()
	want := []string{"apply block", "apply abuse-report", "withdraw block", "withdraw abuse-report"}
	if len(calls) != len(want) {
		t.Fatalf("adapter calls %+v", calls)
	}
	for i, w := range want {
		if got := calls[i].Op + " " + string(calls[i].Action.Type); got != w || calls[i].Case != c.ID {
			t.Errorf("call %d = %s, want %s", i, got, w)
		}
	}
	r, err = e.cs.Case(ctx, c.ID)
	if err != nil || len(r.Approvals) != 2 || r.Case.State != cases.StateExpired {
		t.Fatalf("record: %v %d approvals, %s", err, len(r.Approvals), r.Case.State)
	}
	list, n, err := e.cs.Cases(ctx, cases.Filter{State: cases.StateExpired})
	if err != nil || n != 1 || len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("list: %v %d %v", err, n, list)
	}
	if _, n, _ := e.cs.Cases(ctx, cases.Filter{State: cases.StateActive}); n != 0 {
		t.Errorf("active cases: %d", n)
	}
	e.verify(t)
	o, err := e.db.AuditOversight(ctx, ct0.Add(-time.Hour), ct0.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if o.Requests != 1 || o.Approvals != 2 || o.Executions != 2 || o.Refusals != 2 {
		t.Errorf("oversight %+v", o)
	}
}

func TestCaseSeparationOfDuties(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	// carol, a commissioner, requests: she may not approve her own case.
	c := e.create(t, "carol", cases.RouteOrdinary)
	if _, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRequest, By: "carol", At: ct0}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, "carol", cases.DecisionApprove, ct0)); !errors.Is(err, cases.ErrDuties) {
		t.Fatalf("requester approving: %v", err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, u, cases.DecisionApprove, ct0)); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{"alice", "carol", ""} {
		if _, err := e.cs.Execute(ctx, c.ID, 0, who, ct0); !errors.Is(err, cases.ErrDuties) {
			t.Errorf("%q executing: %v", who, err)
		}
	}
	if calls := e.rec.Calls(); len(calls) != 0 {
		t.Fatalf("adapter called: %+v", calls)
	}
	es := e.entries(t)
	if last := es[len(es)-1]; last.Action != audit.ActionGateRefuse {
		t.Errorf("last entry %+v", last)
	}
	// A disabled commissioner's decision is refused.
	c2 := e.create(t, "ann", cases.RouteOrdinary)
	if _, err := e.cs.ChangeCase(ctx, c2.ID, cases.Change{Event: cases.EventRequest, By: "ann", At: ct0}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DisableUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.AddApproval(ctx, c2.ID, e.sign(t, c2.ID, "bob", cases.DecisionApprove, ct0)); !errors.Is(err, ErrDisabled) {
		t.Fatalf("disabled commissioner: %v", err)
	}
	e.verify(t)
}

func TestCaseRejectionAndReplay(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	c := e.create(t, "ann", cases.RouteOrdinary)
	if _, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRequest, By: "ann", At: ct0}); err != nil {
		t.Fatal(err)
	}
	old := e.sign(t, c.ID, "alice", cases.DecisionApprove, ct0)
	c, err := e.cs.AmendCase(ctx, c.ID, "ann", "narrower window", func(c *cases.Case) { c.Actions[0].NotAfter = ct0.Add(12 * time.Hour) })
	if err != nil || c.Version != 2 {
		t.Fatalf("amend: %v v%d", err, c.Version)
	}
	if _, err := e.cs.AmendCase(ctx, c.ID, "ann", "more suspects", func(c *cases.Case) { c.Suspects = append(c.Suspects, "192.0.2.1") }); err == nil {
		t.Fatal("suspects amended")
	}
	if _, err := e.cs.AddApproval(ctx, c.ID, old); !errors.Is(err, cases.ErrReplay) {
		t.Fatalf("replayed v1 approval: %v", err)
	}
	forged, err := cases.Sign(mustPayload(t, c), cases.Approval{Case: c.ID, Version: 2, Commissioner: "alice", KeyID: e.keyID["alice"],
		Decision: cases.DecisionApprove, SignedAt: ct0}, seedPriv("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.entries(t))
	if _, err := e.cs.AddApproval(ctx, c.ID, forged); !errors.Is(err, cases.ErrSignature) {
		t.Fatalf("forged: %v", err)
	}
	// The refused approval is on record, nothing else changed.
	if es := e.entries(t); len(es) != before+1 || es[before].Action != ActionApprovalRefuse || es[before].Object != "case:"+c.ID {
		t.Errorf("after a forged approval: %d entries (was %d), last %+v", len(es), before, es[len(es)-1])
	}
	if c, err = e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, "alice", cases.DecisionReject, ct0)); err != nil || c.State != cases.StateRequested {
		t.Fatalf("one rejection: %v %s", err, c.State)
	}
	if c, err = e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, "bob", cases.DecisionReject, ct0)); err != nil || c.State != cases.StateRejected {
		t.Fatalf("two rejections of three: %v %s", err, c.State)
	}
	if _, err := e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, "carol", cases.DecisionApprove, ct0)); !errors.Is(err, cases.ErrState) {
		t.Fatalf("approval of a rejected case: %v", err)
	}
	e.verify(t)
}

func mustPayload(t *testing.T, c cases.Case) []byte {
	t.Helper()
	p, err := cases.Payload(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCaseGateRefusals runs every refusal of the gate through Execute,
// with the store tampered behind the service's back where the service
// itself would never get there.
func TestCaseGateRefusals(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, e *caseEnv, c cases.Case) time.Time
		want   error
		reason string
	}{
		{"widened prefix (tampered stored action)", func(t *testing.T, e *caseEnv, c cases.Case) time.Time {
			e.exec(t, `UPDATE cases SET doc = json_set(doc, '$.actions[0].target', '198.51.100.0/24') WHERE id = ?`, c.ID)
			return ct0.Add(time.Hour)
		}, cases.ErrSignature, "signature"},
		{"expired window", func(t *testing.T, e *caseEnv, c cases.Case) time.Time {
			return ct0.Add(24 * time.Hour)
		}, cases.ErrWindow, "window"},
		{"window not started", func(t *testing.T, e *caseEnv, c cases.Case) time.Time {
			return ct0.Add(-time.Second)
		}, cases.ErrWindow, "window"},
		{"forged approval", func(t *testing.T, e *caseEnv, c cases.Case) time.Time {
			a, err := cases.SignCase(c, "carol", e.keyID["carol"], cases.DecisionApprove, "", ct0, seedPriv("mallory"))
			if err != nil {
				t.Fatal(err)
			}
			e.exec(t, `INSERT INTO case_approvals (case_id, version, commissioner, key_id, decision, signed_at, signature, doc, added)
				VALUES (?, 1, 'carol', ?, 'approve', 1, x'00', json(?), 0)`, c.ID, a.KeyID, string(mustJSON(t, a)))
			return ct0.Add(time.Hour)
		}, cases.ErrSignature, "signature"},
		{"replayed approval of an older version", func(t *testing.T, e *caseEnv, c cases.Case) time.Time {
			e.exec(t, `UPDATE cases SET doc = json_set(doc, '$.version', 2), version = 2 WHERE id = ?`, c.ID)
			e.exec(t, `UPDATE case_approvals SET version = 2 WHERE case_id = ?`, c.ID)
			return ct0.Add(time.Hour)
		}, cases.ErrReplay, "replay"},
		{"revoked commissioner key", func(t *testing.T, e *caseEnv, c cases.Case) time.Time {
			if err := e.db.RevokeSigningKey(context.Background(), "bob", e.keyID["bob"]); err != nil {
				t.Fatal(err)
			}
			return ct0.Add(time.Hour)
		}, cases.ErrRevokedKey, "revoked-key"},
		{"k-1 approvals", func(t *testing.T, e *caseEnv, c cases.Case) time.Time {
			e.exec(t, `DELETE FROM case_approvals WHERE case_id = ? AND commissioner = 'bob'`, c.ID)
			return ct0.Add(time.Hour)
		}, cases.ErrQuorum, "quorum"},
		{"no such action", func(t *testing.T, e *caseEnv, c cases.Case) time.Time {
			e.exec(t, `UPDATE cases SET doc = json_remove(doc, '$.actions[1]') WHERE id = ?`, c.ID)
			return ct0.Add(time.Hour)
		}, cases.ErrScope, "scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newCaseEnv(t)
			c := e.approved(t)
			now := tt.setup(t, e, c)
			i := 0
			if tt.reason == "scope" {
				i = 1
			}
			before := len(e.entries(t))
			if _, err := e.cs.Execute(ctx, c.ID, i, "otto", now); !errors.Is(err, tt.want) {
				t.Fatalf("Execute = %v, want %v", err, tt.want)
			}
			if calls := e.rec.Calls(); len(calls) != 0 {
				t.Fatalf("adapter called: %+v", calls)
			}
			es := e.entries(t)
			if len(es) != before+1 || es[before].Action != audit.ActionGateRefuse || es[before].Object != "case:"+c.ID {
				t.Fatalf("entries after the refusal: %+v", es[before:])
			}
			if !strings.Contains(string(es[before].Data), `"reason":"`+tt.reason+`"`) {
				t.Errorf("refusal data %s, want reason %s", es[before].Data, tt.reason)
			}
			r, err := e.cs.Case(ctx, c.ID)
			if err != nil || r.Case.State != cases.StateApproved {
				t.Fatalf("state after refusal: %v %s", err, r.Case.State)
			}
			e.verify(t)
		})
	}
}

// TestCaseRollbackLeavesNothing: a revocation whose withdrawal fails
// rolls back: neither the state change nor its entries remain.
func TestCaseRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	c := e.approved(t)
	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	before := e.entries(t)
	boom := errors.New("firewall unreachable")
	e.rec.Err = boom
	if _, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRevoke, By: "alice", At: ct0.Add(2 * time.Hour), Reason: "mistaken"}); !errors.Is(err, boom) {
		t.Fatalf("revoke = %v", err)
	}
	if after := e.entries(t); len(after) != len(before) {
		t.Fatalf("entries after a rolled-back revocation: %+v", after[len(before):])
	}
	r, _ := e.cs.Case(ctx, c.ID)
	if r.Case.State != cases.StateActive {
		t.Fatalf("state %s", r.Case.State)
	}
	e.rec.Err = nil
	if c, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRevoke, By: "alice", At: ct0.Add(2 * time.Hour), Reason: "mistaken"}); err != nil || c.State != cases.StateRevoked {
		t.Fatalf("revoke again: %v %s", err, c.State)
	}
	e.verify(t)
}

func TestCaseEmergencyReview(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	urgent := func() cases.Case {
		c := e.create(t, "ann", cases.RouteUrgent)
		if _, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRequest, By: "ann", At: ct0}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	missed, reviewed := urgent(), urgent()
	if _, err := e.cs.Emergency(ctx, missed.ID, 0, "otto", "ongoing attack", ct0); !errors.Is(err, cases.ErrQuorum) {
		t.Fatalf("emergency without the right: %v", err)
	}
	if _, err := e.cs.Emergency(ctx, missed.ID, 1, "oscar", "ongoing attack", ct0); !errors.Is(err, cases.ErrQuorum) {
		t.Fatalf("abuse report in an emergency: %v", err)
	}
	var (
		evMu   sync.Mutex
		events []string
	)
	e.cs.OnEvent(func(ev notify.Event) {
		evMu.Lock()
		defer evMu.Unlock()
		events = append(events, ev.Event+" "+ev.Case+" "+ev.Audience)
	})
	for _, c := range []cases.Case{missed, reviewed} {
		got, err := e.cs.Emergency(ctx, c.ID, 0, "oscar", "ongoing attack", ct0.Add(time.Minute))
		if err != nil || got.State != cases.StateActive || !got.Flags.Emergency || !got.Flags.ReviewBy.Equal(ct0.Add(24*time.Hour+time.Minute)) {
			t.Fatalf("emergency: %v %+v", err, got)
		}
	}
	// The commission reviews one in time.
	e.clk.Set(ct0.Add(time.Hour))
	for _, u := range []string{"alice", "bob"} {
		if _, err := e.cs.AddApproval(ctx, reviewed.ID, e.sign(t, reviewed.ID, u, cases.DecisionApprove, ct0.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := e.cs.Case(ctx, reviewed.ID); !r.Case.Flags.Reviewed || r.Case.State != cases.StateActive {
		t.Fatalf("reviewed: %+v", r.Case.Flags)
	}
	if ids, err := e.cs.ReviewDue(ctx, ct0.Add(24*time.Hour)); err != nil || len(ids) != 0 {
		t.Fatalf("before the deadline: %v %v", ids, err)
	}
	// The review timer, on the injected clock.
	e.clk.Set(ct0.Add(25 * time.Hour))
	runs := make(chan []string, 16)
	rv := &Reviewer{Cases: e.cs, Every: time.Millisecond, Now: e.clk.Now, OnRun: func(ids, _ []string, err error) {
		if err != nil {
			t.Error(err)
		}
		select {
		case runs <- ids:
		default: // the test reads the first run only
		}
	}}
	if err := rv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ids := <-runs
	rv.Stop()
	if len(ids) != 1 || ids[0] != missed.ID {
		t.Fatalf("rolled back %v, want %s", ids, missed.ID)
	}
	r, _ := e.cs.Case(ctx, missed.ID)
	if r.Case.State != cases.StateRevoked || !r.Case.Flags.ReviewMissed {
		t.Fatalf("missed: %s %+v", r.Case.State, r.Case.Flags)
	}
	// The reviewed case's window ended at 24h: the same run expired it
	// (not a rollback: it is not flagged).
	if r, _ := e.cs.Case(ctx, reviewed.ID); r.Case.State != cases.StateExpired || r.Case.Flags.ReviewMissed {
		t.Fatalf("reviewed case %s %+v", r.Case.State, r.Case.Flags)
	}
	calls := e.rec.Calls()
	if len(calls) != 4 || calls[2].Op != "withdraw" || calls[2].Case != missed.ID || calls[3].Op != "withdraw" || calls[3].Case != reviewed.ID {
		t.Fatalf("calls %+v", calls)
	}
	evMu.Lock()
	want := []string{"case.emergency " + missed.ID + " commission", "case.emergency " + reviewed.ID + " commission",
		"case.rollback " + missed.ID + " commission"}
	if !slices.Equal(events, want) {
		t.Errorf("notifications %q, want %q", events, want)
	}
	evMu.Unlock()
	o, err := e.db.AuditOversight(ctx, ct0.Add(-time.Hour), ct0.Add(48*time.Hour))
	if err != nil || o.Emergencies != 2 || o.Reviews != 1 || o.Rollbacks != 1 {
		t.Fatalf("oversight %v %+v", err, o)
	}
	e.verify(t)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
