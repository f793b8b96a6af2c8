package flowgen

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
)

// perRecord reports ns/record and records/s given the records processed.
func perRecord(b *testing.B, records int) {
	b.Helper()
	ns := float64(b.Elapsed().Nanoseconds()) / float64(records)
	b.ReportMetric(ns, "ns/record")
	b.ReportMetric(1e9/ns, "records/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkGenerate measures Mix.Next per record.
func BenchmarkGenerate(b *testing.B) {
	m, _ := NewMix(MixConfig{Seed: 1, IPv6: 0.2})
	recs := make([]flow.Record, 256)
	b.ReportAllocs()
	for b.Loop() {
		m.Next(recs, testNow)
	}
	perRecord(b, b.N*len(recs))
}

// BenchmarkEncode measures generating and encoding one datagram (the
// sender's fresh path).
func BenchmarkEncode(b *testing.B) {
	for _, f := range formats {
		b.Run(f.String(), func(b *testing.B) {
			enc, _ := NewEncoder(f, EncoderConfig{})
			m, _ := NewMix(MixConfig{Seed: 1, IPv6: 0.2})
			recs := make([]flow.Record, 64)
			buf := make([]byte, 0, 2048)
			total := 0
			b.ReportAllocs()
			for b.Loop() {
				m.Next(recs, testNow)
				_, used, _ := enc.Append(buf[:0], recs, testNow)
				total += used
			}
			perRecord(b, total)
		})
	}
}

// BenchmarkPatch measures re-stamping a pre-encoded datagram (the
// sender's ring path).
func BenchmarkPatch(b *testing.B) {
	for _, f := range formats {
		b.Run(f.String(), func(b *testing.B) {
			enc, _ := NewEncoder(f, EncoderConfig{})
			recs := make([]flow.Record, 64)
			m, _ := NewMix(MixConfig{Seed: 1, IPv6: 0.2})
			m.Next(recs, testNow)
			pkt, _, _ := enc.Append(nil, recs, testNow)
			now, total := testNow, 0
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(time.Millisecond)
				total += enc.Patch(pkt, now)
			}
			perRecord(b, total)
		})
	}
}

// BenchmarkSendUDP measures encode plus sendmmsg to a loopback socket
// nobody reads (the kernel drops what overflows its buffer), as fast as
// possible: the sender's cost per record.
func BenchmarkSendUDP(b *testing.B) {
	for _, f := range formats {
		for _, ring := range []int{0, 1024} {
			name := f.String() + map[bool]string{true: "/ring", false: "/fresh"}[ring > 0]
			b.Run(name, func(b *testing.B) {
				sink, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				defer sink.Close()
				w, err := DialUDP(sink.LocalAddr().String(), 0)
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				enc, _ := NewEncoder(f, EncoderConfig{})
				m, _ := NewMix(MixConfig{Seed: 1, IPv6: 0.2})
				b.ReportAllocs()
				b.ResetTimer()
				st, err := Send(context.Background(), SendConfig{Count: uint64(b.N) * 100, Ring: ring}, enc, m, w)
				if err != nil {
					b.Fatal(err)
				}
				perRecord(b, int(st.Records))
				b.ReportMetric(float64(st.Packets)/b.Elapsed().Seconds(), "datagrams/s")
			})
		}
	}
}
