package eval

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func a(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }

func TestScore(t *testing.T) {
	labels := []scenario.Label{
		{Addr: a("100.64.1.1"), Role: scenario.RoleScanner, Attack: 0, First: t0},
		{Addr: a("100.64.1.2"), Role: scenario.RoleScanner, Attack: 0, First: t0},
		{Addr: a("100.64.2.1"), Role: scenario.RoleC2, Attack: 1, First: t0},
		{Addr: a("198.18.0.5"), Role: scenario.RoleC2Client, Attack: 1, First: t0}, // not scored
		{Addr: a("198.18.0.6"), Role: scenario.RoleDDoSVictim, Attack: 2, First: t0},
	}
	pseudo := map[int]detect.Key{4: {Addr: a("198.19.7.7"), Pseudo: true, KeyEpoch: 3}}
	res := &Result{Suspects: []detect.Suspect{
		{Key: detect.Key{Addr: a("100.64.1.1")}, Evidence: []detect.Evidence{{Role: detect.RoleScanner, Score: 0.9}}},
		{Key: detect.Key{Addr: a("100.64.9.9")}, Evidence: []detect.Evidence{{Role: detect.RoleScanner, Score: 0.4}}},
		// Right address, wrong role: a false positive for c2's scanner.
		{Key: detect.Key{Addr: a("100.64.2.1")}, Evidence: []detect.Evidence{{Role: detect.RoleC2, Score: 1}, {Role: detect.RoleScanner, Score: 0.2}}},
		{Key: detect.Key{Addr: a("198.19.7.7"), Pseudo: true, KeyEpoch: 3}, Evidence: []detect.Evidence{{Role: detect.RoleDDoSVictim, Score: 1}}},
	}}
	first := map[key]firstFinding{
		{detect.Key{Addr: a("100.64.1.1")}, detect.RoleScanner}: {event: t0.Add(90 * time.Second).UnixMilli(), wall: time.Millisecond},
	}
	res.score(labels, pseudo, first, scenario.InternalPrefixes())
	want := map[detect.Role][3]int{detect.RoleScanner: {1, 2, 1}, detect.RoleC2: {1, 0, 0}, detect.RoleDDoSVictim: {1, 0, 0}}
	if len(res.Scores) != len(want) {
		t.Fatalf("scores %+v", res.Scores)
	}
	for _, s := range res.Scores {
		w := want[s.Role]
		if s.TP != w[0] || s.FP != w[1] || s.FN != w[2] {
			t.Errorf("%s: tp/fp/fn %d/%d/%d, want %v", s.Role, s.TP, s.FP, s.FN, w)
		}
		if s.Role == detect.RoleScanner {
			if s.Precision != 0.3333 || s.Recall != 0.5 || s.EventMedian != 90*time.Second || s.WallMax != time.Millisecond {
				t.Errorf("scanner score %+v", s)
			}
		}
	}
	if len(res.Misses) != 1 || res.Misses[0].Address != "100.64.1.2" || len(res.False) != 2 {
		t.Errorf("misses %+v false %+v", res.Misses, res.False)
	}
	if len(res.Attacks) != 3 || res.Attacks[0].Role != detect.RoleScanner || res.Attacks[0].Labels != 2 || res.Attacks[0].Found != 1 ||
		res.Attacks[0].EventMax != 90*time.Second {
		t.Errorf("attacks %+v", res.Attacks)
	}
	tot := Total(res.Scores...)
	if tot.TP != 3 || tot.FP != 2 || tot.FN != 1 {
		t.Errorf("total %+v", tot)
	}
}

func TestPRFEmpty(t *testing.T) {
	if p, r, f := prf(0, 0, 0); p != 1 || r != 1 || f != 1 {
		t.Errorf("prf(0,0,0) = %v %v %v, want perfect", p, r, f)
	}
	if p, r, _ := prf(0, 3, 0); p != 0 || r != 1 {
		t.Errorf("prf(0,3,0) = %v %v", p, r)
	}
}

// nothing is a detector that never finds anything.
type nothing struct{ n int }

func (d *nothing) Name() string                                       { return "nothing" }
func (d *nothing) Observe(recs []flow.Record, _ int64, _ detect.Emit) { d.n += len(recs) }
func (d *nothing) Advance(int64, detect.Emit)                         {}
func (d *nothing) Flush(detect.Emit)                                  {}
func (d *nothing) Stats() detect.Stats                                { return detect.Stats{} }

// TestRunScreensAndScores runs a small scenario end to end: every label
// is missed by a detector that finds nothing, and the internal victim is
// scored under its pseudonym.
func TestRunScreensAndScores(t *testing.T) {
	cfg := scenario.Config{Name: "small", Seed: 9, Duration: 3 * time.Minute,
		Background: scenario.BackgroundConfig{Clients: 20, Servers: 40, FlowsPerSecond: 20},
		Attacks:    []scenario.Attack{{Kind: scenario.KindDDoSSYN, Start: time.Minute, Duration: 30 * time.Second, Rate: 100, Sources: 10, Port: 80}}}
	det := &nothing{}
	res, err := Run(context.Background(), cfg, func() ([]detect.Detector, error) { return []detect.Detector{det}, nil }, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records == 0 || uint64(det.n) != res.Records {
		t.Fatalf("records %d, detector saw %d", res.Records, det.n)
	}
	gen, _ := scenario.New(cfg)
	real := map[string]bool{}
	for _, l := range gen.Labels() {
		real[l.Addr.String()] = true
	}
	var victims int
	for _, m := range res.Misses {
		if m.Role == detect.RoleDDoSVictim {
			victims++
			if real[m.Address] {
				t.Errorf("victim reported under its real address %s, want its pseudonym", m.Address)
			}
		} else if !real[m.Address] {
			t.Errorf("external attacker %s is not a labelled address", m.Address)
		}
	}
	if victims != 1 {
		t.Errorf("%d ddos-victim misses, want 1 (mapped to its pseudonym)", victims)
	}
	if tot := Total(res.Scores...); tot.TP != 0 || tot.FN < 10 || tot.Recall != 0 {
		t.Errorf("total %+v", tot)
	}
}
