package netflow

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

// v4Want is the record v4Data("10.0.0.1", "10.0.0.2", up-3000, up-1000,
// 1500, 10, 1234, 80, 6, 0x12) gives under v9 with sysUptime up.
func v4Want(f flow.Format) flow.Record {
	return flow.Record{
		Start: testMs - 3000, End: testMs - 1000, Bytes: 1500, Packets: 10,
		SrcAddr: addr("10.0.0.1"), DstAddr: addr("10.0.0.2"), Exporter: expA.Addr, ObservationDomain: 42,
		InIf: 3, OutIf: 4, SrcAS: 65001, DstAS: 65002, SrcPort: 1234, DstPort: 80, Proto: 6, TCPFlags: 0x12,
		SamplingRate: 1, Format: f,
	}
}

const up = 50_000_000

func v4DataUp() []byte {
	return v4Data("10.0.0.1", "10.0.0.2", up-3000, up-1000, 1500, 10, 1234, 80, 6, 0x12)
}

func TestV9(t *testing.T) {
	tmpl := set(setTemplateV9, 0, tmplRec(300, v4Fields...))
	data := set(300, 4, v4DataUp(), v4DataUp())
	v6Fields := []fld{{27, 16, 0}, {28, 16, 0}, {22, 4, 0}, {21, 4, 0}, {1, 8, 0}, {2, 8, 0}, {4, 1, 0}, {139, 2, 0}}
	v6Rec := cat(ip("2001:db8::1"), ip("2001:db8::2"), be32(up-10), be32(up-5), be64(1<<40), be64(3), []byte{58}, be16(0x8000))
	want6 := flow.Record{Start: testMs - 10, End: testMs - 5, Bytes: 1 << 40, Packets: 3, SrcAddr: addr("2001:db8::1"),
		DstAddr: addr("2001:db8::2"), Exporter: expA.Addr, ObservationDomain: 42, DstPort: 0x8000, Proto: 58,
		SamplingRate: 1, Format: flow.FormatNetFlowV9}
	// Options: scope System (type 1, which is not octetDeltaCount here).
	samplerOpts := set(setOptionsV9, 4, optRecV9(400, []fld{{1, 4, 0}}, []fld{{48, 1, 0}, {49, 1, 0}, {50, 4, 0}}))
	samplerData := set(400, 4, cat(be32(999), []byte{7, 2}, be32(100)), cat(be32(999), []byte{9, 2}, be32(1000)))
	withSampler := append(append([]fld{}, v4Fields...), fld{48, 1, 0})
	sampledTmpl := set(setTemplateV9, 0, tmplRec(301, withSampler...))
	sampled := func(id byte) []byte { return cat(v4DataUp(), []byte{id}) }
	intervalOpts := set(setOptionsV9, 4, optRecV9(401, []fld{{2, 4, 0}}, []fld{{34, 4, 0}, {35, 1, 0}}))
	intervalData := set(401, 4, cat(be32(1), be32(512), []byte{2}))

	rated := func(r flow.Record, rate uint32) flow.Record {
		r.SamplingRate, r.SamplingSource = rate, flow.SamplingExporter
		return r
	}
	for _, tc := range []struct {
		name string
		pkts [][][]byte // datagrams, each a list of sets
		want []flow.Record
	}{
		{
			name: "template and data",
			pkts: [][][]byte{{tmpl, data}},
			want: []flow.Record{v4Want(flow.FormatNetFlowV9), v4Want(flow.FormatNetFlowV9)},
		},
		{
			name: "data before template in the same datagram",
			pkts: [][][]byte{{data, tmpl}},
			want: []flow.Record{v4Want(flow.FormatNetFlowV9), v4Want(flow.FormatNetFlowV9)},
		},
		{
			name: "ipv6 and icmpv6 type code",
			pkts: [][][]byte{{set(setTemplateV9, 0, tmplRec(302, v6Fields...)), set(302, 0, v6Rec)}},
			want: []flow.Record{want6},
		},
		{
			name: "sampler table selects by the record's sampler id",
			pkts: [][][]byte{{samplerOpts, samplerData, sampledTmpl, set(301, 0, sampled(7), sampled(9))}},
			want: []flow.Record{rated(v4Want(flow.FormatNetFlowV9), 100), rated(v4Want(flow.FormatNetFlowV9), 1000)},
		},
		{
			name: "unknown sampler id falls back to the last rate learned",
			pkts: [][][]byte{{samplerOpts, samplerData, sampledTmpl, set(301, 0, sampled(5))}},
			want: []flow.Record{rated(v4Want(flow.FormatNetFlowV9), 1000)},
		},
		{
			name: "sampler id as a v9 scope field",
			pkts: [][][]byte{{set(setOptionsV9, 4, optRecV9(402, []fld{{48, 2, 0}}, []fld{{50, 4, 0}})),
				set(402, 4, cat(be16(7), be32(300))), sampledTmpl, set(301, 0, sampled(7))}},
			want: []flow.Record{rated(v4Want(flow.FormatNetFlowV9), 300)},
		},
		{
			name: "sampling interval in options data applies to the domain",
			pkts: [][][]byte{{intervalOpts, intervalData, tmpl, data}},
			want: []flow.Record{rated(v4Want(flow.FormatNetFlowV9), 512), rated(v4Want(flow.FormatNetFlowV9), 512)},
		},
		{
			name: "template id switches from options to data",
			pkts: [][][]byte{
				{set(setOptionsV9, 4, optRecV9(300, []fld{{1, 4, 0}}, []fld{{34, 4, 0}})), set(300, 4, cat(be32(1), be32(10)))},
				{tmpl, data},
			},
			want: []flow.Record{rated(v4Want(flow.FormatNetFlowV9), 10), rated(v4Want(flow.FormatNetFlowV9), 10)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig(), nil)
			var got []flow.Record
			for i, sets := range tc.pkts {
				var err error
				pkt := v9Msg{uptime: up, secs: testSecs, seq: uint32(i), source: 42, sets: sets}.bytes()
				got, _, err = d.Decode(pkt, expA, testNow, got)
				if err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("records (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestV9HeldUntilTemplate(t *testing.T) {
	rec := newRecorder()
	d := New(DefaultConfig(), rec)
	data := v9Msg{uptime: up, secs: testSecs, seq: 1, source: 42, sets: [][]byte{set(300, 4, v4DataUp())}}.bytes()
	got, _, err := d.Decode(data, expA, testNow, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("data without template: %d records, %v", len(got), err)
	}
	if rec.sums[flow.EventWaiting] != 1 {
		t.Fatalf("waiting = %d, want 1", rec.sums[flow.EventWaiting])
	}
	// Another exporter's template with the same id and source id does not
	// release it.
	tmpl := v9Msg{uptime: up, secs: testSecs, seq: 2, source: 42, sets: [][]byte{set(setTemplateV9, 0, tmplRec(300, v4Fields...))}}.bytes()
	if got, _, _ := d.Decode(tmpl, expB, testNow, nil); len(got) != 0 {
		t.Fatalf("other exporter's template released %d records", len(got))
	}
	got, _, err = d.Decode(tmpl, expA, testNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []flow.Record{v4Want(flow.FormatNetFlowV9)}); diff != "" {
		t.Errorf("released records (-got, +want):\n%s", diff)
	}
	if rec.sums[flow.EventWaiting] != 0 || rec.sums[flow.EventWaitingDropped] != 0 {
		t.Errorf("waiting = %d, dropped = %d, want 0, 0", rec.sums[flow.EventWaiting], rec.sums[flow.EventWaitingDropped])
	}
	if rec.sums[flow.EventTemplates] != 2 {
		t.Errorf("templates = %d, want 2", rec.sums[flow.EventTemplates])
	}
}

func TestV9SequenceLoss(t *testing.T) {
	for _, tc := range []struct {
		name string
		seqs []uint32
		want int
	}{
		{"in order", []uint32{1, 2, 3, 4}, 0},
		{"two datagrams lost", []uint32{1, 2, 5, 6}, 2},
		{"reordered", []uint32{1, 3, 2, 4}, 0},
		{"restart", []uint32{100, 101, 0, 1, 2}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			d := New(DefaultConfig(), rec)
			for _, s := range tc.seqs {
				pkt := v9Msg{uptime: up, secs: testSecs, seq: s, source: 1, sets: [][]byte{set(setTemplateV9, 0, tmplRec(300, v4Fields...))}}.bytes()
				if _, _, err := d.Decode(pkt, expA, testNow, nil); err != nil {
					t.Fatal(err)
				}
			}
			d.Expire(testNow.Add(time.Minute))
			if got := rec.sums[flow.EventSequenceLost]; got != tc.want {
				t.Errorf("lost = %d, want %d", got, tc.want)
			}
		})
	}
}
