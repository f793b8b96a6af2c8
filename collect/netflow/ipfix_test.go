package netflow

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

// ipfixBase is the record the IPFIX tests start from.
func ipfixBase() flow.Record {
	return flow.Record{
		Start: testMs - 3000, End: testMs - 1000, Bytes: 1500, Packets: 10,
		SrcAddr: addr("10.0.0.1"), DstAddr: addr("10.0.0.2"), Exporter: expA.Addr, ObservationDomain: 7,
		SrcPort: 1234, DstPort: 80, Proto: 6, SamplingRate: 1, Format: flow.FormatIPFIX,
	}
}

// Fields shared by the IPFIX cases: addresses, ports, proto, counters.
var ipfixCore = []fld{{8, 4, 0}, {12, 4, 0}, {7, 2, 0}, {11, 2, 0}, {4, 1, 0}, {1, 8, 0}, {2, 4, 0}}

func ipfixCoreData() []byte {
	return cat(ip("10.0.0.1"), ip("10.0.0.2"), be16(1234), be16(80), []byte{6}, be64(1500), be32(10))
}

// ntp encodes ms since the epoch as an NTP timestamp.
func ntp(ms int64) []byte {
	sec := uint32(ms/1000 + ntpEpochOffset)
	frac := uint32((uint64(ms%1000) << 32) / 1000)
	return cat(be32(sec), be32(frac+1)) // +1: round up so truncation gives ms back
}

func TestIPFIX(t *testing.T) {
	with := func(extra ...fld) []fld { return append(append([]fld{}, ipfixCore...), extra...) }
	base := ipfixBase()
	mod := func(f func(r *flow.Record)) flow.Record {
		r := ipfixBase()
		f(&r)
		return r
	}
	exportSecs := testSecs
	type tcase struct {
		name    string
		msgs    [][][]byte
		want    []flow.Record
		wantErr error
	}
	tmpl := func(id uint16, fs ...fld) []byte { return set(setTemplateIPFIX, 0, tmplRec(id, fs...)) }
	opts := func(id uint16, scope, fs []fld) []byte { return set(setOptionsIPFIX, 0, optRecIPFIX(id, scope, fs)) }
	cases := []tcase{
		{
			name: "milliseconds",
			msgs: [][][]byte{{tmpl(256, with(fld{152, 8, 0}, fld{153, 8, 0})...),
				set(256, 0, cat(ipfixCoreData(), be64(uint64(testMs-3000)), be64(uint64(testMs-1000)))), set(256, 0)}},
			want: []flow.Record{base},
		},
		{
			name: "seconds",
			msgs: [][][]byte{{tmpl(256, with(fld{150, 4, 0}, fld{151, 4, 0})...),
				set(256, 0, cat(ipfixCoreData(), be32(testSecs-3), be32(testSecs-1)))}},
			want: []flow.Record{base},
		},
		{
			name: "microseconds and nanoseconds (NTP)",
			msgs: [][][]byte{{tmpl(256, with(fld{154, 8, 0}, fld{157, 8, 0})...),
				set(256, 0, cat(ipfixCoreData(), ntp(testMs-3000), ntp(testMs-1000)))}},
			want: []flow.Record{base},
		},
		{
			name: "delta microseconds before export",
			msgs: [][][]byte{{tmpl(256, with(fld{158, 4, 0}, fld{159, 4, 0})...),
				set(256, 0, cat(ipfixCoreData(), be32(3_000_000), be32(1_000_000)))}},
			want: []flow.Record{base},
		},
		{
			name: "uptime with init time in the record",
			msgs: [][][]byte{{tmpl(256, with(fld{160, 8, 0}, fld{22, 4, 0}, fld{21, 4, 0})...),
				set(256, 0, cat(ipfixCoreData(), be64(uint64(testMs-100_000)), be32(97_000), be32(99_000)))}},
			want: []flow.Record{base},
		},
		{
			name: "uptime with init time from options",
			msgs: [][][]byte{{opts(300, []fld{{149, 4, 0}}, []fld{{160, 8, 0}}), set(300, 0, cat(be32(7), be64(uint64(testMs-100_000)))),
				tmpl(256, with(fld{22, 4, 0}, fld{21, 4, 0})...), set(256, 0, cat(ipfixCoreData(), be32(97_000), be32(99_000)))}},
			want: []flow.Record{base},
		},
		{
			name: "no time fields: export time",
			msgs: [][][]byte{{tmpl(256, ipfixCore...), set(256, 0, ipfixCoreData())}},
			want: []flow.Record{mod(func(r *flow.Record) { r.Start, r.End = testMs, testMs })},
		},
		{
			name: "variable-length and enterprise fields skipped, 1- and 3-byte lengths",
			msgs: [][][]byte{{tmpl(256, with(fld{82, varLen, 0}, fld{1000, 4, 9}, fld{1001, varLen, 29305}, fld{152, 8, 0}, fld{153, 8, 0})...),
				set(256, 4,
					cat(ipfixCoreData(), varField([]byte("eth0"), false), be32(1), varField(make([]byte, 300), false), be64(uint64(testMs-3000)), be64(uint64(testMs-1000))),
					cat(ipfixCoreData(), varField(nil, true), be32(1), varField([]byte("x"), true), be64(uint64(testMs-3000)), be64(uint64(testMs-1000))))}},
			want: []flow.Record{base, base},
		},
		{
			name: "icmp type and code fields",
			msgs: [][][]byte{{tmpl(256, fld{8, 4, 0}, fld{12, 4, 0}, fld{4, 1, 0}, fld{176, 1, 0}, fld{177, 1, 0}, fld{7, 2, 0}, fld{11, 2, 0}),
				set(256, 0, cat(ip("10.0.0.1"), ip("10.0.0.2"), []byte{1, 3, 1}, be16(0), be16(0)))}},
			want: []flow.Record{{Start: testMs, End: testMs, SrcAddr: addr("10.0.0.1"), DstAddr: addr("10.0.0.2"), Exporter: expA.Addr,
				ObservationDomain: 7, DstPort: 0x0301, Proto: 1, SamplingRate: 1, Format: flow.FormatIPFIX}},
		},
		{
			name: "octetTotalCount when there is no octetDeltaCount",
			msgs: [][][]byte{{tmpl(256, fld{8, 4, 0}, fld{12, 4, 0}, fld{85, 8, 0}, fld{86, 8, 0}, fld{23, 8, 0}),
				set(256, 0, cat(ip("10.0.0.1"), ip("10.0.0.2"), be64(77), be64(2), be64(99)))}},
			want: []flow.Record{{Start: testMs, End: testMs, SrcAddr: addr("10.0.0.1"), DstAddr: addr("10.0.0.2"), Exporter: expA.Addr,
				ObservationDomain: 7, Bytes: 77, Packets: 2, SamplingRate: 1, Format: flow.FormatIPFIX}},
		},
		{
			name: "packet interval and space from options",
			msgs: [][][]byte{{opts(300, []fld{{149, 4, 0}}, []fld{{305, 4, 0}, {306, 4, 0}}), set(300, 0, cat(be32(7), be32(1), be32(99))),
				tmpl(256, ipfixCore...), set(256, 0, ipfixCoreData())}},
			want: []flow.Record{mod(func(r *flow.Record) {
				r.Start, r.End, r.SamplingRate, r.SamplingSource = testMs, testMs, 100, flow.SamplingExporter
			})},
		},
		{
			name: "selector table, size and population, probability",
			msgs: [][][]byte{{opts(300, []fld{{302, 8, 0}}, []fld{{309, 4, 0}, {310, 4, 0}}), set(300, 0, cat(be64(5), be32(1), be32(20))),
				opts(301, []fld{{302, 4, 0}}, []fld{{311, 8, 0}}), set(301, 0, cat(be32(6), be64(math.Float64bits(0.001)))),
				tmpl(256, with(fld{302, 2, 0})...), set(256, 0, cat(ipfixCoreData(), be16(5)), cat(ipfixCoreData(), be16(6)))}},
			want: []flow.Record{
				mod(func(r *flow.Record) {
					r.Start, r.End, r.SamplingRate, r.SamplingSource = testMs, testMs, 20, flow.SamplingExporter
				}),
				mod(func(r *flow.Record) {
					r.Start, r.End, r.SamplingRate, r.SamplingSource = testMs, testMs, 1000, flow.SamplingExporter
				}),
			},
		},
		{
			name: "sampling interval in the data record",
			msgs: [][][]byte{{tmpl(256, with(fld{34, 4, 0})...), set(256, 0, cat(ipfixCoreData(), be32(4096)))}},
			want: []flow.Record{mod(func(r *flow.Record) {
				r.Start, r.End, r.SamplingRate, r.SamplingSource = testMs, testMs, 4096, flow.SamplingExporter
			})},
		},
		{
			name: "withdrawn template: data held, not decoded",
			msgs: [][][]byte{{tmpl(256, ipfixCore...), set(setTemplateIPFIX, 0, be16(256), be16(0)), set(256, 0, ipfixCoreData())}},
		},
		{
			name: "withdraw all data templates",
			msgs: [][][]byte{{tmpl(256, ipfixCore...), tmpl(257, ipfixCore...), set(setTemplateIPFIX, 0, be16(2), be16(0)),
				set(256, 0, ipfixCoreData()), set(257, 0, ipfixCoreData())}},
		},
		{
			name: "withdraw all options templates keeps data templates",
			msgs: [][][]byte{{tmpl(256, ipfixCore...), set(setOptionsIPFIX, 0, be16(3), be16(0)), set(256, 0, ipfixCoreData())}},
			want: []flow.Record{mod(func(r *flow.Record) { r.Start, r.End = testMs, testMs })},
		},
		{
			name:    "withdraw all with the wrong set id",
			msgs:    [][][]byte{{tmpl(256, ipfixCore...), set(setTemplateIPFIX, 0, be16(3), be16(0)), set(256, 0, ipfixCoreData())}},
			want:    []flow.Record{mod(func(r *flow.Record) { r.Start, r.End = testMs, testMs })},
			wantErr: ErrBadTemplate,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig(), nil)
			var got []flow.Record
			var err error
			for i, sets := range tc.msgs {
				pkt := ipfixMsg{export: exportSecs, seq: uint32(i), domain: 7, sets: sets}.bytes()
				got, _, err = d.Decode(pkt, expA, testNow, got)
			}
			if err != tc.wantErr {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("records (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestIPFIXSequence(t *testing.T) {
	tmpl := set(setTemplateIPFIX, 0, tmplRec(256, ipfixCore...))
	opts := set(setOptionsIPFIX, 0, optRecIPFIX(300, []fld{{149, 4, 0}}, []fld{{34, 4, 0}}))
	data := func(n int) []byte {
		var recs [][]byte
		for range n {
			recs = append(recs, ipfixCoreData())
		}
		return set(256, 0, recs...)
	}
	optData := set(300, 0, cat(be32(7), be32(1)))
	type msg struct {
		seq     uint32
		n       int
		options bool
	}
	for _, tc := range []struct {
		name string
		msgs []msg
		want int
	}{
		{"rfc: records before the message", []msg{{0, 3, true}, {4, 5, false}, {9, 2, false}, {11, 4, true}, {16, 1, false}}, 0},
		{"rfc: lost 6 records", []msg{{0, 3, false}, {3, 5, false}, {14, 2, false}, {16, 4, false}}, 6},
		{"softflowd: records up to the message, options not counted", []msg{{3, 3, true}, {8, 5, false}, {10, 2, false}, {14, 4, true}, {15, 1, false}}, 0},
		{"softflowd: lost 6 records", []msg{{3, 3, false}, {8, 5, false}, {10, 2, false}, {20, 4, false}, {21, 1, false}}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			d := New(DefaultConfig(), rec)
			for _, m := range tc.msgs {
				sets := [][]byte{tmpl, opts, data(m.n)}
				if m.options {
					sets = append(sets, optData)
				}
				pkt := ipfixMsg{export: testSecs, seq: m.seq, domain: 7, sets: sets}.bytes()
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
