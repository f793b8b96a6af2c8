package reflection

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/flow"
)

// screen returns the records of scenario name from minute fromMin to
// toMin after the real screening stage: the detector's realistic input.
func screen(name string, fromMin, toMin int) ([]flow.Record, error) {
	cfg, err := eval.Lookup(name)
	if err != nil {
		return nil, err
	}
	begin := cfg.Start
	if begin.IsZero() {
		begin = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) // the generator's default start
	}
	from := begin.Add(time.Duration(fromMin) * time.Minute).UnixMilli()
	to := begin.Add(time.Duration(toMin) * time.Minute).UnixMilli()
	return eval.Screened(context.Background(), cfg, func(r *flow.Record) bool { return r.Start >= from && r.Start < to }, 0)
}

var (
	// Two minutes of background: what a detector sees nearly all the
	// time. Slices are short enough to stay in the last-level cache, as
	// a batch does in the engine (screening just wrote it).
	background = sync.OnceValues(func() ([]flow.Record, error) { return screen("background", 10, 12) })
	// Two minutes of the ddos scenario from minute 40: the dns
	// reflection's onset over the background (a third attack records).
	attacks = sync.OnceValues(func() ([]flow.Record, error) { return screen("ddos", 40, 42) })
)

// BenchmarkObserve feeds screened records in batches of 1024, the way
// the engine does (watermark = latest end - 10 min, Advance after each
// batch); ns/op is per record.
func BenchmarkObserve(b *testing.B) {
	b.Run("background", func(b *testing.B) { benchObserve(b, background, true) })
	b.Run("reflection", func(b *testing.B) { benchObserve(b, attacks, true) })
}

// BenchmarkTouch is BenchmarkObserve's loop without the detector: the
// cost of bringing the records in from memory, to subtract.
func BenchmarkTouch(b *testing.B) {
	b.Run("background", func(b *testing.B) { benchObserve(b, background, false) })
	b.Run("reflection", func(b *testing.B) { benchObserve(b, attacks, false) })
}

func benchObserve(b *testing.B, records func() ([]flow.Record, error), observe bool) {
	recs, err := records()
	if err != nil {
		b.Fatal(err)
	}
	if len(recs) == 0 {
		b.Fatal("no records")
	}
	span := recs[len(recs)-1].Start - recs[0].Start + time.Hour.Milliseconds()
	lateness := (10 * time.Minute).Milliseconds()
	d, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	findings := 0
	emit := func(detect.Finding) { findings++ }
	var maxEnd, shift int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		for off := 0; off < len(recs) && i < b.N; off += flow.DefaultBatchSize {
			batch := recs[off:min(off+flow.DefaultBatchSize, len(recs), off+b.N-i)]
			for j := range batch {
				maxEnd = max(maxEnd, batch[j].End)
			}
			if observe {
				d.Observe(batch, maxEnd-lateness, emit)
				d.Advance(maxEnd-lateness, emit)
			}
			i += len(batch)
		}
		// Another pass replays the records later in event time.
		b.StopTimer()
		for j := range recs {
			recs[j].Start += span
			recs[j].End += span
		}
		shift += span
		b.StartTimer()
	}
	b.StopTimer()
	for j := range recs {
		recs[j].Start -= shift
		recs[j].End -= shift
	}
	st := d.Stats()
	b.ReportMetric(float64(findings)/float64(b.N)*1e6, "findings/Mrec")
	b.ReportMetric(st.BytesPerKey(), "B/key")
}
