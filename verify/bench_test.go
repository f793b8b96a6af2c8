package verify

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen"
)

// benchVerifier returns a verifier watching n targets: four in five
// hosts (IPv4 and IPv6), one in five /24 or /48 prefixes, none in the
// flowgen Mix's address space.
func benchVerifier(b *testing.B, n int) *Verifier {
	b.Helper()
	cfg := DefaultConfig()
	cfg.MaxWatches = n
	v, err := New(cfg, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		var target string
		switch i % 10 {
		case 0:
			target = fmt.Sprintf("100.%d.%d.0/24", 64+i/65536%64, i/256%256)
		case 1:
			target = fmt.Sprintf("2001:db8:%x::/48", i)
		case 2, 3:
			target = fmt.Sprintf("2001:db8:ffff::%x", i)
		default:
			target = fmt.Sprintf("45.%d.%d.%d", i/65536%256, i/256%256, i%256)
		}
		if err := v.Watch(item(fmt.Sprintf("c%d", i), cases.ActionBlock, target, cases.Scope{}), t0, nil); err != nil {
			b.Fatal(err)
		}
	}
	return v
}

// mixBatch returns a batch of realistic records (flowgen's Mix, 10 %
// IPv6) that match no watch.
func mixBatch(b *testing.B, size int) []flow.Record {
	b.Helper()
	m, err := flowgen.NewMix(flowgen.MixConfig{Seed: 1, IPv6: 0.1, Sources: 5000, Destinations: 500})
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]flow.Record, size)
	m.Next(recs, t0.Add(time.Minute))
	return recs
}

// BenchmarkConsume measures the miss path (records matching nothing)
// with 10 000 watches, and the hit path (every record matches a host
// watch, counted in its bucket).
func BenchmarkConsume(b *testing.B) {
	const watches, size = 10_000, 1024
	for _, bc := range []struct {
		name string
		hit  bool
	}{{"miss", false}, {"hit", true}} {
		b.Run(bc.name, func(b *testing.B) {
			v := benchVerifier(b, watches)
			recs := mixBatch(b, size)
			if bc.hit {
				for i := range recs {
					recs[i].SrcAddr = flow.AddrFromNetip(netip.AddrFrom4([4]byte{45, 0, byte(i / 256 % 39), byte(i)}))
				}
			}
			batch := &flow.Batch{Records: recs}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				v.Consume(batch)
			}
			b.ReportMetric(float64(b.N)*size/b.Elapsed().Seconds(), "records/s")
			if m := testutil.ToFloat64(v.m.matched); bc.hit != (m > 0) {
				b.Fatalf("%v record counts matched on the %s path", m, bc.name)
			}
		})
	}
}
