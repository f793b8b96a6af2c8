package netflow

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

func TestV5(t *testing.T) {
	uptime := uint32(100_000)
	rec := v5Rec{src: "10.0.0.1", dst: "203.0.113.9", in: 3, out: 4, pkts: 10, octets: 1500,
		first: uptime - 5000, last: uptime - 1000, sport: 1234, dport: 80, flags: 0x1b, proto: 6, srcAS: 64500, dstAS: 64501}
	want := flow.Record{
		Start: testMs - 5000, End: testMs - 1000, Bytes: 1500, Packets: 10,
		SrcAddr: addr("10.0.0.1"), DstAddr: addr("203.0.113.9"), Exporter: expA.Addr,
		ObservationDomain: 0x0102, InIf: 3, OutIf: 4, SrcAS: 64500, DstAS: 64501,
		SrcPort: 1234, DstPort: 80, Proto: 6, TCPFlags: 0x1b,
		SamplingRate: 1, SamplingSource: flow.SamplingNone, Format: flow.FormatNetFlowV5,
	}
	icmp := rec
	icmp.proto, icmp.sport, icmp.dport = 1, 0, 0x0300
	wantICMP := want
	wantICMP.Proto, wantICMP.SrcPort, wantICMP.DstPort = 1, 0, 0x0300

	for _, tc := range []struct {
		name     string
		msg      v5Msg
		cut      int // bytes cut off the end
		cfg      func(*Config)
		want     func() []flow.Record
		wantErr  error
		wantRate uint32
	}{
		{
			name: "one record",
			msg:  v5Msg{uptime: uptime, secs: testSecs, seq: 7, engine: 0x0102, recs: []v5Rec{rec}},
			want: func() []flow.Record { return []flow.Record{want} },
		},
		{
			name: "icmp type and code stay in the destination port",
			msg:  v5Msg{uptime: uptime, secs: testSecs, engine: 0x0102, recs: []v5Rec{icmp}},
			want: func() []flow.Record { return []flow.Record{wantICMP} },
		},
		{
			name: "sampling interval from the header, mode bits ignored",
			msg:  v5Msg{uptime: uptime, secs: testSecs, engine: 0x0102, sampling: 0x4000 | 100, recs: []v5Rec{rec}},
			want: func() []flow.Record {
				w := want
				w.SamplingRate, w.SamplingSource = 100, flow.SamplingExporter
				return []flow.Record{w}
			},
		},
		{
			name: "override wins over the header",
			msg:  v5Msg{uptime: uptime, secs: testSecs, engine: 0x0102, sampling: 100, recs: []v5Rec{rec}},
			cfg:  func(c *Config) { c.SamplingOverride = map[string]uint32{"192.0.2.1": 1000} },
			want: func() []flow.Record {
				w := want
				w.SamplingRate, w.SamplingSource = 1000, flow.SamplingOverride
				return []flow.Record{w}
			},
		},
		{
			name: "default when the header says nothing",
			msg:  v5Msg{uptime: uptime, secs: testSecs, engine: 0x0102, recs: []v5Rec{rec}},
			cfg:  func(c *Config) { c.SamplingDefault = 64 },
			want: func() []flow.Record {
				w := want
				w.SamplingRate, w.SamplingSource = 64, flow.SamplingDefault
				return []flow.Record{w}
			},
		},
		{
			name: "uptime wrapped since the flow started",
			msg: v5Msg{uptime: 1000, secs: testSecs, engine: 0x0102,
				recs: []v5Rec{{src: "10.0.0.1", dst: "203.0.113.9", pkts: 10, octets: 1500, first: 0xffffffff - 999, last: 500, sport: 1234, dport: 80, proto: 6}}},
			want: func() []flow.Record {
				return []flow.Record{{Start: testMs - 2000, End: testMs - 500, Bytes: 1500, Packets: 10,
					SrcAddr: addr("10.0.0.1"), DstAddr: addr("203.0.113.9"), Exporter: expA.Addr, ObservationDomain: 0x0102,
					SrcPort: 1234, DstPort: 80, Proto: 6, SamplingRate: 1, Format: flow.FormatNetFlowV5}}
			},
		},
		{
			name:    "truncated: the whole records are kept",
			msg:     v5Msg{uptime: uptime, secs: testSecs, engine: 0x0102, recs: []v5Rec{rec, rec}},
			cut:     10,
			want:    func() []flow.Record { return []flow.Record{want} },
			wantErr: ErrTruncatedRecord,
		},
		{
			name:    "short header",
			msg:     v5Msg{},
			cut:     2,
			want:    func() []flow.Record { return nil },
			wantErr: ErrShortHeader,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			d := New(cfg, nil)
			pkt := tc.msg.bytes()
			pkt = pkt[:len(pkt)-tc.cut]
			got, f, err := d.Decode(pkt, expA, testNow, nil)
			if err != tc.wantErr {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if f != flow.FormatNetFlowV5 {
				t.Errorf("format = %v", f)
			}
			if diff := cmp.Diff(got, tc.want()); diff != "" {
				t.Errorf("records (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestV5SequenceLoss(t *testing.T) {
	rec := v5Rec{src: "10.0.0.1", dst: "10.0.0.2", pkts: 1, octets: 40, proto: 6}
	msg := func(seq uint32, n int) []byte {
		m := v5Msg{uptime: 1000, secs: testSecs, seq: seq}
		for range n {
			m.recs = append(m.recs, rec)
		}
		return m.bytes()
	}
	for _, tc := range []struct {
		name string
		seqs [][2]uint32 // sequence, records
		want int
	}{
		{"in order", [][2]uint32{{0, 5}, {5, 5}, {10, 5}}, 0},
		{"gap of 7 flows", [][2]uint32{{0, 5}, {12, 5}, {17, 5}}, 7},
		{"reordered, then filled", [][2]uint32{{0, 5}, {10, 5}, {5, 5}, {15, 5}}, 0},
		{"duplicate", [][2]uint32{{0, 5}, {5, 5}, {5, 5}, {10, 5}}, 0},
		{"exporter restart", [][2]uint32{{1000, 5}, {1005, 5}, {0, 5}, {5, 5}, {10, 5}}, 0},
		{"huge jump is a restart", [][2]uint32{{0, 5}, {1 << 30, 5}, {1<<30 + 5, 5}}, 0},
		{"wrap around", [][2]uint32{{0xfffffffb, 5}, {0, 5}, {7, 5}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			d := New(DefaultConfig(), rec)
			for _, s := range tc.seqs {
				if _, _, err := d.Decode(msg(s[0], int(s[1])), expA, testNow, nil); err != nil {
					t.Fatal(err)
				}
			}
			d.Expire(testNow.Add(time.Hour)) // flush open gaps
			if got := rec.sums[flow.EventSequenceLost]; got != tc.want {
				t.Errorf("lost = %d, want %d", got, tc.want)
			}
		})
	}
}
