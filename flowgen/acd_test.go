package flowgen

import (
	"slices"
	"testing"
	"time"

	"github.com/acd-org/acd/collect/netflow"
	"github.com/acd-org/acd/collect/sflow"
	"github.com/acd-org/acd/flow"
	gocmp "github.com/google/go-cmp/cmp"
)

// eventCounter sums decoder events.
type eventCounter [flow.NumEvents]int

func (c *eventCounter) Observe(_ flow.Exporter, _ flow.Format, ev flow.Event, delta int) {
	c[ev] += delta
}

// TestRoundTripACD decodes the encoders' output with acd's own decoders:
// same records, no decode error and no sequence loss reported, including
// across a ring replay (Patch).
func TestRoundTripACD(t *testing.T) {
	exp := flow.Exporter{Addr: flow.AddrFrom4([4]byte{127, 0, 0, 1}), Port: 50000}
	for _, f := range formats {
		for _, cfg := range []EncoderConfig{{}, {Sampling: 64, ExporterID: 9, VarLen: true, MaxRecords: 7}} {
			t.Run(f.String(), func(t *testing.T) {
				var events eventCounter
				var dec flow.Decoder
				if f == flow.FormatSFlow {
					sc := sflow.DefaultConfig()
					sc.ByteCount = sflow.BytesIP
					dec = sflow.New(sc, &events)
				} else {
					dec = netflow.New(netflow.DefaultConfig(), &events)
				}
				enc, _ := NewEncoder(f, cfg)
				recs := mixRecords(t, MixConfig{Seed: 11, IPv6: map[bool]float64{true: 0, false: 0.4}[f == flow.FormatNetFlowV5]}, 800, testNow)
				pkts, counts := encodeAll(t, enc, recs, testNow)
				// Replay the data datagrams once more, re-stamped 5 s later.
				later := testNow.Add(5 * time.Second)
				first := len(pkts)
				for i, p := range pkts[:first:first] {
					if counts[i] > 0 {
						p = slices.Clone(p)
						enc.Patch(p, later)
						pkts = append(pkts, p)
					}
				}
				var got []flow.Record
				for i, p := range pkts {
					now := testNow
					if i >= first {
						now = later
					}
					var err error
					got, _, err = dec.Decode(p, exp, now, got)
					if err != nil {
						t.Fatalf("datagram %d: %v", i, err)
					}
				}
				for i := range got {
					r := &got[i]
					if r.Format != f {
						t.Fatalf("format %v", r.Format)
					}
					if want := max(cfg.withDefaults().Sampling, 1); f != flow.FormatSFlow && want > 1 && r.SamplingRate != want {
						t.Fatalf("sampling %d, want %d", r.SamplingRate, want)
					}
					r.Exporter, r.ObservationDomain, r.Format, r.SamplingSource = flow.Addr{}, 0, 0, 0
					if f == flow.FormatSFlow {
						r.Start, r.End = 0, 0
					} else {
						r.SamplingRate = 0
					}
				}
				want := append(expect(f, cfg, recs), expect(f, cfg, shifted(recs, 5*time.Second))...)
				sortRecs(got)
				sortRecs(want)
				if diff := gocmp.Diff(got, want); diff != "" {
					t.Errorf("records (-got, +want):\n%s", diff)
				}
				if events[flow.EventSequenceLost] != 0 {
					t.Errorf("decoder reports %d lost by sequence numbers", events[flow.EventSequenceLost])
				}
			})
		}
	}
}
