package all

import (
	"context"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/eval"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
)

// benchMix is a realistic mix: a busy background (2000 client sessions/s
// over 5000 clients, periodic jobs) with every kind of attack running at
// once.
func benchMix() scenario.Config {
	m := time.Minute
	return scenario.Config{Name: "bench-mix", Seed: 42, Duration: 4 * m,
		Background: scenario.BackgroundConfig{Clients: 5000, Servers: 8000, FlowsPerSecond: 2000, IPv6: 0.2},
		Attacks: []scenario.Attack{
			{Kind: scenario.KindScanHorizontal, Rate: 200, Targets: 8192, Port: 22},
			{Kind: scenario.KindScanVertical, Rate: 50, Targets: 4000},
			{Kind: scenario.KindBruteforce, Rate: 5, Service: "ssh"},
			{Kind: scenario.KindDDoSSYN, Start: m, Duration: m, Rate: 3000, Sources: 1000, Port: 443},
			{Kind: scenario.KindReflection, Start: 2 * m, Duration: m, Rate: 500, Sources: 200, Service: "dns"},
			{Kind: scenario.KindBeacon, Interval: 30 * time.Second, Sources: 20, Port: 443},
		}}
}

// screened generates cfg and screens it once (ephemeral key), so the
// benchmark measures detection alone.
func screened(tb testing.TB, cfg scenario.Config) []flow.Record {
	tb.Helper()
	recs, err := eval.Screened(context.Background(), cfg, nil, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return recs
}

// BenchmarkDetect measures the whole detection stage, every detector on,
// on one core: records/s is the figure (the goal is 2 M records/s). The
// records are replayed with their times shifted by the mix's duration on
// every pass, so event time keeps moving forward.
func BenchmarkDetect(b *testing.B) {
	cfg := benchMix()
	recs := screened(b, cfg)
	dets, err := DefaultConfig().Build()
	if err != nil {
		b.Fatal(err)
	}
	eng, err := detect.New(detect.DefaultConfig(), dets, detect.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]flow.Record, flow.DefaultBatchSize)
	span := cfg.Duration.Milliseconds()
	b.ResetTimer()
	var done int
	for pos, pass := 0, int64(0); done < b.N; {
		n := min(len(batch), len(recs)-pos, b.N-done)
		copy(batch, recs[pos:pos+n])
		if pass > 0 {
			shift := pass * span
			for i := range batch[:n] {
				batch[i].Start += shift
				batch[i].End += shift
			}
		}
		eng.Observe(batch[:n])
		done += n
		if pos += n; pos == len(recs) {
			pos, pass = 0, pass+1
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(eng.Book().Len()), "suspects")
}
