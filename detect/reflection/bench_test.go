package reflection

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
	"github.com/acd-org/acd/minimize"
)

// screen returns the records of scenario name from minute fromMin to
// toMin after the real screening stage: the detector's realistic input.
func screen(name string, fromMin, toMin int) ([]flow.Record, error) {
	var cfg scenario.Config
	for _, c := range scenario.DefaultSuite() {
		if c.Name == name {
			cfg = c
		}
	}
	gen, err := scenario.New(cfg)
	if err != nil {
		return nil, err
	}
	var out []flow.Record
	next := flow.SinkFunc(func(b *flow.Batch) {
		out = append(out, b.Records...)
		b.Release()
	})
	scfg := minimize.DefaultConfig()
	for _, p := range scenario.InternalPrefixes() {
		scfg.Domestic.Add = append(scfg.Domestic.Add, p.String())
	}
	scr, err := minimize.New(scfg, minimize.Deps{Next: next, EphemeralKey: true})
	if err != nil {
		return nil, err
	}
	if err := scr.Start(context.Background()); err != nil {
		return nil, err
	}
	defer scr.Stop()
	from := gen.Config().Start.Add(time.Duration(fromMin) * time.Minute).UnixMilli()
	to := gen.Config().Start.Add(time.Duration(toMin) * time.Minute).UnixMilli()
	pool := flow.NewBatchPool(flow.DefaultBatchSize)
	for {
		b := pool.Get()
		b.Records = b.Records[:cap(b.Records)]
		k := gen.Next(b.Records, time.Time{})
		b.Records = b.Records[:k]
		if k == 0 || b.Records[0].Start >= to {
			b.Release()
			break
		}
		if b.Records[k-1].Start < from {
			b.Release()
			continue
		}
		scr.Consume(b)
	}
	return out, nil
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
