package netflow

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenRecord is a flow.Record in readable JSON.
type goldenRecord struct {
	Start, End        string
	Bytes, Packets    uint64
	Src, Dst          flow.Addr
	SrcPort, DstPort  uint16
	Proto, TCPFlags   uint8
	InIf, OutIf       uint32
	SrcAS, DstAS      uint32
	Exporter          flow.Addr
	ObservationDomain uint32
	SamplingRate      uint32
	SamplingSource    string
	Format            string
}

// golden is what decoding one capture gives.
type golden struct {
	Datagrams int
	Errors    map[string]int
	Events    map[string]int
	Totals    struct{ Records, Bytes, Packets uint64 }
	Records   []goldenRecord
}

func toGolden(r *flow.Record) goldenRecord {
	return goldenRecord{
		Start: r.StartTime().Format("2006-01-02T15:04:05.000Z"), End: r.EndTime().Format("2006-01-02T15:04:05.000Z"),
		Bytes: r.Bytes, Packets: r.Packets, Src: r.SrcAddr, Dst: r.DstAddr, SrcPort: r.SrcPort, DstPort: r.DstPort,
		Proto: r.Proto, TCPFlags: r.TCPFlags, InIf: r.InIf, OutIf: r.OutIf, SrcAS: r.SrcAS, DstAS: r.DstAS,
		Exporter: r.Exporter, ObservationDomain: r.ObservationDomain, SamplingRate: r.SamplingRate,
		SamplingSource: r.SamplingSource.String(), Format: r.Format.String(),
	}
}

// decodeCapture decodes every datagram of a capture with one decoder,
// each at its capture time.
func decodeCapture(t *testing.T, path string) golden {
	t.Helper()
	rec := newRecorder()
	cfg := DefaultConfig()
	cfg.MaxFlowAge = 20 * 365 * 24 * time.Hour // keep the times of replayed old traffic
	d := New(cfg, rec)
	g := golden{Errors: map[string]int{}, Events: map[string]int{}}
	var out []flow.Record
	for _, dg := range readPcap(t, path) {
		g.Datagrams++
		var err error
		out, _, err = d.Decode(dg.payload, dg.exp, dg.at, out)
		if err != nil {
			g.Errors[err.(*flow.DecodeError).Reason]++
		}
	}
	for ev, n := range rec.sums {
		g.Events[ev.String()] = n
	}
	for i := range out {
		g.Totals.Records++
		g.Totals.Bytes += out[i].Bytes
		g.Totals.Packets += out[i].Packets
		g.Records = append(g.Records, toGolden(&out[i]))
	}
	return g
}

func TestGolden(t *testing.T) {
	files := capturedFiles(t)
	sort.Strings(files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := decodeCapture(t, f)
			path := strings.TrimSuffix(f, ".pcap") + ".golden.json"
			if *update {
				b, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("unable to read golden (run with -update): %v", err)
			}
			var want golden
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("decode mismatch (-got, +want):\n%s", diff)
			}
		})
	}
}

// TestCapturesDecodeCleanly checks what must hold for any real capture:
// no decode error, every record has addresses, and nothing is left
// waiting or clamped by more than the capture allows.
func TestCapturesDecodeCleanly(t *testing.T) {
	for _, f := range capturedFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			g := decodeCapture(t, f)
			if len(g.Errors) != 0 {
				t.Errorf("errors: %v", g.Errors)
			}
			if g.Totals.Records == 0 {
				t.Fatalf("no records from %d datagrams", g.Datagrams)
			}
			for i, r := range g.Records {
				if r.Src.IsZero() || r.Dst.IsZero() || r.Packets == 0 || r.Bytes == 0 {
					t.Fatalf("record %d incomplete: %+v", i, r)
				}
			}
			if g.Events["sequence_lost"] != 0 {
				t.Errorf("sequence_lost = %d on a loopback capture", g.Events["sequence_lost"])
			}
		})
	}
}

// nfdumpTotals reads the reference totals table of testdata/README.md:
// rows "| file.pcap | datagrams | flows | packets | bytes | ...".
func nfdumpTotals(t *testing.T) map[string][4]uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "README.md"))
	if err != nil {
		t.Fatalf("no reference totals: %v", err)
	}
	totals := map[string][4]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 {
			continue
		}
		name := strings.TrimSpace(cells[1])
		if !strings.HasSuffix(name, ".pcap") {
			continue
		}
		var v [4]uint64
		ok := true
		for i := range v {
			n, err := strconv.ParseUint(strings.TrimSpace(cells[2+i]), 10, 64)
			ok = ok && err == nil
			v[i] = n
		}
		if ok {
			totals[name] = v
		}
	}
	return totals
}

// TestTotalsMatchNfdump checks that acd counts the datagrams, flows,
// packets and bytes nfdump counted for the same export.
func TestTotalsMatchNfdump(t *testing.T) {
	totals := nfdumpTotals(t)
	if len(totals) == 0 {
		t.Fatal("no reference totals in testdata/README.md")
	}
	for name, want := range totals {
		t.Run(name, func(t *testing.T) {
			g := decodeCapture(t, filepath.Join("testdata", name))
			got := [4]uint64{uint64(g.Datagrams), g.Totals.Records, g.Totals.Packets, g.Totals.Bytes}
			if got != want {
				t.Errorf("datagrams, flows, packets, bytes = %v, nfdump says %v", got, want)
			}
		})
	}
}
