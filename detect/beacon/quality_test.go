package beacon

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

// timed wraps the detector to measure time to detect on the
// generator's clock: the latest record start seen when a finding is
// emitted.
type timed struct {
	*Detector
	now   int64
	first map[string]int64
}

func (d *timed) Observe(recs []flow.Record, wm int64, emit detect.Emit) {
	for i := range recs {
		d.now = max(d.now, recs[i].Start)
	}
	d.Detector.Observe(recs, wm, func(f detect.Finding) {
		if _, ok := d.first[f.Addr.String()]; !ok {
			d.first[f.Addr.String()] = d.now
		}
		emit(f)
	})
}

var lastTimed *timed

func build() ([]detect.Detector, error) {
	d, err := New(DefaultConfig())
	if err != nil {
		return nil, err
	}
	lastTimed = &timed{Detector: d, first: map[string]int64{}}
	return []detect.Detector{lastTimed}, nil
}

func run(t *testing.T, name string) *eval.Result {
	t.Helper()
	gate.Quality(t)
	res, err := eval.Run(context.Background(), eval.Scenario(t, name), build, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Scores {
		if s.Role == detect.RoleC2 {
			t.Logf("%s: %s", name, s)
		}
	}
	st := res.Stats[Name]
	t.Logf("%s: %d records in %v; keys %d (peak %d), %.0f bytes/key, evictions %d, late %d",
		name, res.Records, res.Wall.Round(time.Millisecond), st.Keys, st.PeakKeys, st.BytesPerKey(), st.Evictions, st.Late)
	for _, f := range res.False {
		if f.Role != detect.RoleC2 {
			continue
		}
		t.Logf("false positive: %s %s score %.3f", f.Address, f.Role, f.Score)
	}
	for _, m := range res.Misses {
		if m.Role != detect.RoleC2 {
			continue
		}
		t.Logf("miss: %s %s attack %d", m.Address, m.Role, m.Attack)
	}
	if bpk := st.BytesPerKey(); bpk > 512 {
		t.Errorf("%s: %.0f bytes per key, above 512", name, bpk)
	}
	return res
}

func score(res *eval.Result, role detect.Role) (eval.Score, bool) {
	for _, s := range res.Scores {
		if s.Role == role {
			return s, true
		}
	}
	return eval.Score{}, false
}

// TestQualityBeacons: every C2 of the beacons scenario is found within 10
// beacon intervals of its first beacon, recall ≥ 0.95, precision ≥ 0.99.
func TestQualityBeacons(t *testing.T) {
	cfg := eval.Scenario(t, "beacons")
	res := run(t, "beacons")
	s, ok := score(res, detect.RoleC2)
	if !ok {
		t.Fatal("no c2 score")
	}
	if s.Recall < 0.95 || s.Precision < 0.99 {
		t.Errorf("c2: recall %.4f precision %.4f, want ≥ 0.95 and ≥ 0.99", s.Recall, s.Precision)
	}
	// Latency per C2, on the generator's clock, against its own interval.
	gen, err := scenario.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range gen.Labels() {
		if l.Role != scenario.RoleC2 {
			continue
		}
		ivl := cfg.Attacks[l.Attack].Interval
		at, ok := lastTimed.first[flow.AddrFromNetip(l.Addr.Netip()).String()]
		if !ok {
			continue // a miss, counted above
		}
		lat := time.Duration(at-l.First.UnixMilli()) * time.Millisecond
		t.Logf("c2 %s (attack %d, every %v): found after %v = %.1f intervals", l.Addr, l.Attack, ivl, lat, float64(lat)/float64(ivl))
		if lat > 10*ivl {
			t.Errorf("c2 %s: found after %v, above 10 intervals (%v)", l.Addr, lat, 10*ivl)
		}
	}
}

// TestQualityBackground: no C2 in the background (hard negatives: NTP,
// telemetry and update jobs to servers shared by hundreds of hosts) nor
// in any other scenario of the suite.
func TestQualityBackground(t *testing.T) {
	for _, name := range []string{"background", "scans", "bruteforce", "ddos"} {
		t.Run(name, func(t *testing.T) {
			res := run(t, name)
			if s, ok := score(res, detect.RoleC2); ok && s.FP > 0 {
				t.Errorf("%s: %d false c2 findings", name, s.FP)
			}
		})
	}
}
