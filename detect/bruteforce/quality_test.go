package bruteforce

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/detect/eval/gate"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
)

// probe wraps the detector to measure detection latency against the
// stream's position (the latest record start seen): eval's event latency
// is measured against the latest record end, which a long flow in a
// start-ordered scenario pushes minutes ahead of the stream.
type probe struct {
	*Detector
	at    int64
	found map[flow.Addr]int64
}

func (p *probe) Observe(recs []flow.Record, wm int64, emit detect.Emit) {
	for i := range recs {
		p.at = max(p.at, recs[i].Start)
	}
	p.Detector.Observe(recs, wm, func(f detect.Finding) {
		if _, ok := p.found[f.Addr]; !ok {
			p.found[f.Addr] = p.at
		}
		emit(f)
	})
}

// latencies returns, per labelled brute forcer, the stream time from its
// first record to its first finding (-1: never found).
func (p *probe) latencies(t *testing.T, cfg scenario.Config) []latency {
	t.Helper()
	gen, err := scenario.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []latency
	for _, l := range gen.Labels() {
		if l.Role != scenario.RoleBruteforce {
			continue
		}
		x := latency{name: fmt.Sprintf("attack %d %s", l.Attack, l.Addr), attack: l.Attack, lat: -1}
		if at, ok := p.found[l.Addr]; ok {
			x.lat = time.Duration(at-l.First.UnixMilli()) * time.Millisecond
		}
		out = append(out, x)
	}
	return out
}

type latency struct {
	name   string
	attack int
	lat    time.Duration
}

func runQuality(t *testing.T, cfg scenario.Config) (*eval.Result, *probe) {
	t.Helper()
	gate.Quality(t)
	var p *probe
	res, err := eval.Run(context.Background(), cfg, func() ([]detect.Detector, error) {
		d, err := New(DefaultConfig())
		if err != nil {
			return nil, err
		}
		p = &probe{Detector: d, found: map[flow.Addr]int64{}}
		return []detect.Detector{p}, nil
	}, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stats[Name]
	t.Logf("%s: %d records, stats %+v, %.0f bytes/key", cfg.Name, res.Records, st, st.BytesPerKey())
	if st.Keys > 0 && st.BytesPerKey() > 512 {
		t.Errorf("%.0f bytes per key, want at most 512", st.BytesPerKey())
	}
	return res, p
}

func role(res *eval.Result, r detect.Role) eval.Score {
	for _, s := range res.Scores {
		if s.Role == r {
			return s
		}
	}
	return eval.Score{Role: r, Precision: 1, Recall: 1}
}

// TestQualityBruteforce: every brute forcer found, fast ones within a
// minute, slow ones within their attack, no false positive.
func TestQualityBruteforce(t *testing.T) {
	cfg := eval.Scenario(t, "bruteforce")
	res, p := runQuality(t, cfg)
	s := role(res, detect.RoleBruteforce)
	t.Log(s)
	for _, m := range res.Misses {
		t.Logf("miss %+v", m)
	}
	for _, f := range res.False {
		t.Logf("false positive %+v", f)
	}
	if s.Recall < 0.95 || s.Precision < 0.99 {
		t.Errorf("bruteforce: precision %.4f recall %.4f, want ≥ 0.99 and ≥ 0.95", s.Precision, s.Recall)
	}
	// Latency: the fast attacker within a minute; a slow one once it has
	// made slow_attempts at its own rate (sources share an attack's rate),
	// with 50 % slack for the generator's jitter.
	def := DefaultConfig()
	for _, x := range p.latencies(t, cfg) {
		t.Logf("%s: found after %v of stream time", x.name, x.lat)
		at := cfg.Attacks[x.attack]
		perSource := at.Rate / float64(max(at.Sources, 1))
		limit := time.Duration(1.5 * float64(def.SlowAttempts) / perSource * float64(time.Second))
		if perSource*60 >= 2*float64(def.FastAttempts) {
			limit = time.Minute // fast: within one bucket
		}
		if x.lat < 0 || x.lat > limit {
			t.Errorf("%s: latency %v, want within %v", x.name, x.lat, limit)
		}
	}
	if len(res.False) > 0 {
		t.Errorf("%d false positives", len(res.False))
	}
}

// TestQualityBruteforceFast: the fast SSH attacker is found within one
// bucket of its first attempt.
func TestQualityBruteforceFast(t *testing.T) {
	cfg := eval.Scenario(t, "bruteforce")
	cfg.Attacks = cfg.Attacks[:1]
	cfg.Duration = 20 * time.Minute
	res, p := runQuality(t, cfg)
	s := role(res, detect.RoleBruteforce)
	t.Log(s)
	if s.TP != 1 || s.FP != 0 {
		t.Errorf("ssh at 5/s: tp %d fp %d, want 1 and 0", s.TP, s.FP)
	}
	for _, x := range p.latencies(t, cfg) {
		t.Logf("%s: found after %v of stream time", x.name, x.lat)
		if x.lat < 0 || x.lat > time.Minute {
			t.Errorf("%s: latency %v, want within one minute", x.name, x.lat)
		}
	}
}

// TestQualityNoFalsePositives: the background and the scanners make no
// brute force suspect.
func TestQualityNoFalsePositives(t *testing.T) {
	for _, name := range []string{"background", "scans", "ddos", "beacons"} {
		t.Run(name, func(t *testing.T) {
			res, _ := runQuality(t, eval.Scenario(t, name))
			for _, f := range res.False {
				if f.Role == detect.RoleBruteforce {
					t.Errorf("false positive %+v", f)
				}
			}
			if s := role(res, detect.RoleBruteforce); s.Precision < 0.99 {
				t.Errorf("precision %.4f", s.Precision)
			}
		})
	}
}
