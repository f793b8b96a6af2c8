package cases

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// t0 is the tests' "now": a fixed instant, no wall clock.
var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// testKey is one commissioner key of the test keyring.
type testKey struct {
	user    string
	priv    ed25519.PrivateKey
	revoked *time.Time
}

// keyring is a Keyring over a map, for tests.
type keyring map[string]*testKey

func (k keyring) Key(id string) (string, ed25519.PublicKey, *time.Time, error) {
	tk, ok := k[id]
	if !ok {
		return "", nil, nil, fmt.Errorf("no key %q", id)
	}
	return tk.user, tk.priv.Public().(ed25519.PublicKey), tk.revoked, nil
}

func seedKey(name string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte("acd test key " + name))
	return ed25519.NewKeyFromSeed(s[:])
}

// newKeyring returns keys k-alice, k-bob, k-carol, k-dave (one per
// commissioner), k-alice2 (alice's second key) and k-outsider (eve's,
// not in the policy).
func newKeyring() keyring {
	k := keyring{}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		k["k-"+u] = &testKey{user: u, priv: seedKey(u)}
	}
	k["k-alice2"] = &testKey{user: "alice", priv: seedKey("alice2")}
	k["k-outsider"] = &testKey{user: "eve", priv: seedKey("eve")}
	return k
}

func testPolicy() Policy {
	p := DefaultPolicy()
	p.Quorum = 2
	p.Commissioners = []string{"k-alice", "k-alice2", "k-bob", "k-carol", "k-dave"}
	p.EmergencyOperators = []string{"oscar"}
	p.OwnedPrefixes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}
	return p
}

func newGate(t *testing.T, keys keyring) *Gate {
	t.Helper()
	g, err := NewGate(testPolicy(), keys)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// testCase returns a valid requested case by analyst "ann" with a block
// and an rtbh action, version 1.
func testCase() Case {
	c := New("case-2026-0001", "ann", t0.Add(-2*time.Hour))
	c.Target = MustTarget("198.51.100.7")
	c.Suspects = []string{"198.51.100.7"}
	c.EvidenceHash = fmt.Sprintf("%x", sha256.Sum256([]byte("evidence")))
	c.LegalBasis = "ACD Act art. 12(1)"
	c.Route = RouteOrdinary
	c.Urgency = UrgencyHigh
	c.Actions = []Action{
		{Type: ActionBlock, Target: MustTarget("198.51.100.7"), Scope: Scope{Protocol: 6, Ports: []PortRange{{22, 22}}},
			NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(23 * time.Hour), Params: map[string]string{"comment": "ssh brute force"}},
		{Type: ActionRTBH, Target: MustTarget("203.0.113.9"), NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(5 * time.Hour)},
	}
	c.State = StateRequested
	return c
}

// approve signs an approval of c by the key id.
func approve(t *testing.T, keys keyring, c Case, keyID string, d Decision, at time.Time) Approval {
	t.Helper()
	k := keys[keyID]
	reason := ""
	if d == DecisionReject {
		reason = "disproportionate"
	}
	a, err := SignCase(c, k.user, keyID, d, reason, at, k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
