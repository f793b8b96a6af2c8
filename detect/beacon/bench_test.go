package beacon

import (
	"context"
	"math"
	"sync"
	"syscall"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/flow"
)

// beaconRecs and mixRecs are the screened records of the beacons scenario (its
// first 2 M) and of eval.BenchMix (its first 4 M), generated once.
var (
	beaconRecs = sync.OnceValues(func() ([]flow.Record, error) {
		cfg, err := eval.Lookup("beacons")
		if err != nil {
			return nil, err
		}
		return eval.Screened(context.Background(), cfg, nil, 2_000_000)
	})
	mixRecs = sync.OnceValues(func() ([]flow.Record, error) {
		return eval.Screened(context.Background(), eval.BenchMix(), nil, 4_000_000)
	})
)

// BenchmarkObserve runs the detector over screened records of the
// beacons scenario (its first 2 M), in batches of 1024, with the engine's
// watermark (latest start minus a minute); ns/op is per record.
func BenchmarkObserve(b *testing.B) {
	recs, err := beaconRecs()
	if err != nil {
		b.Fatal(err)
	}
	benchObserve(b, recs)
}

// BenchmarkObserveMix runs the detector alone over the records of the
// whole-stage benchmark's mix (detect/all BenchmarkDetect): a busy
// background with every kind of attack at once, replayed shifted in time.
func BenchmarkObserveMix(b *testing.B) {
	recs, err := mixRecs()
	if err != nil {
		b.Fatal(err)
	}
	benchObserve(b, recs)
}

func benchObserve(b *testing.B, recs []flow.Record) {
	d, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	emit := func(detect.Finding) {}
	span := recs[len(recs)-1].Start - recs[0].Start + 60_000
	batch := make([]flow.Record, 1024)
	var shift int64
	var maxStart, wm int64 = math.MinInt64, math.MinInt64
	feed := func(n int) {
		for done := 0; done < n; {
			for i := 0; i < len(recs) && done < n; i += len(batch) {
				k := copy(batch, recs[i:min(i+len(batch), len(recs), i+n-done)])
				for j := range batch[:k] {
					batch[j].Start += shift
					batch[j].End += shift
					maxStart = max(maxStart, batch[j].Start)
				}
				d.Observe(batch[:k], wm, emit)
				if maxStart-60_000 > wm {
					wm = maxStart - 60_000
					d.Advance(wm, emit)
				}
				done += k
			}
			shift += span
		}
	}
	feed(len(recs)) // warm up: the tables reach their steady size
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	feed(b.N)
	b.StopTimer()
	// CPU time, not wall time: on a loaded machine it is the figure that
	// means something.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/rec")
	st := d.Stats()
	b.ReportMetric(st.BytesPerKey(), "B/key")
}

// cpuTime returns the process's user and system CPU time in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkScore measures the scoring of one full series (32 intervals,
// 33 sizes).
func BenchmarkScore(b *testing.B) {
	cfg := DefaultConfig()
	s := newScorer(cfg.Jitter, cfg.Outliers, cfg.SizeWeight, 5000, 3600_000)
	var d [ringLen]uint32
	var sz [ringLen + 1]uint32
	x := uint32(12345)
	for i := range d {
		x = x*1664525 + 1013904223
		d[i] = 30_000 + x%60_000
		sz[i] = 500 + x%3000
	}
	b.ReportAllocs()
	for b.Loop() {
		s.score(d[:], sz[:])
	}
}
