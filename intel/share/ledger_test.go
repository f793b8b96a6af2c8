package share

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/intel/stix"
)

func TestMemLedger(t *testing.T) {
	ctx := context.Background()
	var l MemLedger
	v1, v2 := t0, t0.Add(time.Hour)
	entries := []Entry{
		{Partner: "us", ObjectID: "indicator--a", Version: v1, Direction: Out, At: t0, Allowed: true, Reason: ReasonOK},
		{Partner: "us", ObjectID: "indicator--a", Version: v2, Direction: Out, At: t0.Add(time.Hour), Allowed: false, Reason: ReasonTLP},
		{Partner: "kr", ObjectID: "indicator--a", Version: v2, Direction: Out, At: t0.Add(time.Hour), Allowed: true, Reason: ReasonOK},
		{Partner: "us", ObjectID: "indicator--b", Version: v1, Direction: In, At: t0.Add(2 * time.Hour), Allowed: true, Reason: ReasonOK},
	}
	for _, e := range entries {
		if err := l.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(ctx, Entry{Partner: "us", ObjectID: "x", Direction: "sideways"}); err == nil {
		t.Error("bad direction recorded")
	}
	e, ok, err := l.LastAllowed(ctx, "us", "indicator--a", Out)
	if err != nil || !ok || !e.Version.Equal(v1) {
		t.Errorf("LastAllowed(us, a, out) = %+v, %v, %v; want version %s", e, ok, err, v1)
	}
	if _, ok, _ := l.LastAllowed(ctx, "us", "indicator--a", In); ok {
		t.Error("LastAllowed(us, a, in) found")
	}
	if _, ok, _ := l.LastAllowed(ctx, "us", "indicator--b", In); !ok {
		t.Error("LastAllowed(us, b, in) not found")
	}
	cases := []struct {
		name string
		q    Query
		want []int
	}{
		{"all", Query{}, []int{0, 1, 2, 3}},
		{"partner", Query{Partner: "us"}, []int{0, 1, 3}},
		{"object", Query{ObjectID: "indicator--a"}, []int{0, 1, 2}},
		{"direction", Query{Direction: In}, []int{3}},
		{"since", Query{Since: t0.Add(time.Hour)}, []int{1, 2, 3}},
		{"limit keeps the latest", Query{Partner: "us", Limit: 2}, []int{1, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := l.Entries(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			var want []Entry
			for _, i := range c.want {
				want = append(want, entries[i])
			}
			if !slices.Equal(got, want) {
				t.Errorf("Entries(%+v) = %v, want %v", c.q, got, want)
			}
		})
	}
	// Concurrent use (run under -race).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			_ = l.Record(ctx, Entry{Partner: "p", ObjectID: "o", Direction: Out, Allowed: i%2 == 0, At: t0})
			_, _, _ = l.LastAllowed(ctx, "p", "o", Out)
			_, _ = l.Entries(ctx, Query{Partner: "p"})
		})
	}
	wg.Wait()
	if got, _ := l.Entries(ctx, Query{Partner: "p"}); len(got) != 8 {
		t.Errorf("%d concurrent entries, want 8", len(got))
	}
}

// TestGateRevocation: jp shares a C2 suspect with us; later versions
// with a confidence below the minimum, and the revocation, still reach
// us because the original did, while they would not reach a partner
// that never received it; a version raised to RED never leaves.
func TestGateRevocation(t *testing.T) {
	ctx := context.Background()
	by := identity(t, "acd jp CERT")
	s := victimSuspects(t)[0] // c2, score 0.93
	objs := emit(t, by, stix.TLPGreen, s)
	ind := objs[0]
	a := testAgreement()
	a.Outgoing.MinConfidence = 90
	ledger := &MemLedger{}
	us := &Gate{Agreement: a, Ledger: ledger, Domestic: isDomestic}
	kr := &Gate{Agreement: a, Ledger: ledger, Domestic: isDomestic}
	kr.Agreement.Partner = "kr"
	now := t0.Add(5 * time.Hour)

	if ok, r, err := us.Outgoing(ctx, ind, now); err != nil || !ok || r != ReasonOK {
		t.Fatalf("original to us: %v %s %v", ok, r, err)
	}
	lower, err := ind.NewVersion(t0.Add(4*time.Hour), map[string]any{"confidence": 40})
	if err != nil {
		t.Fatal(err)
	}
	if ok, r, err := us.Outgoing(ctx, lower, now); err != nil || !ok || r != ReasonUpdateOK {
		t.Errorf("lower-confidence version to us: %v %s %v; want update-ok", ok, r, err)
	}
	if ok, r, _ := kr.Outgoing(ctx, lower, now); ok || r != ReasonConfidence {
		t.Errorf("lower-confidence version to kr (never shared): %v %s; want confidence", ok, r)
	}
	rev, err := lower.Revoke(t0.Add(4*time.Hour + time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if ok, r, _ := us.Outgoing(ctx, rev, now); !ok || r != ReasonRevokedOK {
		t.Errorf("revocation to us: %v %s; want revoked-ok", ok, r)
	}
	red, err := ind.NewVersion(t0.Add(4*time.Hour), map[string]any{"object_marking_refs": []string{stix.TLPRed.MarkingID()}})
	if err != nil {
		t.Fatal(err)
	}
	if ok, r, _ := us.Outgoing(ctx, red, now); ok || r != ReasonTLP {
		t.Errorf("red version to us: %v %s; want tlp", ok, r)
	}
	// Delay: a new version of a shared object is not held again.
	d := testAgreement()
	d.Outgoing.Delay = 24 * time.Hour
	dg := &Gate{Agreement: d, Ledger: &MemLedger{}, Domestic: isDomestic}
	if ok, r, _ := dg.Outgoing(ctx, ind, now); ok || r != ReasonDelay {
		t.Errorf("held original: %v %s", ok, r)
	}
	if ok, r, _ := dg.Outgoing(ctx, ind, t0.Add(25*time.Hour)); !ok || r != ReasonOK {
		t.Errorf("original after delay: %v %s", ok, r)
	}

	// The ledger tells who got what.
	got, _ := ledger.Entries(ctx, Query{Partner: "us", ObjectID: ind.ID})
	var (
		reasons []Reason
		tlps    []string
	)
	for _, e := range got {
		reasons, tlps = append(reasons, e.Reason), append(tlps, e.TLP)
	}
	if want := []Reason{ReasonOK, ReasonUpdateOK, ReasonRevokedOK, ReasonTLP}; !slices.Equal(reasons, want) {
		t.Errorf("ledger reasons %v, want %v", reasons, want)
	}
	if want := []string{"green", "green", "green", "red"}; !slices.Equal(tlps, want) {
		t.Errorf("ledger TLPs %q, want %q (each version's own marking)", tlps, want)
	}

	// us receives the revocation: ToSuspects withdraws the candidate.
	in := &Gate{Agreement: DefaultAgreement(), Ledger: ledger}
	in.Agreement.Partner = "jp"
	if ok, r, err := in.Incoming(ctx, rev, now); err != nil || !ok || r != ReasonRevokedOK {
		t.Fatalf("revocation in: %v %s %v", ok, r, err)
	}
	cs, err := ToSuspects([]stix.Object{rev}, "jp", 80, now)
	if err != nil || len(cs) != 1 || !cs[0].Revoked {
		t.Errorf("revocation as candidate: %+v %v", cs, err)
	}
	if got, _ := ledger.Entries(ctx, Query{Partner: "jp", Direction: In}); len(got) != 1 || got[0].Reason != ReasonRevokedOK {
		t.Errorf("incoming ledger: %+v", got)
	}
}
