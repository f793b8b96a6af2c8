package scan

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

// timed wraps the detector to note, for each real address it reports,
// the latest record start it had seen when it first reported it: the
// event time of detection, per scan kind.
type timed struct {
	*Detector
	now   int64
	first map[flow.Addr]int64
}

func (w *timed) Observe(recs []flow.Record, wm int64, emit detect.Emit) {
	for i := range recs {
		w.now = max(w.now, recs[i].Start)
	}
	w.Detector.Observe(recs, wm, func(f detect.Finding) {
		if _, ok := w.first[f.Addr]; !ok && !f.Pseudo {
			w.first[f.Addr] = w.now
		}
		emit(f)
	})
}

func runQuality(t *testing.T, name string) (*eval.Result, *timed) {
	t.Helper()
	gate.Quality(t)
	var w *timed
	build := func() ([]detect.Detector, error) {
		d, err := New(DefaultConfig())
		if err != nil {
			return nil, err
		}
		w = &timed{Detector: d, first: map[flow.Addr]int64{}}
		return []detect.Detector{w}, nil
	}
	res, err := eval.Run(context.Background(), eval.Scenario(t, name), build, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Scores {
		if s.Role == detect.RoleScanner {
			t.Logf("%s: %v", name, s)
		}
	}
	st := res.Stats[Name]
	t.Logf("%s: %d records, keys %d (peak %d), %.0f bytes/key, evictions %d, late %d",
		name, res.Records, st.Keys, st.PeakKeys, st.BytesPerKey(), st.Evictions, st.Late)
	for _, f := range res.False {
		t.Logf("false positive: %s %s score %.2f", f.Address, f.Role, f.Score)
	}
	for _, m := range res.Misses {
		if m.Role != detect.RoleScanner {
			continue
		}
		t.Logf("miss: %s %s attack %d (%s)", m.Address, m.Role, m.Attack, m.Kind)
	}
	return res, w
}

func score(res *eval.Result, role detect.Role) (eval.Score, bool) {
	for _, s := range res.Scores {
		if s.Role == role {
			return s, true
		}
	}
	return eval.Score{Role: role}, false
}

// TestQualityScans runs the "scans" scenario: recall and precision for
// scanners, and fast scans found within one window.
func TestQualityScans(t *testing.T) {
	res, w := runQuality(t, "scans")
	s, ok := score(res, detect.RoleScanner)
	if !ok || s.TP == 0 {
		t.Fatalf("no scanner found")
	}
	if s.Recall < 0.95 {
		t.Errorf("scanner recall %.4f < 0.95", s.Recall)
	}
	if s.Precision < 0.99 {
		t.Errorf("scanner precision %.4f < 0.99", s.Precision)
	}
	// Event-time latency per scanner: fast scans within one window.
	g, err := scenario.New(eval.Scenario(t, "scans"))
	if err != nil {
		t.Fatal(err)
	}
	worst := map[string]time.Duration{}
	for _, l := range g.Labels() {
		if l.Role != scenario.RoleScanner {
			continue
		}
		at, ok := w.first[l.Addr]
		if !ok {
			continue
		}
		lat := time.Duration(at-l.First.UnixMilli()) * time.Millisecond
		worst[l.Kind] = max(worst[l.Kind], lat)
	}
	for kind, lat := range worst {
		t.Logf("latency %-18s max %v", kind, lat)
		if kind != scenario.KindScanSlow && lat > DefaultConfig().Window {
			t.Errorf("%s found after %v, more than one window", kind, lat)
		}
	}
	if st := res.Stats[Name]; st.BytesPerKey() > 512 {
		t.Errorf("%.0f bytes per key > 512", st.BytesPerKey())
	}
}

// TestQualityNoFalsePositives runs the scenarios without scanners: no
// source may be called a scanner (background clients with failed
// connections, DDoS bots flooding one port, brute forcers, beacons).
func TestQualityNoFalsePositives(t *testing.T) {
	for _, name := range []string{"background", "ddos", "bruteforce", "beacons"} {
		t.Run(name, func(t *testing.T) {
			res, _ := runQuality(t, name)
			if s, ok := score(res, detect.RoleScanner); ok && s.FP > 0 {
				t.Errorf("%d false scanners", s.FP)
			}
		})
	}
}
