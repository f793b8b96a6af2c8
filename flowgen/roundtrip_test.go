package flowgen

import (
	"bytes"
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
	gocmp "github.com/google/go-cmp/cmp"
)

// decoded is what a stream of datagrams decodes to.
type decoded struct {
	recs    []flow.Record
	headers []header
	counts  []int // records per data datagram
	sizes   []int
	inOrder []flow.Record // recs as decoded, before sorting
}

// encodeAll encodes recs at now the way the sender does (templates when
// due), and decodes each datagram with goflow2.
func encodeAll(t *testing.T, enc Encoder, recs []flow.Record, now time.Time) ([][]byte, []int) {
	t.Helper()
	var pkts [][]byte
	var counts []int
	for len(recs) > 0 {
		if enc.TemplatesDue(now) {
			pkts = append(pkts, enc.AppendTemplates(nil, now))
			counts = append(counts, -1)
		}
		pkt, used, written := enc.Append(nil, recs, now)
		if used == 0 {
			t.Fatalf("encoder took no record of %d", len(recs))
		}
		recs = recs[used:]
		if written > 0 {
			pkts = append(pkts, pkt)
			counts = append(counts, written)
		}
	}
	return pkts, counts
}

func decodeAll(t *testing.T, f flow.Format, pkts [][]byte, counts []int) decoded {
	t.Helper()
	gf := newGF(t)
	var d decoded
	for i, p := range pkts {
		recs, h := gf.decode(f, p)
		d.sizes = append(d.sizes, len(p))
		if counts[i] < 0 {
			if len(recs) != 0 {
				t.Errorf("template datagram %d holds %d records", i, len(recs))
			}
		} else {
			d.counts = append(d.counts, counts[i])
			if len(recs) != counts[i] {
				t.Errorf("datagram %d: decoded %d records, encoder wrote %d", i, len(recs), counts[i])
			}
		}
		d.recs = append(d.recs, recs...)
		d.headers = append(d.headers, h)
	}
	d.inOrder = slices.Clone(d.recs)
	return d
}

// expect returns what a decoder should find of recs in format f.
func expect(f flow.Format, cfg EncoderConfig, recs []flow.Record) []flow.Record {
	var out []flow.Record
	for _, r := range recs {
		switch f {
		case flow.FormatNetFlowV5:
			if !r.SrcAddr.Is4() {
				continue
			}
			r.SrcAS, r.DstAS = uint32(as16(r.SrcAS)), uint32(as16(r.DstAS))
			r.Bytes, r.Packets = uint64(clamp32(r.Bytes)), uint64(clamp32(r.Packets))
		case flow.FormatSFlow:
			rate := cfg.Sampling
			if rate == 0 {
				rate = DefaultSFlowSampling
			}
			r.Bytes, r.Packets = uint64(l3Len(&r)), 1
			r.Start, r.End, r.SrcAS, r.DstAS, r.SamplingRate = 0, 0, 0, 0, rate
		}
		out = append(out, r)
	}
	sortRecs(out)
	return out
}

func sortRecs(recs []flow.Record) {
	slices.SortStableFunc(recs, func(a, b flow.Record) int {
		return cmp.Or(
			cmp.Compare(a.Start, b.Start), bytes.Compare(a.SrcAddr[:], b.SrcAddr[:]),
			bytes.Compare(a.DstAddr[:], b.DstAddr[:]), cmp.Compare(a.SrcPort, b.SrcPort),
			cmp.Compare(a.DstPort, b.DstPort), cmp.Compare(a.Proto, b.Proto),
			cmp.Compare(a.End, b.End), cmp.Compare(a.Bytes, b.Bytes), cmp.Compare(a.Packets, b.Packets))
	})
}

func mixRecords(t *testing.T, mc MixConfig, n int, now time.Time) []flow.Record {
	t.Helper()
	m, err := NewMix(mc)
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]flow.Record, n)
	m.Next(recs, now)
	return recs
}

var formats = []flow.Format{flow.FormatNetFlowV5, flow.FormatNetFlowV9, flow.FormatIPFIX, flow.FormatSFlow}

func TestRoundTripGoflow2(t *testing.T) {
	cases := []struct {
		name string
		cfg  EncoderConfig
		mix  MixConfig
	}{
		{"defaults", EncoderConfig{}, MixConfig{Seed: 1, IPv6: 0.3}},
		{"sampled", EncoderConfig{Sampling: 100, ExporterID: 7}, MixConfig{Seed: 2, IPv6: 0.5, Sources: 50000}},
		{"small datagrams", EncoderConfig{MaxSize: 600, MaxRecords: 5, TemplatePackets: 3}, MixConfig{Seed: 3, IPv6: 0.1}},
		{"ipv6 only varlen", EncoderConfig{VarLen: true, Snapshot: 64}, MixConfig{Seed: 4, IPv6: 1, TCP: 1, ICMP: 1}},
		{"icmp", EncoderConfig{}, MixConfig{Seed: 5, IPv6: 0.5, ICMP: 1}},
	}
	for _, tc := range cases {
		for _, f := range formats {
			t.Run(tc.name+"/"+f.String(), func(t *testing.T) {
				enc, err := NewEncoder(f, tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				recs := mixRecords(t, tc.mix, 1500, testNow)
				pkts, counts := encodeAll(t, enc, recs, testNow)
				d := decodeAll(t, f, pkts, counts)
				sortRecs(d.recs)
				want := expect(f, tc.cfg, recs)
				if len(want) == 0 && f != flow.FormatNetFlowV5 {
					t.Fatal("no record expected")
				}
				if diff := gocmp.Diff(d.recs, want); diff != "" {
					t.Errorf("records (-got, +want):\n%s", diff)
				}
				checkHeaders(t, f, enc, tc.cfg, d, counts)
			})
		}
	}
}

// checkHeaders checks sizes, exporter ids, sampling and the sequence
// numbers of each protocol.
func checkHeaders(t *testing.T, f flow.Format, enc Encoder, cfg EncoderConfig, d decoded, counts []int) {
	t.Helper()
	cfg = cfg.withDefaults()
	var recsBefore uint32
	sampleSeq := map[uint32]uint32{}
	for i, h := range d.headers {
		if d.sizes[i] > cfg.MaxSize {
			t.Errorf("datagram %d: %d bytes > %d", i, d.sizes[i], cfg.MaxSize)
		}
		if counts[i] > 0 && cfg.MaxRecords > 0 && counts[i] > cfg.MaxRecords {
			t.Errorf("datagram %d: %d records > %d", i, counts[i], cfg.MaxRecords)
		}
		if h.Domain != cfg.ExporterID {
			t.Errorf("datagram %d: exporter id %d, want %d", i, h.Domain, cfg.ExporterID)
		}
		wantSampling := cfg.Sampling
		if f == flow.FormatSFlow && wantSampling == 0 {
			wantSampling = DefaultSFlowSampling
		}
		if h.Sampling != wantSampling && (counts[i] > 0 || f != flow.FormatSFlow) {
			t.Errorf("datagram %d: sampling %d, want %d", i, h.Sampling, wantSampling)
		}
		var want uint32
		switch f {
		case flow.FormatNetFlowV5, flow.FormatIPFIX:
			want = recsBefore
		case flow.FormatNetFlowV9:
			want = uint32(i)
		case flow.FormatSFlow:
			want = uint32(i + 1)
		}
		if h.Seq != want {
			t.Errorf("datagram %d: sequence %d, want %d", i, h.Seq, want)
		}
		if counts[i] > 0 {
			recsBefore += uint32(counts[i])
		} else if f == flow.FormatIPFIX && cfg.Sampling > 1 {
			recsBefore++ // the options data record
		}
	}
	if f == flow.FormatSFlow {
		checkSampleSeqs(t, d, sampleSeq)
	}
}

// checkSampleSeqs checks that each data source's flow samples are numbered
// 1, 2, 3...
func checkSampleSeqs(t *testing.T, d decoded, seen map[uint32]uint32) {
	t.Helper()
	k := 0
	for _, h := range d.headers {
		for _, s := range h.Samples {
			src := d.inOrder[k].InIf
			k++
			if s != seen[src]+1 {
				t.Errorf("source %d: sample sequence %d after %d", src, s, seen[src])
			}
			seen[src] = s
		}
	}
}
