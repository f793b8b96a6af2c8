package police

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/audit"
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

func seedKey(s string) ed25519.PrivateKey {
	h := sha256.Sum256([]byte(s))
	return ed25519.NewKeyFromSeed(h[:])
}

// serverKey is acd's fixed test server key.
var serverKey = seedKey("police test server key")

type fixture struct {
	c   cases.Case
	dos *dossiers
}

// newCase builds an approved case with a police-request action for
// channel, its evidence, an approval and a three-entry audit excerpt
// (seq 1, 2 and 5: a gap where other cases' entries were).
func newCase(t *testing.T, id, channel string) fixture {
	t.Helper()
	k, err := detect.ParseKey("198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}
	ss := []detect.Suspect{{Key: k, Roles: []detect.Role{detect.RoleC2}, Score: 0.9, FirstSeen: t0.Add(-3 * time.Hour),
		LastSeen: t0.Add(-time.Hour), Updated: t0.Add(-time.Hour), Evidence: []detect.Evidence{{Detector: "beacon", Role: detect.RoleC2,
			Score: 0.9, Findings: 4, First: t0.Add(-3 * time.Hour), Last: t0.Add(-time.Hour),
			Reason: "3 internal host(s) connect to 198.51.100.7 port 443/tcp at regular intervals <period 1m0s> & more",
			Peers:  []detect.Peer{{Address: "10.0.0.9", Pseudo: true, Role: "client"}}}}}}
	ev, err := cases.FreezeEvidence(ss)
	if err != nil {
		t.Fatal(err)
	}
	c := cases.New(id, "ann", t0.Add(-2*time.Hour))
	c.Target = cases.MustTarget("198.51.100.7")
	c.Suspects = cases.SuspectAddrs(ss)
	c.EvidenceHash = ev.Hash
	c.LegalBasis = "ACD Act art. 12(1)"
	c.Actions = []cases.Action{{Type: cases.ActionPoliceRequest, Target: c.Target, Scope: cases.Scope{Recipient: channel},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(23 * time.Hour)}}
	p := cases.DefaultPolicy()
	if err := c.Validate(&p); err != nil {
		t.Fatal(err)
	}
	c.State = cases.StateApproved
	a, err := cases.SignCase(c, "alice", "k-alice", cases.DecisionApprove, "", t0.Add(-30*time.Minute), seedKey("alice"))
	if err != nil {
		t.Fatal(err)
	}
	d := enforce.Dossier{Case: c, Approvals: []cases.Approval{a}, Evidence: ev.Doc, Audit: auditEntries(id)}
	return fixture{c: c, dos: &dossiers{m: map[string]enforce.Dossier{id: d}}}
}

func auditEntries(id string) []audit.Entry {
	mk := func(seq int64, prev string, at time.Duration, action string, data map[string]any) audit.Entry {
		kv := []any{}
		for k, v := range data {
			kv = append(kv, k, v)
		}
		e := audit.Entry{Seq: seq, Time: t0.Add(at), Actor: "ann", Action: action, Object: "case:" + id, Data: audit.Data(kv...), Prev: prev}
		e.Hash = e.ComputeHash()
		return e
	}
	e1 := mk(1, audit.Genesis, -2*time.Hour, "case.create", map[string]any{"target": "198.51.100.7"})
	e2 := mk(2, e1.Hash, -90*time.Minute, "case.request", map[string]any{"note": "<urgent> & signed"})
	e5 := mk(5, "f00d"+e2.Hash[4:], -30*time.Minute, "case.approve", map[string]any{"by": "alice"})
	return []audit.Entry{e1, e2, e5}
}

// newSender starts a sender with channel "npa" in a temp dir.
func newSender(t *testing.T, f fixture) (*Sender, string, string) {
	t.Helper()
	chdir, state := t.TempDir(), filepath.Join(t.TempDir(), "state")
	s, err := New(Config{Channels: []Channel{{Name: "npa", Dir: chdir}}, StateDir: state, Organization: "Example CERT"},
		Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Dossiers: f.dos, Key: serverKey,
			KeyID: cases.KeyID(serverKey.Public().(ed25519.PublicKey)), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, chdir, state
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
