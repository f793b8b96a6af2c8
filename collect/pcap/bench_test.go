package pcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/acd-org/acd/collect/packet"
	"github.com/acd-org/acd/collect/pcap/pcaptest"
	"github.com/acd-org/acd/flow"
)

// discard is a sink that releases every batch.
type discard struct{ records int }

func (d *discard) Consume(b *flow.Batch) {
	d.records += len(b.Records)
	b.Release()
}

// benchFlows is the number of distinct 5-tuples in the benchmarks'
// traffic; benchGap is the time between two packets.
const (
	benchFlows = 10_000
	benchGap   = 10 * time.Microsecond
)

// benchHeaders returns n parsed packets spread over benchFlows flows, with
// TCP FINs on one packet in 200.
func benchHeaders(n int) []packet.Header {
	rng := rand.New(rand.NewPCG(1, 2))
	hs := make([]packet.Header, n)
	for i := range hs {
		f := rng.IntN(benchFlows)
		h := &hs[i]
		h.Src = flow.AddrFrom4([4]byte{10, byte(f >> 8), byte(f), 1})
		h.Dst = flow.AddrFrom4([4]byte{192, 0, 2, byte(f % 7)})
		h.SrcPort, h.DstPort, h.Proto = uint16(1024+f), 443, 6
		h.TCPFlags = flow.TCPAck
		if rng.IntN(200) == 0 {
			h.TCPFlags |= flow.TCPFin
		}
		h.IPLen = uint32(40 + rng.IntN(1460))
	}
	return hs
}

// BenchmarkMeter measures the flow table alone: one op is one parsed
// packet metered.
func BenchmarkMeter(b *testing.B) {
	hs := benchHeaders(1 << 16)
	d := &discard{}
	m, err := NewMeter(DefaultConfig(), flow.NewBatchPool(0), d)
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range hs { // warm up: the table holds its working set
		m.Add(ts, &hs[i])
		ts += int64(benchGap)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		m.Add(ts, &hs[i&(len(hs)-1)])
		ts += int64(benchGap)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "packets/s")
}

// benchCapture returns a classic pcap of n Ethernet frames of the
// benchmark's traffic.
func benchCapture(b *testing.B, n int) []byte {
	b.Helper()
	hs := benchHeaders(n)
	tmpl, err := pcaptest.Frame(pcaptest.Packet{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1"),
		SrcPort: 1, DstPort: 443, Proto: 6, Flags: flow.TCPAck,
	}, pcaptest.LinkEthernet)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, pcaptest.LinkEthernet, false, nil); err != nil {
		b.Fatal(err)
	}
	out := append(make([]byte, 0, buf.Len()+n*(16+len(tmpl))), buf.Bytes()...)
	frame := make([]byte, len(tmpl))
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range hs {
		h := &hs[i]
		copy(frame, tmpl)
		binary.BigEndian.PutUint16(frame[14+2:], uint16(h.IPLen)) // IPv4 total length
		copy(frame[14+12:], h.Src[12:])
		copy(frame[14+16:], h.Dst[12:])
		binary.BigEndian.PutUint16(frame[34:], h.SrcPort)
		frame[34+13] = h.TCPFlags
		out = appendRecord(out, ts, frame)
		ts = ts.Add(benchGap)
	}
	return out
}

// BenchmarkRead measures the whole path from capture bytes in memory:
// pcap record, Ethernet/IP/TCP parse, metering. One op is one packet.
func BenchmarkRead(b *testing.B) {
	data := benchCapture(b, max(b.N, 1))
	d := &discard{}
	m, err := NewMeter(DefaultConfig(), flow.NewBatchPool(0), d)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data) / max(b.N, 1)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if err := m.Read(context.Background(), "bench", bytes.NewReader(data), nil); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "packets/s")
	if st := m.Stats(); st.Metered != uint64(b.N) {
		b.Fatalf("metered %d packets, want %d", st.Metered, b.N)
	}
}

// BenchmarkReadTraffic reads the shared traffic captures; one op is one
// pass over all of them.
func BenchmarkReadTraffic(b *testing.B) {
	var files [][]byte
	for _, f := range trafficFiles(b, false) {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	m, err := NewMeter(DefaultConfig(), flow.NewBatchPool(0), &discard{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for _, data := range files {
			if err := m.Read(context.Background(), "bench", bytes.NewReader(data), nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(m.Stats().Packets)/time.Since(start).Seconds(), "packets/s")
}
