package abuse

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/enforce"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// dossiers is a fake enforce.DossierSource.
type dossiers struct {
	mu    sync.Mutex
	m     map[string]enforce.Dossier
	calls int
}

func (d *dossiers) Dossier(_ context.Context, id string) (enforce.Dossier, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	x, ok := d.m[id]
	if !ok {
		return enforce.Dossier{}, fmt.Errorf("no case %s", id)
	}
	return x, nil
}

func key(t *testing.T, s string) detect.Key {
	t.Helper()
	k, err := detect.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testSuspects returns a scanner and bruteforcer inside 198.51.100.0/24,
// a pseudonym inside it (never reported) and a suspect outside it.
func testSuspects(t *testing.T) []detect.Suspect {
	t.Helper()
	scan := detect.Suspect{Key: key(t, "198.51.100.7"), Roles: []detect.Role{detect.RoleBruteforce, detect.RoleScanner}, Score: 0.93,
		FirstSeen: t0.Add(-3 * time.Hour), LastSeen: t0.Add(-time.Hour), Updated: t0.Add(-time.Hour),
		Evidence: []detect.Evidence{
			{Detector: "bruteforce", Role: detect.RoleBruteforce, Score: 0.8, Findings: 2,
				Reason: "412 short ssh connections (login attempts) to one server within 10m0s, at most 3 in 1s, 97% of its ssh connections there",
				First:  t0.Add(-2 * time.Hour), Last: t0.Add(-time.Hour), Counts: map[string]float64{"attempts": 412},
				Peers: []detect.Peer{{Address: "10.9.8.7", Pseudo: true, Role: "target", Count: 412}}},
			{Detector: "scan", Role: detect.RoleScanner, Score: 0.65, Findings: 3,
				Reason: "198.51.100.7 probed 512 hosts of 192.0.2.0/24 on port 22/tcp, e.g. 192.0.2.10, 2001:db8::7 ±2%",
				First:  t0.Add(-3 * time.Hour), Last: t0.Add(-2 * time.Hour), Counts: map[string]float64{"targets": 512, "probes": 1040},
				Samples: []detect.Sample{{Src: "198.51.100.7", Dst: "10.1.2.3", DstPort: 22, Proto: 6, Pseudo: "dst"}}},
		}}
	pseudo := detect.Suspect{Key: key(t, "198.51.100.9"), Roles: []detect.Role{detect.RoleC2}, Score: 0.5,
		FirstSeen: t0.Add(-5 * time.Hour), LastSeen: t0, Updated: t0,
		Evidence: []detect.Evidence{{Detector: "beacon", Role: detect.RoleC2, Score: 0.5, Reason: "pseudonymous beacon", Findings: 1,
			First: t0.Add(-5 * time.Hour), Last: t0}}}
	pseudo.Pseudo, pseudo.KeyEpoch = true, 7
	other := detect.Suspect{Key: key(t, "203.0.113.5"), Roles: []detect.Role{detect.RoleDDoSSource}, Score: 0.7,
		FirstSeen: t0.Add(-time.Hour), LastSeen: t0, Updated: t0,
		Evidence: []detect.Evidence{{Detector: "ddos", Role: detect.RoleDDoSSource, Score: 0.7, Reason: "outside", Findings: 1,
			First: t0.Add(-time.Hour), Last: t0}}}
	return []detect.Suspect{scan, pseudo, other}
}

type fixture struct {
	c    cases.Case
	dos  *dossiers
	appr []cases.Approval
}

// newCase builds an approved case over testSuspects with one
// abuse-report action per target given (recipient may be empty).
func newCase(t *testing.T, id string, actions ...cases.Action) fixture {
	t.Helper()
	ss := testSuspects(t)
	ev, err := cases.FreezeEvidence(ss)
	if err != nil {
		t.Fatal(err)
	}
	c := cases.New(id, "ann", t0.Add(-2*time.Hour))
	c.Target = cases.MustTarget("198.51.100.0/24")
	c.Suspects = cases.SuspectAddrs(ss)
	c.EvidenceHash = ev.Hash
	c.LegalBasis = "ACD Act art. 12(1)"
	c.Actions = actions
	if err := c.Validate(ptr(cases.DefaultPolicy())); err != nil {
		t.Fatal(err)
	}
	c.State = cases.StateApproved
	seed := sha256.Sum256([]byte("abuse test alice"))
	a, err := cases.SignCase(c, "alice", "k-alice", cases.DecisionApprove, "", t0.Add(-30*time.Minute), ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		t.Fatal(err)
	}
	d := &dossiers{m: map[string]enforce.Dossier{id: {Case: c, Approvals: []cases.Approval{a}, Evidence: ev.Doc}}}
	return fixture{c: c, dos: d, appr: []cases.Approval{a}}
}

func ptr[T any](v T) *T { return &v }

func abuseAction(target, recipient string) cases.Action {
	return cases.Action{Type: cases.ActionAbuseReport, Target: cases.MustTarget(target),
		Scope: cases.Scope{Recipient: recipient}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(23 * time.Hour)}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
