package flowgen

import (
	"bytes"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
	gocmp "github.com/google/go-cmp/cmp"
)

// shifted returns recs with their times moved by d.
func shifted(recs []flow.Record, d time.Duration) []flow.Record {
	out := make([]flow.Record, len(recs))
	for i, r := range recs {
		r.Start += d.Milliseconds()
		r.End += d.Milliseconds()
		out[i] = r
	}
	return out
}

// TestPatch checks that a datagram encoded at t0 and patched at t1 equals,
// byte for byte, the datagram a fresh exporter (same boot time) encodes at
// t1 from the same records moved by t1-t0; and that patching again
// continues the sequence numbers and moves the times again.
func TestPatch(t *testing.T) {
	t0 := testNow
	t1 := t0.Add(90 * time.Second)
	t2 := t1.Add(3 * time.Second)
	for _, f := range formats {
		for _, varlen := range []bool{false, true} {
			t.Run(f.String()+map[bool]string{true: "/varlen"}[varlen], func(t *testing.T) {
				cfg := EncoderConfig{Boot: t0.Add(-time.Hour), VarLen: varlen, ExporterID: 3, TemplatePackets: -1}
				recs := mixRecords(t, MixConfig{Seed: 9, IPv6: 0.4}, 400, t0)
				enc, _ := NewEncoder(f, cfg)
				ring, counts := encodeData(t, enc, recs, t0)
				enc.Reset()

				fresh, _ := NewEncoder(f, cfg)
				want, wantCounts := encodeData(t, fresh, shifted(recs, t1.Sub(t0)), t1)
				for i, p := range ring {
					if n := enc.Patch(p, t1); n != counts[i] {
						t.Errorf("datagram %d: Patch returned %d, want %d", i, n, counts[i])
					}
					if !bytes.Equal(p, want[i]) {
						t.Errorf("datagram %d: patched differs from fresh:\n% x\n% x", i, p, want[i])
					}
				}
				if gocmp.Diff(counts, wantCounts) != "" {
					t.Errorf("counts %v, want %v", counts, wantCounts)
				}

				// Second round: decode with goflow2 after templates.
				pkts := [][]byte{enc.AppendTemplates(nil, t2)}
				pktCounts := []int{-1}
				for i, p := range ring {
					enc.Patch(p, t2)
					pkts = append(pkts, p)
					pktCounts = append(pktCounts, counts[i])
				}
				if f == flow.FormatNetFlowV5 || f == flow.FormatSFlow {
					pkts, pktCounts = pkts[1:], pktCounts[1:]
				}
				d := decodeAll(t, f, pkts, pktCounts)
				sortRecs(d.recs)
				if diff := gocmp.Diff(d.recs, expect(f, cfg, shifted(recs, t2.Sub(t0)))); diff != "" {
					t.Errorf("records (-got, +want):\n%s", diff)
				}
				checkSecondRound(t, f, d, counts)
			})
		}
	}
}

// checkSecondRound checks that sequence numbers continue from the first
// round.
func checkSecondRound(t *testing.T, f flow.Format, d decoded, counts []int) {
	t.Helper()
	total, n := 0, len(counts)
	for _, c := range counts {
		total += c
	}
	first, last := d.headers[0].Seq, d.headers[len(d.headers)-1].Seq
	switch f {
	case flow.FormatNetFlowV5:
		if first != uint32(total) {
			t.Errorf("v5 sequence after one round %d, want %d", first, total)
		}
	case flow.FormatNetFlowV9:
		if first != uint32(n) || last != uint32(2*n) {
			t.Errorf("v9 sequence %d..%d, want %d..%d", first, last, n, 2*n)
		}
	case flow.FormatIPFIX:
		if first != uint32(total) {
			t.Errorf("ipfix sequence after one round %d, want %d", first, total)
		}
	case flow.FormatSFlow:
		if first != uint32(n+1) {
			t.Errorf("sflow sequence %d, want %d", first, n+1)
		}
		seen := map[uint32]uint32{}
		for _, r := range d.inOrder {
			seen[r.InIf] = 0
		}
		for k := range seen {
			seen[k] = countIf(d.inOrder, k)
		}
		checkSampleSeqs(t, d, seen)
	}
}

func countIf(recs []flow.Record, ifIndex uint32) uint32 {
	var n uint32
	for _, r := range recs {
		if r.InIf == ifIndex {
			n++
		}
	}
	return n
}

// encodeData encodes recs into data datagrams only.
func encodeData(t *testing.T, enc Encoder, recs []flow.Record, now time.Time) ([][]byte, []int) {
	t.Helper()
	var pkts [][]byte
	var counts []int
	for len(recs) > 0 {
		pkt, used, written := enc.Append(nil, recs, now)
		if used == 0 {
			t.Fatal("encoder took no record")
		}
		recs = recs[used:]
		if written > 0 {
			pkts = append(pkts, pkt)
			counts = append(counts, written)
		}
	}
	return pkts, counts
}

func TestPatchIgnoresForeign(t *testing.T) {
	for _, f := range formats {
		enc, _ := NewEncoder(f, EncoderConfig{})
		for _, p := range [][]byte{nil, {1, 2, 3}, make([]byte, 64)} {
			if n := enc.Patch(p, testNow); n != 0 {
				t.Errorf("%v: Patch(% x) = %d, want 0", f, p, n)
			}
		}
	}
}

func TestEncodeAllocs(t *testing.T) {
	recs := mixRecords(t, MixConfig{Seed: 1, IPv6: 0.3}, 64, testNow)
	for _, f := range formats {
		enc, _ := NewEncoder(f, EncoderConfig{VarLen: true, Sampling: 10})
		buf := make([]byte, 0, 4096)
		enc.Append(buf, recs, testNow) // warm up per-source state
		allocs := testing.AllocsPerRun(100, func() {
			buf = enc.AppendTemplates(buf[:0], testNow)
			pkt, _, _ := enc.Append(buf[:0], recs, testNow)
			enc.Patch(pkt, testNow.Add(time.Second))
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per encode", f, allocs)
		}
	}
}
