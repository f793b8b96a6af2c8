package beacon

import (
	"context"
	"math"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
)

// capture is a detector that keeps the screened records it sees.
type capture struct {
	recs []flow.Record
	max  int
}

func (c *capture) Name() string { return "capture" }
func (c *capture) Observe(recs []flow.Record, _ int64, _ detect.Emit) {
	if n := c.max - len(c.recs); n > 0 {
		c.recs = append(c.recs, recs[:min(n, len(recs))]...)
	}
}
func (c *capture) Advance(int64, detect.Emit) {}
func (c *capture) Flush(detect.Emit)          {}
func (c *capture) Stats() detect.Stats        { return detect.Stats{} }

var screened = sync.OnceValues(func() ([]flow.Record, error) {
	cfg := scenarioOf(nil, "beacons")
	c := &capture{max: 2_000_000}
	_, err := eval.Run(context.Background(), cfg, func() ([]detect.Detector, error) { return []detect.Detector{c}, nil }, eval.Options{})
	return c.recs, err
})

// BenchmarkObserve runs the detector over screened records of the
// beacons scenario (its first 2 M), in batches of 1024, with the engine's
// watermark (latest start minus a minute); ns/op is per record.
func BenchmarkObserve(b *testing.B) {
	recs, err := screened()
	if err != nil {
		b.Fatal(err)
	}
	benchObserve(b, recs)
}

// BenchmarkObserveMix runs the detector alone over the records of the
// whole-stage benchmark's mix (detect/all BenchmarkDetect): a busy
// background with every kind of attack at once, replayed shifted in time.
func BenchmarkObserveMix(b *testing.B) {
	recs, err := mixed()
	if err != nil {
		b.Fatal(err)
	}
	benchObserve(b, recs)
}

var mixed = sync.OnceValues(func() ([]flow.Record, error) {
	m := time.Minute
	cfg := scenario.Config{Name: "bench-mix", Seed: 42, Duration: 4 * m,
		Background: scenario.BackgroundConfig{Clients: 5000, Servers: 8000, FlowsPerSecond: 2000, IPv6: 0.2},
		Attacks: []scenario.Attack{
			{Kind: scenario.KindScanHorizontal, Rate: 200, Targets: 8192, Port: 22},
			{Kind: scenario.KindScanVertical, Rate: 50, Targets: 4000},
			{Kind: scenario.KindBruteforce, Rate: 5, Service: "ssh"},
			{Kind: scenario.KindDDoSSYN, Start: m, Duration: m, Rate: 3000, Sources: 1000, Port: 443},
			{Kind: scenario.KindReflection, Start: 2 * m, Duration: m, Rate: 500, Sources: 200, Service: "dns"},
			{Kind: scenario.KindBeacon, Interval: 30 * time.Second, Sources: 20, Port: 443},
		}}
	c := &capture{max: 4_000_000}
	_, err := eval.Run(context.Background(), cfg, func() ([]detect.Detector, error) { return []detect.Detector{c}, nil }, eval.Options{})
	return c.recs, err
})

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
