package sflow

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/collect/packet"
	"github.com/acd-org/acd/flow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// capturedDatagram is one UDP payload of a pcap file.
type capturedDatagram struct {
	ts      time.Time
	src     flow.Exporter
	payload []byte
}

// readDatagrams returns the UDP payloads of the packets of a classic pcap
// file (any link type collect/packet knows).
func readDatagrams(t testing.TB, path string) []capturedDatagram {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("unable to read pcap: %v", err)
	}
	if len(b) < 24 {
		t.Fatalf("%s: short pcap", path)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	nano := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nano = true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		t.Fatalf("%s: not a pcap file", path)
	}
	link := bo.Uint32(b[20:]) & 0x0fffffff
	var out []capturedDatagram
	for off := 24; off+16 <= len(b); {
		sec, frac, n := bo.Uint32(b[off:]), bo.Uint32(b[off+4:]), int(bo.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			t.Fatalf("%s: truncated record", path)
		}
		p := b[off : off+n]
		off += n
		var h packet.Header
		if err := packet.ParseLink(link, p, &h); err != nil || h.Proto != 17 || h.Truncated || h.Fragment {
			continue
		}
		l3 := p[h.L3Offset:]
		hl := 40
		if h.IPVersion == 4 {
			hl = int(l3[0]&0x0f) * 4
		}
		if len(l3) < hl+8 {
			continue
		}
		if !nano {
			frac *= 1000
		}
		out = append(out, capturedDatagram{
			ts:      time.Unix(int64(sec), int64(frac)).UTC(),
			src:     flow.Exporter{Addr: h.Src, Port: h.SrcPort},
			payload: l3[hl+8:],
		})
	}
	return out
}

// goldenFile is what a capture decodes to.
type goldenFile struct {
	Datagrams int
	Records   int
	Errors    map[string]int `json:",omitempty"`
	Events    map[string]int `json:",omitempty"`
	// Totals over all records, unscaled and scaled by the sampling rate.
	Packets, Bytes, ScaledPackets, ScaledBytes uint64
	// First holds the records of the first datagrams in full.
	First []flow.Record
}

type namedRecorder map[string]int

func (r namedRecorder) Observe(_ flow.Exporter, _ flow.Format, ev flow.Event, delta int) {
	r[ev.String()] += delta
}

// TestGolden decodes the captured pcaps of testdata and compares the
// result with testdata/NAME.golden.json (regenerate with -update).
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.pcap")
	if len(files) == 0 {
		t.Fatal("no pcap in testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ev := namedRecorder{}
			d := New(DefaultConfig(), ev)
			got := goldenFile{Events: ev, Errors: map[string]int{}}
			var recs []flow.Record
			for i, dg := range readDatagrams(t, f) {
				var err error
				n := len(recs)
				recs, _, err = d.Decode(dg.payload, dg.src, dg.ts, recs)
				if err != nil {
					var de *flow.DecodeError
					if !errors.As(err, &de) {
						t.Fatalf("datagram %d: error %v is not a *flow.DecodeError", i, err)
					}
					got.Errors[de.Reason]++
				}
				if i < 4 {
					got.First = append(got.First, recs[n:]...)
				}
				got.Datagrams++
			}
			got.Records = len(recs)
			for i := range recs {
				r := &recs[i]
				got.Packets += r.Packets
				got.Bytes += r.Bytes
				got.ScaledPackets += r.ScaledPackets()
				got.ScaledBytes += r.ScaledBytes()
			}
			golden := strings.TrimSuffix(f, ".pcap") + ".golden.json"
			if *update {
				b, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("unable to read golden (run with -update): %v", err)
			}
			want := goldenFile{Events: namedRecorder{}, Errors: map[string]int{}}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("decode of %s (-got, +want):\n%s", f, diff)
			}
		})
	}
}

// TestPmacctTotals checks the pmacct capture against the reference totals
// of testdata/README.md, measured independently (sfacctd and a tally of the
// sampled headers).
func TestPmacctTotals(t *testing.T) {
	for _, mode := range []string{BytesFrame, BytesIP} {
		t.Run(mode, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.ByteCount = mode
			ev := namedRecorder{}
			d := New(cfg, ev)
			var recs []flow.Record
			for _, dg := range readDatagrams(t, "testdata/pmacct-sflow.pcap") {
				var err error
				if recs, _, err = d.Decode(dg.payload, dg.src, dg.ts, recs); err != nil {
					t.Fatal(err)
				}
			}
			type tally struct{ Packets, Bytes uint64 }
			got := map[string]tally{}
			add := func(k string, r *flow.Record) {
				x := got[k]
				x.Packets += r.ScaledPackets()
				x.Bytes += r.ScaledBytes()
				got[k] = x
			}
			for i := range recs {
				r := &recs[i]
				add("all", r)
				add(map[uint8]string{6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}[r.Proto], r)
				if !r.SrcAddr.Is4() {
					add("ipv6", r)
				}
			}
			want := map[string]tally{
				"all": {3867, 770200}, "tcp": {3041, 623728}, "udp": {552, 121776},
				"icmp": {190, 15960}, "icmpv6": {84, 8736}, "ipv6": {1287, 0},
			}
			if mode == BytesFrame {
				want["all"] = tally{3867, 847288}
			}
			for k, w := range want {
				g := got[k]
				if k == "ipv6" || (mode == BytesFrame && k != "all") {
					g.Bytes, w.Bytes = 0, 0 // no reference for these
				}
				if g != w {
					t.Errorf("%s: got %+v, want %+v", k, g, w)
				}
			}
			if len(ev) != 0 {
				t.Errorf("events %v, want none", ev)
			}
		})
	}
}
