package reflection

import (
	"context"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/detect/eval/gate"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
)

// clocked wraps the detector to note when each address is first found,
// in the stream's own event time (the latest record start seen): eval's
// latency uses the latest record end, which long flows push minutes
// ahead of the stream.
type clocked struct {
	*Detector
	now   int64
	first map[detect.Key]map[detect.Role]int64
}

func (c *clocked) Observe(recs []flow.Record, wm int64, emit detect.Emit) {
	for i := range recs {
		c.now = max(c.now, recs[i].Start)
	}
	c.Detector.Observe(recs, wm, c.wrap(emit))
}

func (c *clocked) Advance(wm int64, emit detect.Emit) { c.Detector.Advance(wm, c.wrap(emit)) }

func (c *clocked) wrap(emit detect.Emit) detect.Emit {
	return func(f detect.Finding) {
		k := detect.Key{Addr: f.Addr, Pseudo: f.Pseudo, KeyEpoch: f.KeyEpoch}
		m := c.first[k]
		if m == nil {
			m = map[detect.Role]int64{}
			c.first[k] = m
		}
		if _, ok := m[f.Role]; !ok {
			m[f.Role] = c.now
		}
		emit(f)
	}
}

var clk *clocked

func run(t *testing.T, cfg scenario.Config) *eval.Result {
	t.Helper()
	gate.Quality(t)
	clk = &clocked{first: map[detect.Key]map[detect.Role]int64{}}
	opt := eval.Options{Engine: detect.DefaultConfig()}
	res, err := eval.Run(context.Background(), cfg, func() ([]detect.Detector, error) {
		d, err := New(DefaultConfig())
		clk.Detector = d
		return []detect.Detector{clk}, err
	}, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Scores {
		t.Logf("%s: %v", cfg.Name, s)
	}
	st := res.Stats[Name]
	t.Logf("%s: %d records, stats %+v, %.0f bytes/key", cfg.Name, res.Records, st, st.BytesPerKey())
	if st.Keys > 0 && st.BytesPerKey() > 512 {
		t.Errorf("%.0f bytes per key, budget 512", st.BytesPerKey())
	}
	return res
}

// TestQualityDDoS runs the "ddos" scenario: the five reflection attacks
// must be found (reflectors and victims), the direct floods must not be
// taken for reflection.
func TestQualityDDoS(t *testing.T) {
	cfg := eval.Scenario(t, "ddos")
	res := run(t, cfg)
	// The scenario's flood victims are other detectors' business: recall
	// is counted over the reflection attacks' labels only.
	reflAttack := map[int]bool{}
	for i, a := range cfg.Attacks {
		reflAttack[i] = a.Kind == scenario.KindReflection
	}
	gen, err := scenario.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[detect.Role]int{}
	for _, l := range gen.Labels() {
		if reflAttack[l.Attack] {
			switch l.Role {
			case scenario.RoleReflector:
				want[detect.RoleReflector]++
			case scenario.RoleDDoSVictim:
				want[detect.RoleDDoSVictim]++
			}
		}
	}
	missed := map[detect.Role]int{}
	for _, m := range res.Misses {
		if reflAttack[m.Attack] {
			missed[m.Role]++
			t.Logf("missed %s %s (attack %d, %s)", m.Role, m.Address, m.Attack, m.Kind)
		}
	}
	for _, f := range res.False {
		t.Logf("false positive %s %s score %.2f", f.Role, f.Address, f.Score)
	}
	for _, role := range []detect.Role{detect.RoleReflector, detect.RoleDDoSVictim} {
		var sc eval.Score
		for _, s := range res.Scores {
			if s.Role == role {
				sc = s
			}
		}
		if want[role] == 0 {
			t.Fatalf("no %s labels in the reflection attacks", role)
		}
		recall := float64(want[role]-missed[role]) / float64(want[role])
		t.Logf("%s: reflection labels %d, missed %d, recall %.4f, precision %.4f, latency median %v max %v",
			role, want[role], missed[role], recall, sc.Precision, sc.EventMedian, sc.EventMax)
		if recall < 0.95 {
			t.Errorf("%s recall %.4f < 0.95", role, recall)
		}
		if sc.Precision < 0.99 {
			t.Errorf("%s precision %.4f < 0.99", role, sc.Precision)
		}
	}
	// Latency in the stream's event time: reflectors from their first
	// response in the attack, each victim from its attack's start.
	var worst, sum time.Duration
	n := 0
	for _, l := range gen.Labels() {
		if !reflAttack[l.Attack] || l.Role != scenario.RoleReflector {
			continue
		}
		at, ok := clk.first[detect.Key{Addr: l.Addr}][detect.RoleReflector]
		if !ok {
			continue
		}
		lat := time.Duration(at-l.First.UnixMilli()) * time.Millisecond
		worst, sum, n = max(worst, lat), sum+lat, n+1
	}
	if n > 0 {
		t.Logf("reflector latency (stream time): mean %v max %v over %d", sum/time.Duration(n), worst, n)
	}
	if worst > DefaultConfig().Window {
		t.Errorf("reflector latency %v beyond one window", worst)
	}
	for i, a := range cfg.Attacks {
		if a.Kind != scenario.KindReflection {
			continue
		}
		start := cfg.Start.Add(a.Start).UnixMilli()
		if cfg.Start.IsZero() {
			start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(a.Start).UnixMilli()
		}
		found := int64(-1)
		for _, m := range clk.first {
			if at, ok := m[detect.RoleDDoSVictim]; ok && at >= start && (found < 0 || at < found) {
				found = at
			}
		}
		lat := time.Duration(found-start) * time.Millisecond
		t.Logf("attack %d (%s): victim found after %v (stream time)", i, a.Service, lat)
		if found < 0 || lat > DefaultConfig().Window {
			t.Errorf("attack %d (%s): victim latency %v beyond one window", i, a.Service, lat)
		}
	}
}

// TestQualityBackground: no finding at all on the other scenarios
// (internal clients get DNS and NTP answers all the time; scans, brute
// force and beacons are not reflection).
func TestQualityBackground(t *testing.T) {
	for _, name := range []string{"background", "scans", "bruteforce", "beacons"} {
		t.Run(name, func(t *testing.T) {
			res := run(t, eval.Scenario(t, name))
			for _, f := range res.False {
				if f.Role == detect.RoleReflector || f.Role == detect.RoleDDoSVictim {
					t.Errorf("false positive %s %s score %.2f", f.Role, f.Address, f.Score)
				}
			}
			for _, s := range res.Suspects {
				for _, e := range s.Evidence {
					if e.Detector == Name {
						t.Errorf("finding on %s: %s %s: %s", name, s.Key, e.Role, e.Reason)
					}
				}
			}
		})
	}
}
