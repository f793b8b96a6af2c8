package netflow

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen"
)

// BenchmarkDecodeFlowgen decodes what `acd flowgen` sends in the
// throughput benchmark (bench/README.md): full datagrams of 18-field
// records (8-byte counters), 20% IPv6, templates sent once up front.
func BenchmarkDecodeFlowgen(b *testing.B) {
	for _, f := range []flow.Format{flow.FormatNetFlowV9, flow.FormatIPFIX} {
		b.Run(f.String(), func(b *testing.B) {
			dgs := flowgenDatagrams(b, f, 64)
			benchACD(b, dgs, countRecords(dgs))
		})
	}
}

// flowgenDatagrams returns a template datagram followed by n data
// datagrams of format f, as flowgen encodes them.
func flowgenDatagrams(tb testing.TB, f flow.Format, n int) []datagram {
	tb.Helper()
	enc, err := flowgen.NewEncoder(f, flowgen.EncoderConfig{ExporterID: 1})
	if err != nil {
		tb.Fatal(err)
	}
	mix, err := flowgen.NewMix(flowgen.MixConfig{Seed: 1, IPv6: 0.2})
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	exp := flow.Exporter{Addr: flow.AddrFromNetip(netip.MustParseAddr("192.0.2.9")), Port: 2055}
	dgs := []datagram{{at: now, exp: exp, payload: enc.AppendTemplates(nil, now)}}
	recs := make([]flow.Record, 64)
	for len(dgs) <= n {
		mix.Next(recs, now)
		for rest := recs; len(rest) > 0; {
			pkt, used, _ := enc.Append(nil, rest, now)
			rest = rest[used:]
			dgs = append(dgs, datagram{at: now, exp: exp, payload: pkt})
		}
	}
	return dgs
}

// TestLayoutMatchesOps checks that decoding fixed-length records by
// layout gives what decoding them op by op gives, on the captures and on
// flowgen's datagrams.
func TestLayoutMatchesOps(t *testing.T) {
	inputs := map[string][]datagram{
		"flowgen-v9":    flowgenDatagrams(t, flow.FormatNetFlowV9, 8),
		"flowgen-ipfix": flowgenDatagrams(t, flow.FormatIPFIX, 8),
	}
	for _, f := range capturedFiles(t) {
		inputs[f] = readPcap(t, f)
	}
	for name, dgs := range inputs {
		t.Run(name, func(t *testing.T) {
			d, ref := New(DefaultConfig(), nil), New(DefaultConfig(), nil)
			ref.noLayout = true
			var got, want []flow.Record
			for _, dg := range dgs {
				var err, refErr error
				got, _, err = d.Decode(dg.payload, dg.exp, dg.at, got)
				want, _, refErr = ref.Decode(dg.payload, dg.exp, dg.at, want)
				if err != refErr {
					t.Fatalf("error %v, want %v", err, refErr)
				}
			}
			if len(got) == 0 {
				t.Fatal("no records")
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("records (-layout, +ops):\n%s", diff)
			}
		})
	}
}
