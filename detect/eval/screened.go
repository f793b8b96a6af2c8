package eval

import (
	"context"
	"time"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
	"github.com/acd-org/acd/minimize"
)

// Screened generates scenario cfg and screens it once, the way Run does
// (its internal space domestic, an ephemeral key), and returns the
// screened records: the input of the detectors' benchmarks. keep (nil:
// every record) selects records before screening; max > 0 stops after
// about that many screened records.
func Screened(ctx context.Context, cfg scenario.Config, keep func(r *flow.Record) bool, max int) ([]flow.Record, error) {
	gen, err := scenario.New(cfg)
	if err != nil {
		return nil, err
	}
	var out []flow.Record
	sink := flow.SinkFunc(func(b *flow.Batch) {
		out = append(out, b.Records...)
		b.Release()
	})
	scfg := minimize.DefaultConfig()
	for _, p := range scenario.InternalPrefixes() {
		scfg.Domestic.Add = append(scfg.Domestic.Add, p.String())
	}
	screen, err := minimize.New(scfg, minimize.Deps{Next: sink, EphemeralKey: true})
	if err != nil {
		return nil, err
	}
	if err := screen.Start(ctx); err != nil {
		return nil, err
	}
	defer screen.Stop()
	buf := make([]flow.Record, flow.DefaultBatchSize)
	for max <= 0 || len(out) < max {
		n := gen.Next(buf, time.Time{})
		if n == 0 {
			break
		}
		b := &flow.Batch{Records: make([]flow.Record, 0, n)}
		for i := range buf[:n] {
			if keep == nil || keep(&buf[i]) {
				b.Records = append(b.Records, buf[i])
			}
		}
		screen.Consume(b)
	}
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out, nil
}
