package netflow

import (
	"net/netip"
	"testing"
	"time"

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
