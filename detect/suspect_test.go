package detect

import (
	"encoding/json"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func addr(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }

func finding(a, det string, role Role, score float64, first, last time.Duration) Finding {
	return Finding{Addr: addr(a), Role: role, Evidence: Evidence{Detector: det, Score: score,
		First: t0.Add(first), Last: t0.Add(last), Reason: det + " reason", Counts: map[string]float64{"n": score}}}
}

func TestBookMergesAcrossWindows(t *testing.T) {
	b := NewBook(10, nil)
	b.Add(finding("192.0.2.1", "scan", RoleScanner, 0.6, time.Minute, 2*time.Minute))
	b.Add(finding("192.0.2.1", "scan", RoleScanner, 0.4, 3*time.Minute, 4*time.Minute))
	s := b.Add(finding("192.0.2.1", "scan", RoleScanner, 0.8, 0, 90*time.Second))
	if len(s.Evidence) != 1 {
		t.Fatalf("%d evidence entries, want 1 (deduplicated)", len(s.Evidence))
	}
	e := s.Evidence[0]
	if e.Findings != 3 || e.Score != 0.8 || e.Counts["n"] != 0.8 || !e.First.Equal(t0) || !e.Last.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("merged evidence %+v", e)
	}
	if s.Score != 0.8 || !s.FirstSeen.Equal(t0) || !s.LastSeen.Equal(t0.Add(4*time.Minute)) || len(s.Roles) != 1 {
		t.Errorf("suspect %+v", s)
	}
}

func TestBookCombinesRoles(t *testing.T) {
	b := NewBook(10, nil)
	b.Add(finding("192.0.2.1", "scan", RoleScanner, 0.5, 0, time.Minute))
	s := b.Add(finding("192.0.2.1", "bruteforce", RoleBruteforce, 0.5, 0, time.Minute))
	if math.Abs(s.Score-0.75) > 1e-9 {
		t.Errorf("score %v, want 1-(0.5*0.5) = 0.75", s.Score)
	}
	if len(s.Roles) != 2 || s.Roles[0] != RoleBruteforce || s.Roles[1] != RoleScanner {
		t.Errorf("roles %v, want sorted [bruteforce scanner]", s.Roles)
	}
}

func TestBookPseudonymEpochsAreDistinct(t *testing.T) {
	b := NewBook(10, nil)
	f := finding("198.18.0.1", "ddos", RoleDDoSVictim, 0.9, 0, time.Minute)
	f.Pseudo, f.KeyEpoch = true, 1
	b.Add(f)
	f.KeyEpoch = 2
	b.Add(f)
	f.Pseudo = false
	b.Add(f)
	if b.Len() != 3 {
		t.Errorf("%d suspects, want 3 (two epochs of a pseudonym and one real address)", b.Len())
	}
}

func TestBookQuery(t *testing.T) {
	b := NewBook(100, nil)
	b.Add(finding("192.0.2.1", "scan", RoleScanner, 0.9, 0, time.Minute))
	b.Add(finding("192.0.2.2", "scan", RoleScanner, 0.3, 10*time.Minute, 11*time.Minute))
	b.Add(finding("2001:db8::1", "beacon", RoleC2, 0.7, 20*time.Minute, 60*time.Minute))
	pf := finding("192.0.2.0", "reflection", RoleReflector, 0.5, 0, time.Minute)
	pf.Bits = 96 + 24
	b.Add(pf)
	cases := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all by score", Filter{}, []string{"192.0.2.1", "2001:db8::1", "192.0.2.0/24", "192.0.2.2"}},
		{"role", Filter{Role: RoleScanner}, []string{"192.0.2.1", "192.0.2.2"}},
		{"min score", Filter{MinScore: 0.6}, []string{"192.0.2.1", "2001:db8::1"}},
		{"since", Filter{Since: t0.Add(30 * time.Minute)}, []string{"2001:db8::1"}},
		{"until", Filter{Until: t0.Add(5 * time.Minute)}, []string{"192.0.2.1", "192.0.2.0/24"}},
		{"detector", Filter{Detector: "beacon"}, []string{"2001:db8::1"}},
		{"address", Filter{Address: "192.0.2.0/24"}, []string{"192.0.2.0/24"}},
		{"limit offset", Filter{Limit: 2, Offset: 1}, []string{"2001:db8::1", "192.0.2.0/24"}},
	}
	for _, c := range cases {
		got, total := b.Query(c.f)
		var names []string
		for _, s := range got {
			names = append(names, s.Key.String())
		}
		if len(names) != len(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, names, c.want)
			continue
		}
		for i := range names {
			if names[i] != c.want[i] {
				t.Errorf("%s: got %v, want %v", c.name, names, c.want)
				break
			}
		}
		if c.f.Limit == 0 && total != len(got) {
			t.Errorf("%s: total %d, len %d", c.name, total, len(got))
		}
	}
}

func TestBookBound(t *testing.T) {
	b := NewBook(3, nil)
	b.Add(finding("192.0.2.1", "scan", RoleScanner, 0.9, 0, time.Minute))
	b.Add(finding("192.0.2.2", "scan", RoleScanner, 0.1, 0, time.Minute))
	b.Add(finding("192.0.2.3", "scan", RoleScanner, 0.8, 0, time.Minute))
	b.Add(finding("192.0.2.4", "scan", RoleScanner, 0.7, 0, time.Minute))
	if b.Len() != 3 || b.Evictions() != 1 {
		t.Fatalf("len %d evictions %d", b.Len(), b.Evictions())
	}
	if _, ok := b.Get(Key{Addr: addr("192.0.2.2")}); ok {
		t.Error("the lowest-scored suspect was kept")
	}
}

type sinkFunc func(Suspect)

func (f sinkFunc) Suspected(s Suspect) { f(s) }

func TestSuspectJSONRoundTrip(t *testing.T) {
	var seen []Suspect
	b := NewBook(10, sinkFunc(func(s Suspect) { seen = append(seen, s) }))
	f := finding("2001:db8::5", "beacon", RoleC2, 0.8765432, time.Minute, time.Hour)
	f.Evidence.Peers = []Peer{PeerOf(addr("198.18.0.9"), true, "client", 12)}
	f.Evidence.Series = &Series{Name: "bytes", T: []int64{1, 2}, V: []float64{100, 110}}
	s := b.Add(f)
	if len(seen) != 1 {
		t.Fatalf("sink saw %d suspects, want 1", len(seen))
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"address", "roles", "score", "first_seen", "last_seen", "evidence"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, data)
		}
	}
	if m["score"].(float64) != 0.8765 {
		t.Errorf("score %v, want rounded 0.8765", m["score"])
	}
	var back Suspect
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Key != s.Key || len(back.Evidence) != 1 || back.Evidence[0].Peers[0].Role != "client" || !back.LastSeen.Equal(s.LastSeen) {
		t.Errorf("round trip: %+v", back)
	}
	if _, err := ParseKey("not-an-address"); err == nil {
		t.Error("ParseKey accepted garbage")
	}
}

func TestBookWithdraw(t *testing.T) {
	var seen []Suspect
	b := NewBook(10, sinkFunc(func(s Suspect) { seen = append(seen, s) }))
	k, _ := ParseKey("198.51.100.7")
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	b.Add(Finding{Addr: k.Addr, Role: RoleC2, Evidence: Evidence{Detector: "partner:us", Score: 0.6, Reason: "shared", First: at, Last: at}})
	b.Add(Finding{Addr: k.Addr, Role: RoleScanner, Evidence: Evidence{Detector: "scan", Score: 0.5, Reason: "scan", First: at, Last: at}})
	s, ok := b.Withdraw(k, "partner:us")
	if !ok || len(s.Evidence) != 1 || len(s.Roles) != 1 || s.Roles[0] != RoleScanner || s.Score != 0.5 {
		t.Fatalf("after withdrawing the partner's evidence: %+v %v", s, ok)
	}
	if _, ok := b.Withdraw(k, "partner:us"); ok {
		t.Error("withdrawn twice")
	}
	if s, ok := b.Withdraw(k, "scan"); !ok || len(s.Evidence) != 0 || s.Score != 0 {
		t.Fatalf("last evidence withdrawn: %+v", s)
	}
	if _, ok := b.Get(k); ok || b.Len() != 0 {
		t.Error("a suspect without evidence stayed in the book")
	}
	if last := seen[len(seen)-1]; len(last.Evidence) != 0 || last.Key != k {
		t.Errorf("the sink was not told: %+v", last)
	}
}
