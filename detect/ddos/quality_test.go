package ddos

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

// timed notes, per address and role, the detector's event time (the
// latest record start it has seen) at its first finding: the engine's
// event time runs ahead by the longest flow in a start-ordered scenario.
type timed struct {
	*Detector
	first    map[findingKey]int64
	maxStart int64
}

type findingKey struct {
	addr flow.Addr
	role detect.Role
}

func (d *timed) Observe(recs []flow.Record, wm int64, emit detect.Emit) {
	for i := range recs {
		d.maxStart = max(d.maxStart, recs[i].Start)
	}
	d.Detector.Observe(recs, wm, func(f detect.Finding) {
		k := findingKey{f.Addr, f.Role}
		if _, ok := d.first[k]; !ok {
			d.first[k] = d.maxStart
		}
		emit(f)
	})
}

func runQuality(t *testing.T, name string) *eval.Result {
	res, _ := runTimed(t, name)
	return res
}

func runTimed(t *testing.T, name string) (*eval.Result, *timed) {
	t.Helper()
	gate.Quality(t)
	var td *timed
	res, err := eval.Run(context.Background(), eval.Scenario(t, name), func() ([]detect.Detector, error) {
		d, err := New(DefaultConfig())
		if err != nil {
			return nil, err
		}
		td = &timed{Detector: d, first: map[findingKey]int64{}}
		return []detect.Detector{td}, nil
	}, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Scores {
		t.Logf("%s: %v", name, s)
	}
	st := res.Stats[Name]
	t.Logf("%s: %d records in %v; stats %+v, %.0f bytes/key", name, res.Records, res.Wall.Round(time.Millisecond), st, st.BytesPerKey())
	for i, m := range mine(res.Misses) {
		if i == 10 {
			t.Logf("... %d misses", len(mine(res.Misses)))
			break
		}
		t.Logf("miss %+v", m)
	}
	for i, f := range mine(res.False) {
		if i == 10 {
			t.Logf("... %d false positives", len(mine(res.False)))
			break
		}
		t.Logf("false positive %+v", f)
	}
	if st.BytesPerKey() > 512 {
		t.Errorf("%s: %.0f bytes per key, want at most 512", name, st.BytesPerKey())
	}
	return res, td
}

// TestQualityDDoS: every flood of the "ddos" scenario is found, its victim
// and bots named (reflectors are not ddos sources), within a window.
func TestQualityDDoS(t *testing.T) {
	res, td := runTimed(t, "ddos")
	cfg := eval.Scenario(t, "ddos")
	gen, err := scenario.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Latency in record time: bots from their first flood record, victims
	// from their attack's start.
	var worst, sum time.Duration
	n := 0
	for _, l := range gen.Labels() {
		var from int64
		var k findingKey
		switch l.Role {
		case scenario.RoleDDoSSource:
			k, from = findingKey{l.Addr, detect.RoleDDoSSource}, l.First.UnixMilli()
		default:
			continue
		}
		at, ok := td.first[k]
		if !ok {
			continue
		}
		lat := time.Duration(at-from) * time.Millisecond
		worst, sum, n = max(worst, lat), sum+lat, n+1
	}
	var vworst time.Duration
	for k, at := range td.first {
		if k.role != detect.RoleDDoSVictim {
			continue
		}
		// The attack that was on when the victim was found.
		var from int64
		for _, a := range cfg.Attacks {
			if s := gen.Config().Start.Add(a.Start).UnixMilli(); s <= at {
				from = s
			}
		}
		vworst = max(vworst, time.Duration(at-from)*time.Millisecond)
	}
	if n > 0 {
		t.Logf("record-time latency: sources mean %v max %v (%d); victims max %v", sum/time.Duration(n), worst, n, vworst)
	}
	if worst > time.Minute || vworst > time.Minute {
		t.Errorf("latency beyond one window: sources %v, victims %v", worst, vworst)
	}
	want := map[detect.Role]bool{detect.RoleDDoSVictim: true, detect.RoleDDoSSource: true}
	for _, s := range res.Scores {
		if s.Role == detect.RoleReflector {
			continue // another detector's role: not scored here
		}
		if !want[s.Role] {
			if s.FP > 0 {
				t.Errorf("%s: %d findings of a role this detector does not emit", s.Role, s.FP)
			}
			continue
		}
		delete(want, s.Role)
		if s.Precision < 0.99 || s.Recall < 0.95 {
			t.Errorf("%s: precision %.4f recall %.4f, want ≥ 0.99 and ≥ 0.95", s.Role, s.Precision, s.Recall)
		}
	}
	for r := range want {
		t.Errorf("%s: no score", r)
	}
}

// TestQualityBackground: no DDoS anywhere in the other scenarios (busy
// servers, DNS/NTP responses, bulk downloads, scans, brute force,
// beacons).
func TestQualityBackground(t *testing.T) {
	for _, name := range []string{"background", "scans", "bruteforce", "beacons"} {
		t.Run(name, func(t *testing.T) {
			res := runQuality(t, name)
			for _, s := range res.Scores {
				if (s.Role == detect.RoleDDoSVictim || s.Role == detect.RoleDDoSSource) && s.FP > 0 {
					t.Errorf("%s: %d false positives", s.Role, s.FP)
				}
			}
		})
	}
}

// mine keeps the items of this detector's roles.
func mine(items []eval.Item) []eval.Item {
	var out []eval.Item
	for _, it := range items {
		if it.Role == detect.RoleDDoSVictim || it.Role == detect.RoleDDoSSource {
			out = append(out, it)
		}
	}
	return out
}
