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
// watermark (latest end minus a minute); ns/op is per record.
func BenchmarkObserve(b *testing.B) {
	recs, err := screened()
	if err != nil {
		b.Fatal(err)
	}
	d, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	emit := func(detect.Finding) {}
	span := recs[len(recs)-1].Start - recs[0].Start + 60_000
	batch := make([]flow.Record, 1024)
	var shift int64
	var maxEnd, wm int64 = math.MinInt64, math.MinInt64
	feed := func(n int) {
		for done := 0; done < n; {
			for i := 0; i < len(recs) && done < n; i += len(batch) {
				k := copy(batch, recs[i:min(i+len(batch), len(recs), i+n-done)])
				for j := range batch[:k] {
					batch[j].Start += shift
					batch[j].End += shift
					maxEnd = max(maxEnd, batch[j].End)
				}
				d.Observe(batch[:k], wm, emit)
				if maxEnd-60_000 > wm {
					wm = maxEnd - 60_000
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
