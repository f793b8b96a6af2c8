package ddos

import (
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
)

// benchMix is a realistic mix: a busy background (2000 client sessions/s
// over 5000 clients) with a SYN flood and a DNS reflection running.
func benchMix() scenario.Config {
	m := time.Minute
	return scenario.Config{Name: "bench-mix", Seed: 42, Duration: 4 * m,
		Background: scenario.BackgroundConfig{Clients: 5000, Servers: 8000, FlowsPerSecond: 2000, IPv6: 0.2},
		Attacks: []scenario.Attack{
			{Kind: scenario.KindScanHorizontal, Rate: 200, Targets: 8192, Port: 22},
			{Kind: scenario.KindBruteforce, Rate: 5, Service: "ssh"},
			{Kind: scenario.KindDDoSSYN, Start: m, Duration: m, Rate: 3000, Sources: 1000, Port: 443},
			{Kind: scenario.KindDDoSUDP, Start: 2 * m, Duration: m, Rate: 500, Sources: 100},
			{Kind: scenario.KindReflection, Start: 3 * m, Duration: m, Rate: 500, Sources: 200, Service: "dns"},
		}}
}

// BenchmarkObserve measures the detector alone on screened records, in
// batches of 1024, with the watermark moving as the engine moves it (the
// latest record start less a minute); the records are replayed with their
// times shifted on every pass.
func BenchmarkObserve(b *testing.B) {
	cfg := benchMix()
	recs := eval.ScreenedFor(b, cfg, nil, 0)
	d, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC() // the screening's garbage is not the detector's
	findings := 0
	emit := func(detect.Finding) { findings++ }
	batch := make([]flow.Record, flow.DefaultBatchSize)
	span := cfg.Duration.Milliseconds()
	maxStart := int64(math.MinInt64)
	b.ReportAllocs()
	b.ResetTimer()
	var done int
	for pos, pass := 0, int64(0); done < b.N; {
		n := min(len(batch), len(recs)-pos, b.N-done)
		copy(batch, recs[pos:pos+n])
		shift := pass * span
		for i := range batch[:n] {
			batch[i].Start += shift
			batch[i].End += shift
			maxStart = max(maxStart, batch[i].Start)
		}
		d.Observe(batch[:n], maxStart-60_000, emit)
		d.Advance(maxStart-60_000, emit)
		done += n
		if pos += n; pos == len(recs) {
			pos, pass = 0, pass+1
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/record")
	st := d.Stats()
	b.ReportMetric(st.BytesPerKey(), "bytes/key")
	b.ReportMetric(float64(st.Keys), "keys")
	b.ReportMetric(float64(findings), "findings")
}
