package pcap

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/collect/packet"
	"github.com/acd-org/acd/flow"
)

// recorder is a flow.Sink that keeps copies of the records it receives.
type recorder struct {
	mu      sync.Mutex
	records []flow.Record
	batches int
	maxLen  int
}

func (r *recorder) Consume(b *flow.Batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, b.Records...)
	r.batches++
	r.maxLen = max(r.maxLen, len(b.Records))
	b.Release()
}

// newTestMeter returns a meter with cfg (zero fields defaulted) and the
// recorder it feeds.
func newTestMeter(t *testing.T, cfg Config, batchSize int) (*Meter, *recorder) {
	t.Helper()
	def := DefaultConfig()
	if cfg.ActiveTimeout == 0 {
		cfg.ActiveTimeout = def.ActiveTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = def.IdleTimeout
	}
	if cfg.MaxFlows == 0 {
		cfg.MaxFlows = def.MaxFlows
	}
	rec := &recorder{}
	m, err := NewMeter(cfg, flow.NewBatchPool(batchSize), rec)
	if err != nil {
		t.Fatalf("NewMeter() error = %v", err)
	}
	return m, rec
}

// pk is a packet for the meter tests: time in ms from t0.
type pk struct {
	ms       int64
	src, dst string
	sp, dp   uint16
	proto    uint8
	flags    uint8
	len      uint32
}

const t0 = int64(1_700_000_000_000) // ms

func (p pk) header() packet.Header {
	return packet.Header{
		Src: flow.AddrFromNetip(netip.MustParseAddr(p.src)), Dst: flow.AddrFromNetip(netip.MustParseAddr(p.dst)),
		SrcPort: p.sp, DstPort: p.dp, Proto: p.proto, TCPFlags: p.flags, IPLen: p.len,
	}
}

// rec is an expected record: times in ms from t0.
func rec(src, dst string, sp, dp uint16, proto uint8, start, end int64, pkts, bytes uint64, flags uint8) flow.Record {
	return flow.Record{
		Start: t0 + start, End: t0 + end, Packets: pkts, Bytes: bytes,
		SrcAddr: flow.AddrFromNetip(netip.MustParseAddr(src)), DstAddr: flow.AddrFromNetip(netip.MustParseAddr(dst)),
		SrcPort: sp, DstPort: dp, Proto: proto, TCPFlags: flags, SamplingRate: 1, Format: flow.FormatPcap,
	}
}

func TestMeter(t *testing.T) {
	const a, b, c = "192.0.2.1", "198.51.100.2", "2001:db8::3"
	const syn, ack, fin, rst, psh = flow.TCPSyn, flow.TCPAck, flow.TCPFin, flow.TCPRst, flow.TCPPsh
	tests := []struct {
		name    string
		cfg     Config
		pkts    []pk
		want    []flow.Record
		exports [NumExportReasons]uint64
	}{
		{
			name: "one flow sums packets bytes and flags",
			pkts: []pk{
				{0, a, b, 1000, 80, 6, syn, 60},
				{10, a, b, 1000, 80, 6, ack, 52},
				{20, a, b, 1000, 80, 6, ack | psh, 552},
			},
			want:    []flow.Record{rec(a, b, 1000, 80, 6, 0, 20, 3, 664, syn|ack|psh)},
			exports: [NumExportReasons]uint64{ExportEnd: 1},
		},
		{
			name: "directions are separate flows",
			pkts: []pk{
				{0, a, b, 53000, 53, 17, 0, 60},
				{1, b, a, 53, 53000, 17, 0, 120},
			},
			want: []flow.Record{
				rec(a, b, 53000, 53, 17, 0, 0, 1, 60, 0),
				rec(b, a, 53, 53000, 17, 1, 1, 1, 120, 0),
			},
			exports: [NumExportReasons]uint64{ExportEnd: 2},
		},
		{
			name: "idle gap longer than the timeout splits",
			pkts: []pk{
				{0, a, b, 1, 2, 17, 0, 100},
				{10_000, a, b, 1, 2, 17, 0, 100},
				{25_001, a, b, 1, 2, 17, 0, 100},
			},
			want: []flow.Record{
				rec(a, b, 1, 2, 17, 0, 10_000, 2, 200, 0),
				rec(a, b, 1, 2, 17, 25_001, 25_001, 1, 100, 0),
			},
			exports: [NumExportReasons]uint64{ExportIdle: 1, ExportEnd: 1},
		},
		{
			name: "idle gap equal to the timeout does not split",
			pkts: []pk{
				{0, a, b, 1, 2, 17, 0, 100},
				{15_000, a, b, 1, 2, 17, 0, 100},
			},
			want:    []flow.Record{rec(a, b, 1, 2, 17, 0, 15_000, 2, 200, 0)},
			exports: [NumExportReasons]uint64{ExportEnd: 1},
		},
		{
			name: "other traffic expires an idle flow",
			pkts: []pk{
				{0, a, b, 1, 2, 17, 0, 100},
				{20_000, c, c, 3, 4, 17, 0, 70},
			},
			want: []flow.Record{
				rec(a, b, 1, 2, 17, 0, 0, 1, 100, 0),
				rec(c, c, 3, 4, 17, 20_000, 20_000, 1, 70, 0),
			},
			exports: [NumExportReasons]uint64{ExportIdle: 1, ExportEnd: 1},
		},
		{
			name: "active timeout restarts a long flow",
			pkts: func() []pk {
				var ps []pk
				for s := int64(0); s <= 130; s += 10 {
					ps = append(ps, pk{s * 1000, a, b, 5, 6, 17, 0, 10})
				}
				return ps
			}(),
			want: []flow.Record{
				rec(a, b, 5, 6, 17, 0, 60_000, 7, 70, 0),
				rec(a, b, 5, 6, 17, 70_000, 130_000, 7, 70, 0),
			},
			exports: [NumExportReasons]uint64{ExportActive: 1, ExportEnd: 1},
		},
		{
			name: "FIN ends the flow after it is counted",
			pkts: []pk{
				{0, a, b, 1000, 80, 6, syn, 60},
				{5, a, b, 1000, 80, 6, fin | ack, 52},
				{6, a, b, 1000, 80, 6, ack, 52},
			},
			want: []flow.Record{
				rec(a, b, 1000, 80, 6, 0, 5, 2, 112, syn|fin|ack),
				rec(a, b, 1000, 80, 6, 6, 6, 1, 52, ack),
			},
			exports: [NumExportReasons]uint64{ExportTCPEnd: 1, ExportEnd: 1},
		},
		{
			name: "RST ends the flow",
			pkts: []pk{
				{0, c, a, 1000, 22, 6, syn, 80},
				{1, c, a, 1000, 22, 6, rst, 60},
			},
			want:    []flow.Record{rec(c, a, 1000, 22, 6, 0, 1, 2, 140, syn|rst)},
			exports: [NumExportReasons]uint64{ExportTCPEnd: 1},
		},
		{
			name: "FIN bit on UDP (not TCP) does nothing",
			pkts: []pk{
				{0, a, b, 1, 2, 17, fin, 10},
				{1, a, b, 1, 2, 17, 0, 10},
			},
			want:    []flow.Record{rec(a, b, 1, 2, 17, 0, 1, 2, 20, fin)},
			exports: [NumExportReasons]uint64{ExportEnd: 1},
		},
		{
			name: "full table evicts the least recently seen flow",
			cfg:  Config{MaxFlows: 2},
			pkts: []pk{
				{0, a, b, 1, 1, 17, 0, 10},
				{1, a, b, 2, 2, 17, 0, 10},
				{2, a, b, 1, 1, 17, 0, 10},
				{3, a, b, 3, 3, 17, 0, 10},
			},
			want: []flow.Record{
				rec(a, b, 2, 2, 17, 1, 1, 1, 10, 0),
				rec(a, b, 1, 1, 17, 0, 2, 2, 20, 0),
				rec(a, b, 3, 3, 17, 3, 3, 1, 10, 0),
			},
			exports: [NumExportReasons]uint64{ExportEvicted: 1, ExportEnd: 2},
		},
		{
			name: "out of order packets widen the flow",
			pkts: []pk{
				{5, a, b, 1, 2, 17, 0, 10},
				{3, a, b, 1, 2, 17, 0, 10},
				{9, a, b, 1, 2, 17, 0, 10},
			},
			want:    []flow.Record{rec(a, b, 1, 2, 17, 3, 9, 3, 30, 0)},
			exports: [NumExportReasons]uint64{ExportEnd: 1},
		},
		{
			name: "ICMP type and code are part of the key",
			pkts: []pk{
				{0, a, b, 0, 0x0800, 1, 0, 84},
				{1, b, a, 0, 0x0000, 1, 0, 84},
				{2, a, b, 0, 0x0800, 1, 0, 84},
			},
			want: []flow.Record{
				rec(a, b, 0, 0x0800, 1, 0, 2, 2, 168, 0),
				rec(b, a, 0, 0, 1, 1, 1, 1, 84, 0),
			},
			exports: [NumExportReasons]uint64{ExportEnd: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, r := newTestMeter(t, tt.cfg, 0)
			var metered, bytes uint64
			for _, p := range tt.pkts {
				h := p.header()
				m.Add((t0+p.ms)*int64(time.Millisecond), &h)
				metered++
				bytes += uint64(p.len)
			}
			m.Flush()
			if diff := cmp.Diff(r.records, tt.want); diff != "" {
				t.Errorf("records mismatch (-got, +want):\n%s", diff)
			}
			st := m.Stats()
			if diff := cmp.Diff(st.Exports, tt.exports); diff != "" {
				t.Errorf("exports mismatch (-got, +want):\n%s", diff)
			}
			if st.Flows != uint64(len(tt.want)) || st.Metered != metered || st.Bytes != bytes {
				t.Errorf("stats flows/metered/bytes = %d/%d/%d, want %d/%d/%d",
					st.Flows, st.Metered, st.Bytes, len(tt.want), metered, bytes)
			}
			if m.Flows() != 0 {
				t.Errorf("Flows() after Flush = %d, want 0", m.Flows())
			}
		})
	}
}

func TestMeterBatches(t *testing.T) {
	m, r := newTestMeter(t, Config{}, 4)
	const n = 10
	for i := range n {
		h := pk{int64(i), "192.0.2.1", "192.0.2.2", uint16(i), 53, 17, 0, 40}.header()
		m.Add((t0+int64(i))*int64(time.Millisecond), &h)
	}
	m.Flush()
	if len(r.records) != n || r.batches != 3 || r.maxLen != 4 {
		t.Errorf("got %d records in %d batches (largest %d), want %d in 3 (largest 4)", len(r.records), r.batches, r.maxLen, n)
	}
	for i, rc := range r.records {
		if rc.SrcPort != uint16(i) {
			t.Errorf("record %d has source port %d: export order is not creation order", i, rc.SrcPort)
		}
	}
}

func TestMeterFlushResetsClock(t *testing.T) {
	m, r := newTestMeter(t, Config{}, 0)
	h := pk{0, "192.0.2.1", "192.0.2.2", 1, 2, 17, 0, 40}.header()
	m.Add((t0+100_000)*int64(time.Millisecond), &h)
	m.Flush()
	// A second capture from an earlier time: its flows are not expired
	// by the first capture's clock.
	m.Add(t0*int64(time.Millisecond), &h)
	m.Add((t0+1000)*int64(time.Millisecond), &h)
	m.Flush()
	want := []flow.Record{
		rec("192.0.2.1", "192.0.2.2", 1, 2, 17, 100_000, 100_000, 1, 40, 0),
		rec("192.0.2.1", "192.0.2.2", 1, 2, 17, 0, 1000, 2, 80, 0),
	}
	if diff := cmp.Diff(r.records, want); diff != "" {
		t.Errorf("records mismatch (-got, +want):\n%s", diff)
	}
}

func TestMeterBoundedTable(t *testing.T) {
	m, r := newTestMeter(t, Config{MaxFlows: 100}, 0)
	for i := range 10_000 {
		h := pk{0, "192.0.2.1", "192.0.2.2", uint16(i), uint16(i >> 16), 17, 0, 40}.header()
		m.Add(t0*int64(time.Millisecond)+int64(i), &h)
		if m.Flows() > 100 {
			t.Fatalf("tracking %d flows, bound is 100", m.Flows())
		}
	}
	if len(m.entries) > 100 {
		t.Errorf("entries grew to %d, bound is 100", len(m.entries))
	}
	m.Flush()
	st := m.Stats()
	if st.Exports[ExportEvicted] != 10_000-100 || len(r.records) != 10_000 {
		t.Errorf("evicted %d, exported %d; want %d and %d", st.Exports[ExportEvicted], len(r.records), 10_000-100, 10_000)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", DefaultConfig(), true},
		{"zero", Config{}, false},
		{"negative idle", Config{ActiveTimeout: time.Second, IdleTimeout: -1, MaxFlows: 1}, false},
		{"too many flows", Config{ActiveTimeout: time.Second, IdleTimeout: time.Second, MaxFlows: 1 << 31}, false},
		{"minimal", Config{ActiveTimeout: 1, IdleTimeout: 1, MaxFlows: 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
