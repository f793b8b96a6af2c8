package cases

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
)

func suspect(t *testing.T, addr string, score float64) detect.Suspect {
	t.Helper()
	k, err := detect.ParseKey(addr)
	if err != nil {
		t.Fatal(err)
	}
	return detect.Suspect{Key: k, Roles: []detect.Role{detect.RoleBruteforce}, Score: score,
		FirstSeen: t0.Add(-time.Hour), LastSeen: t0, Updated: t0,
		Evidence: []detect.Evidence{{Detector: "bruteforce", Role: detect.RoleBruteforce, Score: score,
			Reason: "312 failed SSH logins to 41 hosts", First: t0.Add(-time.Hour), Last: t0, Findings: 3,
			Counts: map[string]float64{"attempts": 312, "hosts": 41}}}}
}

func TestFreezeEvidence(t *testing.T) {
	a, b := suspect(t, "198.51.100.7", 0.93), suspect(t, "2001:db8::66", 0.5)
	e1, err := FreezeEvidence([]detect.Suspect{a, b})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := FreezeEvidence([]detect.Suspect{b, a})
	if err != nil {
		t.Fatal(err)
	}
	if e1.Hash != e2.Hash || !bytes.Equal(e1.Doc, e2.Doc) {
		t.Error("the order of the suspects changes the frozen evidence")
	}
	if !isSHA256Hex(e1.Hash) || !bytes.HasPrefix(e1.Doc, []byte(`{"suspects":[{"address":"198.51.100.7"`)) {
		t.Errorf("hash %q doc %s", e1.Hash, e1.Doc)
	}
	if err := VerifyEvidence(e1.Doc, e1.Hash); err != nil {
		t.Errorf("verify: %v", err)
	}
	changed := suspect(t, "198.51.100.7", 0.94)
	e3, _ := FreezeEvidence([]detect.Suspect{changed, b})
	if e3.Hash == e1.Hash {
		t.Error("a changed score keeps the hash")
	}
	tampered := bytes.Replace(e1.Doc, []byte("312"), []byte("313"), 1)
	if err := VerifyEvidence(tampered, e1.Hash); err == nil {
		t.Error("tampered evidence verifies")
	}
	spaced := append([]byte(" "), e1.Doc...)
	if err := VerifyEvidence(spaced, hashHex(spaced)); err == nil || !strings.Contains(err.Error(), "canonical") {
		t.Errorf("non-canonical document: %v", err)
	}
	if _, err := FreezeEvidence([]detect.Suspect{a, a}); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("duplicate suspect: %v", err)
	}
	if _, err := FreezeEvidence(nil); err == nil {
		t.Error("no suspects frozen")
	}
	if got := SuspectAddrs([]detect.Suspect{b, a, a}); strings.Join(got, ",") != "198.51.100.7,2001:db8::66" {
		t.Errorf("SuspectAddrs %v", got)
	}
}

// TestLifecycle takes a case from suspects to an expired, closed case,
// the way the store and the enforcement side will drive it.
func TestLifecycle(t *testing.T) {
	keys := newKeyring()
	g := newGate(t, keys)
	p := g.Policy()
	sus := []detect.Suspect{suspect(t, "198.51.100.7", 0.93)}

	c := New("case-2026-0042", "ann", t0.Add(-3*time.Hour))
	err := c.Update("ann", t0.Add(-3*time.Hour), "write the request", func(c *Case) {
		ev, err := FreezeEvidence(sus)
		if err != nil {
			t.Fatal(err)
		}
		c.Target, c.Suspects, c.EvidenceHash = MustTarget("198.51.100.7"), SuspectAddrs(sus), ev.Hash
		c.LegalBasis, c.Urgency = "ACD Act art. 12(1)", UrgencyHigh
		c.Actions = []Action{{Type: ActionBlock, Target: MustTarget("198.51.100.7"), NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(&p); err != nil {
		t.Fatal(err)
	}
	step := func(ev Event, by string, at time.Time) {
		t.Helper()
		if err := c.Apply(Change{Event: ev, By: by, At: at, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	step(EventRequest, "ann", t0.Add(-2*time.Hour))
	as := []Approval{
		approve(t, keys, c, "k-bob", DecisionApprove, t0.Add(-90*time.Minute)),
		approve(t, keys, c, "k-carol", DecisionApprove, t0.Add(-80*time.Minute)),
	}
	tally, err := g.Tally(c, as, t0.Add(-80*time.Minute))
	if err != nil || !tally.Approved {
		t.Fatalf("tally %+v, %v", tally, err)
	}
	step(EventApprove, "system", t0.Add(-80*time.Minute))
	if _, err := g.Check(c, as, c.Actions[0], "oscar", t0); err != nil {
		t.Fatalf("authorize: %v", err)
	}
	step(EventActivate, "oscar", t0)
	step(EventEffective, "verify", t0.Add(10*time.Minute))
	if _, err := g.Check(c, as, c.Actions[0], "oscar", t0.Add(time.Hour)); err == nil {
		t.Error("authorized after the window")
	}
	step(EventExpire, "system", t0.Add(time.Hour))
	if _, err := g.Check(c, as, c.Actions[0], "oscar", t0.Add(30*time.Minute)); err == nil {
		t.Error("authorized on an expired case")
	}
	step(EventClose, "ann", t0.Add(2*time.Hour))
	var got []Event
	for _, e := range c.History {
		got = append(got, e.Event)
	}
	want := []Event{"create", EventAmend, EventRequest, EventApprove, EventActivate, EventEffective, EventExpire, EventClose}
	if len(got) != len(want) {
		t.Fatalf("history %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("history %v, want %v", got, want)
		}
	}
	if c.Version != 2 {
		t.Errorf("version %d after one amendment, want 2", c.Version)
	}
}
