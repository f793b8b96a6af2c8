package netflow

import (
	"bytes"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gfnetflow "github.com/netsampler/goflow2/v2/decoders/netflow"
	gflegacy "github.com/netsampler/goflow2/v2/decoders/netflowlegacy"

	"github.com/acd-org/acd/flow"
)

// Side-by-side benchmarks: acd's decoder and goflow2's on the same
// captured datagrams (testdata/*-<suffix>.pcap), one op being one pass
// over a capture after its templates are known. ns/record divides by the
// flow records acd finds in a pass (goflow2 leaves them undecoded into
// field lists, so this favours goflow2).
//
//	go test -run '^$' -bench . -benchtime 2s ./collect/netflow

func BenchmarkDecodeV5(b *testing.B)    { benchCaptures(b, "v5", benchACD) }
func BenchmarkDecodeV9(b *testing.B)    { benchCaptures(b, "v9", benchACD) }
func BenchmarkDecodeIPFIX(b *testing.B) { benchCaptures(b, "ipfix", benchACD) }

func BenchmarkGoflow2V5(b *testing.B)    { benchCaptures(b, "v5", benchGoflow2) }
func BenchmarkGoflow2V9(b *testing.B)    { benchCaptures(b, "v9", benchGoflow2) }
func BenchmarkGoflow2IPFIX(b *testing.B) { benchCaptures(b, "ipfix", benchGoflow2) }

// benchCaptures runs bench on every capture of the given format.
func benchCaptures(b *testing.B, suffix string, bench func(*testing.B, []datagram, int)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*-"+suffix+".pcap"))
	if len(files) == 0 {
		b.Fatal("no capture of " + suffix + " in testdata")
	}
	for _, f := range files {
		dgs := readPcap(b, f)
		records := countRecords(dgs)
		b.Run(strings.TrimSuffix(filepath.Base(f), ".pcap"), func(b *testing.B) { bench(b, dgs, records) })
	}
}

// countRecords returns the flow records of one steady-state pass.
func countRecords(dgs []datagram) int {
	d := New(DefaultConfig(), nil)
	var out []flow.Record
	for _, dg := range dgs {
		out, _, _ = d.Decode(dg.payload, dg.exp, dg.at, out[:0])
	}
	n := 0
	for _, dg := range dgs {
		out, _, _ = d.Decode(dg.payload, dg.exp, dg.at, out[:0])
		n += len(out)
	}
	return n
}

// cpuTime returns the CPU time the process used so far (all threads,
// garbage collection included). On a loaded machine it is a steadier
// measure than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs pass b.N times and reports the per-record metrics.
func loop(b *testing.B, records int, pass func()) {
	pass()
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		pass()
	}
	cpu = cpuTime() - cpu
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(records), "ns/record")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(records), "cpu-ns/record")
	b.ReportMetric(testing.AllocsPerRun(3, pass)/float64(records), "allocs/record")
}

func benchACD(b *testing.B, dgs []datagram, records int) {
	d := New(DefaultConfig(), nil)
	out := make([]flow.Record, 0, 1024)
	pass := func() {
		for _, dg := range dgs {
			out, _, _ = d.Decode(dg.payload, dg.exp, dg.at, out[:0])
		}
	}
	loop(b, records, pass)
}

func benchGoflow2(b *testing.B, dgs []datagram, records int) {
	ts := gfnetflow.CreateTemplateSystem()
	pass := func() {
		for _, dg := range dgs {
			buf := bytes.NewBuffer(dg.payload)
			if binary := dg.payload; len(binary) >= 2 && binary[1] == 5 {
				var p gflegacy.PacketNetFlowV5
				_ = gflegacy.DecodeMessageVersion(buf, &p)
				continue
			}
			var p9 gfnetflow.NFv9Packet
			var pf gfnetflow.IPFIXPacket
			_ = gfnetflow.DecodeMessageVersion(buf, ts, &p9, &pf)
		}
	}
	loop(b, records, pass)
}
