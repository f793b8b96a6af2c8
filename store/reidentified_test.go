package store

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/enforce/reidentify"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/minimize"
)

// TestReidentifyThroughCase lifts a pseudonym made by the real screening
// stage through an approved case: the gate, the screening stage's own
// verification against the store, the audit of the attempt and of the
// read, and the erasure on revocation.
func TestReidentifyThroughCase(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	var got []flow.Record
	cfg := minimize.DefaultConfig()
	cfg.Domestic.Add = []string{"192.0.2.0/24"}
	cfg.Key.File = t.TempDir() + "/screen.key"
	if err := minimize.GenerateKeyFile(cfg.Key.File); err != nil {
		t.Fatal(err)
	}
	screen, err := minimize.New(cfg, minimize.Deps{Auditor: e.db, Verifier: e.cs, Now: e.clk.Now,
		Next: flow.SinkFunc(func(b *flow.Batch) { got = append(got, b.Records...); b.Release() })})
	if err != nil {
		t.Fatal(err)
	}
	if err := screen.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer screen.Stop()
	b := flow.NewBatchPool(2).Get()
	b.Records = append(b.Records, flow.Record{SrcAddr: flow.AddrFromNetip(netip.MustParseAddr("198.51.100.7")), DstAddr: flow.AddrFromNetip(netip.MustParseAddr("192.0.2.10")),
		Start: ct0.UnixMilli(), End: ct0.UnixMilli(), Proto: 6, DstPort: 22})
	screen.Consume(b)
	if len(got) != 1 || got[0].DstAddr.Netip() == netip.MustParseAddr("192.0.2.10") {
		t.Fatalf("screened: %+v", got)
	}
	p := minimize.Pseudonym{Epoch: got[0].KeyEpoch, Addr: got[0].DstAddr.Netip()}
	e.cs.gk.Adapters[cases.ActionReidentify] = &reidentify.Adapter{Screen: screen, Results: e.cs, Dossiers: e.cs, Now: e.clk.Now}

	c, err := e.cs.CreateCase(ctx, cases.Case{Requester: "ann", Target: cases.MustTarget("198.51.100.7"), LegalBasis: "ACD Act art. 14",
		Route: cases.RouteOrdinary, Urgency: cases.UrgencyNormal, Actions: []cases.Action{{Type: cases.ActionReidentify,
			Target: cases.MustTarget(p.Addr.String()), Scope: cases.Scope{Pseudonyms: []minimize.Pseudonym{p}},
			NotBefore: ct0, NotAfter: ct0.Add(24 * time.Hour)}}}, []detect.Suspect{suspectAt(t, "198.51.100.7", ct0)})
	if err != nil {
		t.Fatal(err)
	}
	// Before approval the screening stage's own check refuses.
	if err := e.cs.VerifyReidentification(ctx, minimize.Authorization{CaseID: c.ID, Pseudonyms: []minimize.Pseudonym{p},
		NotAfter: ct0.Add(24 * time.Hour), Proof: []byte("[]")}); err == nil {
		t.Fatal("an unapproved case verified")
	}
	if _, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRequest, By: "ann", At: ct0}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, u, cases.DecisionApprove, ct0)); err != nil {
			t.Fatal(err)
		}
	}
	// A proof with one approval forged to look like bob's does not pass.
	d, _ := e.cs.Dossier(ctx, c.ID)
	forged := append([]cases.Approval(nil), d.Approvals...)
	forged[1].Signature = append([]byte(nil), forged[0].Signature...)
	proof, _ := json.Marshal(forged)
	if err := e.cs.VerifyReidentification(ctx, minimize.Authorization{CaseID: c.ID, Pseudonyms: []minimize.Pseudonym{p},
		NotAfter: ct0.Add(24 * time.Hour), Proof: proof}); !errors.Is(err, cases.ErrSignature) {
		t.Fatalf("forged proof: %v", err)
	}

	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	rs, err := e.cs.Reidentified(ctx, c.ID, "ann")
	if err != nil || len(rs) != 1 || rs[0].Addr != netip.MustParseAddr("192.0.2.10") || rs[0].Pseudonym != p {
		t.Fatalf("reidentified = %+v, %v", rs, err)
	}
	es := e.entries(t)
	var actions []string
	for _, en := range es {
		if strings.HasPrefix(en.Action, "reidentify") {
			actions = append(actions, en.Action+" "+string(en.Data))
		}
		if strings.Contains(string(en.Data), "192.0.2.10") {
			t.Errorf("the clear address reached the audit log: %s %s", en.Action, en.Data)
		}
	}
	if len(actions) != 2 || !strings.Contains(actions[0], `"granted":true`) || !strings.HasPrefix(actions[1], "reidentify.read") {
		t.Fatalf("audit = %v", actions)
	}
	// Revoking the case withdraws the action: the address is erased.
	if _, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRevoke, By: "carol", At: ct0.Add(time.Hour), Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	if rs, err := e.cs.Reidentified(ctx, c.ID, "ann"); err != nil || len(rs) != 0 {
		t.Fatalf("after revocation: %+v %v", rs, err)
	}
	e.verify(t)

}
