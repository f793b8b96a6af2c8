package store

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/notify"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/enforce/crowdsec"
)

func TestCasesInEffectRetractDossier(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	c := e.approved(t)
	if items, err := e.cs.InEffect(ctx); err != nil || len(items) != 0 {
		t.Fatalf("before execution: %v %v", items, err)
	}
	for i := range c.Actions {
		if _, err := e.cs.Execute(ctx, c.ID, i, "otto", ct0); err != nil {
			t.Fatal(err)
		}
	}
	items, err := e.cs.InEffect(ctx)
	if err != nil || len(items) != 2 || items[0].Key() != c.ID+"/0" || items[1].Action.Type != cases.ActionAbuseReport ||
		items[0].Case.State != cases.StateActive || !items[0].Since.Equal(ct0) {
		t.Fatalf("in effect = %+v, %v", items, err)
	}
	if n, err := e.cs.InEffectCount(ctx); err != nil || n != 2 {
		t.Fatalf("count = %d, %v", n, err)
	}

	d, err := e.cs.Dossier(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Case.ID != c.ID || len(d.Approvals) != 2 || cases.VerifyEvidence(d.Evidence, d.Case.EvidenceHash) != nil {
		t.Fatalf("dossier = %+v", d)
	}
	for _, en := range d.Audit {
		if h := en.ComputeHash(); h != en.Hash {
			t.Errorf("excerpt entry %d does not hash to its hash", en.Seq)
		}
	}
	var acts []string
	for _, en := range d.Audit {
		acts = append(acts, en.Action)
	}
	if got := strings.Join(acts, " "); !strings.Contains(got, "case.create") || !strings.Contains(got, "case.approve") || !strings.Contains(got, "case.execute") {
		t.Errorf("dossier audit = %s", got)
	}
	if _, err := e.cs.Dossier(ctx, "no-such-case"); !errors.Is(err, cases.ErrNotFound) {
		t.Errorf("unknown case: %v", err)
	}

	// A rail now covers the block: retract it, audited, once.
	before := len(e.rec.Calls())
	if err := e.cs.Retract(ctx, items[0], "rail: 198.51.100.0/24 is a partner's"); err != nil {
		t.Fatal(err)
	}
	if err := e.cs.Retract(ctx, items[0], "again"); err != nil {
		t.Fatal(err)
	}
	calls := e.rec.Calls()
	if len(calls) != before+1 || calls[len(calls)-1].Op != "withdraw" {
		t.Fatalf("adapter calls = %+v", calls[before:])
	}
	if items, _ := e.cs.InEffect(ctx); len(items) != 1 || items[0].Index != 1 {
		t.Fatalf("after retraction: %+v", items)
	}
	es := e.entries(t)
	last := es[len(es)-1]
	if last.Action != audit.ActionCaseRetract || !strings.Contains(string(last.Data), "partner") {
		t.Errorf("last entry = %s %s", last.Action, last.Data)
	}
	e.verify(t)
}

func TestGatekeeperRailsThroughStore(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	rails := enforce.DefaultRails()
	rails.NeverAct = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/28")}
	e.cs.gk.Rails = &rails
	e.cs.gk.Active = e.cs.InEffectCount
	c := e.approved(t)
	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0); !errors.Is(err, enforce.ErrRail) {
		t.Fatalf("execute inside never-act = %v", err)
	}
	es := e.entries(t)
	if l := es[len(es)-1]; l.Action != audit.ActionGateRefuse || !strings.Contains(string(l.Data), `"reason":"rail"`) {
		t.Errorf("refusal entry = %s %s", l.Action, l.Data)
	}
	rails.NeverAct = nil
	rails.MaxActive = 1
	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.Execute(ctx, c.ID, 1, "otto", ct0); !errors.Is(err, enforce.ErrRail) || !strings.Contains(err.Error(), "cap") {
		t.Fatalf("execute over the cap = %v", err)
	}
	rails.MaxActive = 0
	rails.DryRun = true
	before := len(e.rec.Calls())
	if _, err := e.cs.Execute(ctx, c.ID, 1, "otto", ct0); err != nil {
		t.Fatal(err)
	}
	if len(e.rec.Calls()) != before {
		t.Error("dry run called the adapter")
	}
	es = e.entries(t)
	if l := es[len(es)-1]; l.Action != audit.ActionCaseExecute || !strings.Contains(string(l.Data), enforce.DryRunAdapter) {
		t.Errorf("dry-run entry = %s %s", l.Action, l.Data)
	}
}

func TestBouncers(t *testing.T) {
	ctx := context.Background()
	db, _ := auditStore(t, 4)
	key, err := db.AddBouncer(ctx, "fw1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddBouncer(ctx, "fw1"); !errors.Is(err, ErrExists) {
		t.Errorf("second add = %v", err)
	}
	if _, err := db.AddBouncer(ctx, "bad name"); err == nil {
		t.Error("bad name accepted")
	}
	keys := db.BouncerKeys()
	if n, err := keys.Bouncer(ctx, key); err != nil || n != "fw1" {
		t.Fatalf("Bouncer(key) = %q, %v", n, err)
	}
	for _, k := range []string{"", "x", key + "x"} {
		if _, err := keys.Bouncer(ctx, k); !errors.Is(err, crowdsec.ErrUnknownKey) {
			t.Errorf("Bouncer(%q) = %v", k, err)
		}
	}
	bs, err := db.ListBouncers(ctx)
	if err != nil || len(bs) != 1 || bs[0].LastPull.IsZero() || !bs[0].RevokedAt.IsZero() {
		t.Fatalf("list = %+v, %v", bs, err)
	}
	if err := db.RevokeBouncer(ctx, "fw1"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Bouncer(ctx, key); !errors.Is(err, crowdsec.ErrUnknownKey) {
		t.Errorf("revoked key still pulls: %v", err)
	}
	if err := db.RevokeBouncer(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke unknown = %v", err)
	}
	key2, err := db.AddBouncer(ctx, "fw1")
	if err != nil || key2 == key {
		t.Fatalf("re-add after revoke: %v", err)
	}
	es, _ := db.ListAudit(ctx, audit.Filter{Action: "bouncer.*"})
	if len(es) != 3 {
		t.Errorf("bouncer audit entries = %d, want 3", len(es))
	}
	for _, en := range es {
		if strings.Contains(string(en.Data), key) || strings.Contains(string(en.Data), key2) {
			t.Fatal("a bouncer key reached the audit log")
		}
	}
}

func TestCasesVerified(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	c := e.approved(t)
	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0); err != nil {
		t.Fatal(err)
	}
	var events []notify.Event
	e.cs.OnEvent(func(ev notify.Event) { events = append(events, ev) })
	figs := map[string]any{"before_flows_per_min": 12.5, "after_flows_per_min": 0.0}
	got, err := e.cs.Verified(ctx, c.ID, cases.Verdict{Action: 0, Verdict: cases.VerdictEffective, At: ct0.Add(10 * time.Minute), Reason: "flows fell by 100%"}, figs)
	if err != nil || got.State != cases.StateEffective || len(got.Verdicts) != 1 {
		t.Fatalf("effective: %s %+v %v", got.State, got.Verdicts, err)
	}
	got, err = e.cs.Verified(ctx, c.ID, cases.Verdict{Action: 0, Verdict: cases.VerdictIneffective, Reason: "traffic resumed"}, nil)
	if err != nil || got.State != cases.StateIneffective {
		t.Fatalf("ineffective: %s %v", got.State, err)
	}
	if len(events) != 1 || events[0].Event != notify.EventIneffective || events[0].Audience != "analysts" || events[0].Reason != "traffic resumed" {
		t.Fatalf("escalation = %+v", events)
	}
	if _, err := e.cs.Verified(ctx, c.ID, cases.Verdict{Action: 7, Verdict: cases.VerdictEffective}, nil); err == nil {
		t.Error("a verdict on a missing action was accepted")
	}
	es, _ := e.db.ListAudit(ctx, audit.Filter{Action: audit.ActionCaseVerify})
	if len(es) != 2 || !strings.Contains(string(es[0].Data), `"before_flows_per_min":12.5`) || es[0].Actor != "verify" {
		t.Fatalf("verify entries = %+v", es)
	}
	e.verify(t)
}

func TestCheckEnforcement(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	has := func(cases.ActionType) bool { return true }
	if err := e.cs.CheckEnforcement(ctx, false, has); err != nil {
		t.Fatalf("nothing in effect: %v", err)
	}
	c := e.approved(t)
	rails := enforce.DefaultRails()
	rails.DryRun = true
	e.cs.gk.Rails = &rails
	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0); err != nil {
		t.Fatal(err)
	}
	if err := e.cs.CheckEnforcement(ctx, true, has); err != nil {
		t.Fatalf("same mode: %v", err)
	}
	if err := e.cs.CheckEnforcement(ctx, false, has); err == nil || !strings.Contains(err.Error(), "dry-run") {
		t.Fatalf("a dry run in effect, real mode now: %v", err)
	}
	rails.DryRun = false
	if _, err := e.cs.Execute(ctx, c.ID, 1, "otto", ct0); err != nil {
		t.Fatal(err)
	}
	if err := e.cs.CheckEnforcement(ctx, true, has); err == nil || !strings.Contains(err.Error(), "real") {
		t.Fatalf("a real action in effect, dry-run mode now: %v", err)
	}
	// No adapter for abuse reports any more.
	e.exec(t, `UPDATE case_executions SET dry_run = 0`)
	err := e.cs.CheckEnforcement(ctx, false, func(t cases.ActionType) bool { return t != cases.ActionAbuseReport })
	if err == nil || !strings.Contains(err.Error(), "abuse-report") {
		t.Fatalf("an action without an adapter: %v", err)
	}
}
