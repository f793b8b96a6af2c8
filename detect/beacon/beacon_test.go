package beacon

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

const t0 = int64(1_700_000_000_000)

func v4(a, b, c, d byte) flow.Addr { return flow.AddrFrom4([4]byte{a, b, c, d}) }

// conn returns the client → server record of one connection.
func conn(client, server flow.Addr, dport uint16, start int64, bytes uint64) flow.Record {
	return flow.Record{Start: start, End: start + 300, SrcAddr: client, DstAddr: server, SrcPort: uint16(40000 + start/1000%20000),
		DstPort: dport, Proto: 6, Packets: 8, Bytes: bytes, TCPFlags: flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin,
		Class: flow.ClassOutbound, Pseudo: flow.PseudoSrc}
}

// feeder runs a detector like the engine: batches, watermark = latest
// start minus a minute, Advance when it moves.
type feeder struct {
	d     *Detector
	found []detect.Finding
	wm    int64
	start int64
}

func newFeeder(t *testing.T, cfg Config) *feeder {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &feeder{d: d, wm: -1 << 62, start: -1 << 62}
}

func (f *feeder) emit(x detect.Finding) { f.found = append(f.found, x) }

func (f *feeder) feed(recs []flow.Record) {
	for i := 0; i < len(recs); i += 64 {
		b := recs[i:min(i+64, len(recs))]
		f.d.Observe(b, f.wm, f.emit)
		for j := range b {
			f.start = max(f.start, b[j].Start)
		}
		if f.start-60_000 > f.wm {
			f.wm = f.start - 60_000
			f.d.Advance(f.wm, f.emit)
		}
	}
}

// beacons returns n connections of each client to server every ivl ms
// with the given jitter (share of ivl) and size jitter, sorted by start.
func beacons(rng *rand.Rand, clients []flow.Addr, server flow.Addr, port uint16, ivl int64, jitter, sizeJitter float64, n int) []flow.Record {
	var out []flow.Record
	for _, c := range clients {
		t := t0 + rng.Int64N(ivl)
		for range n {
			size := uint64(800 * (1 + sizeJitter*(2*rng.Float64()-1)))
			out = append(out, conn(c, server, port, t, size))
			t += int64(float64(ivl) * (1 + jitter*(2*rng.Float64()-1)))
		}
	}
	sortByStart(out)
	return out
}

func sortByStart(recs []flow.Record) {
	for i := 1; i < len(recs); i++ {
		for j := i; j > 0 && recs[j-1].Start > recs[j].Start; j-- {
			recs[j-1], recs[j] = recs[j], recs[j-1]
		}
	}
}

func clients(n int, base byte) []flow.Addr {
	out := make([]flow.Addr, n)
	for i := range out {
		out[i] = v4(10, base, byte(i/250), byte(1+i%250))
	}
	return out
}

// population adds n active hosts (a few DNS queries each) to recs.
func population(recs []flow.Record, n int) []flow.Record {
	for i, c := range clients(n, 3) {
		for k := range 4 {
			recs = append(recs, conn(c, v4(198, 51, 100, byte(i%4)), 53, t0+int64(i)*10+int64(k)*1000, 80))
		}
	}
	sortByStart(recs)
	return recs
}

func c2Findings(fs []detect.Finding, server flow.Addr) []detect.Finding {
	var out []detect.Finding
	for _, f := range fs {
		if f.Addr == server && f.Role == detect.RoleC2 {
			out = append(out, f)
		}
	}
	return out
}

func TestDetect(t *testing.T) {
	c2 := v4(203, 0, 113, 7)
	c2v6 := flow.AddrFrom16Slice([]byte{0x20, 0x01, 0x0d, 0xb8, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7})
	tests := []struct {
		name   string
		recs   func(rng *rand.Rand) []flow.Record
		server flow.Addr
		want   bool
	}{
		{"one host, every minute, no jitter", func(rng *rand.Rand) []flow.Record {
			return beacons(rng, clients(1, 1), c2, 443, 60_000, 0, 0.1, 12)
		}, c2, true},
		{"one host, too few connections", func(rng *rand.Rand) []flow.Record {
			return beacons(rng, clients(1, 1), c2, 443, 60_000, 0, 0.1, 4)
		}, c2, false},
		{"one host, random (Poisson) connections", func(rng *rand.Rand) []flow.Record {
			var out []flow.Record
			t := t0
			for range 40 {
				t += int64(rng.ExpFloat64() * 60_000)
				out = append(out, conn(v4(10, 1, 0, 1), c2, 443, t, uint64(200+rng.IntN(5000))))
			}
			return out
		}, c2, false},
		{"one host, faster than min_interval", func(rng *rand.Rand) []flow.Record {
			return beacons(rng, clients(1, 1), c2, 443, 1_000, 0, 0.1, 30)
		}, c2, false},
		{"30 hosts, ±50 % jitter (fan-in), 1000 hosts", func(rng *rand.Rand) []flow.Record {
			return population(beacons(rng, clients(30, 1), c2, 443, 120_000, 0.5, 0.5, 9), 1000)
		}, c2, true},
		{"30 hosts, ±50 % jitter, 30 hosts: prevalent", func(rng *rand.Rand) []flow.Record {
			return beacons(rng, clients(30, 1), c2, 443, 120_000, 0.5, 0.5, 9)
		}, c2, false},
		{"one host, ±50 % jitter, no fan-in", func(rng *rand.Rand) []flow.Record {
			return population(beacons(rng, clients(1, 1), c2, 443, 120_000, 0.5, 0.5, 9), 1000)
		}, c2, false},
		{"IPv6 host every 30 s ±10 %", func(rng *rand.Rand) []flow.Record {
			return beacons(rng, []flow.Addr{flow.AddrFrom16Slice([]byte{0x20, 0x01, 0x0d, 0xb8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9})}, c2v6, 80, 30_000, 0.1, 0.1, 12)
		}, c2v6, true},
		{"ignored service (NTP)", func(rng *rand.Rand) []flow.Record {
			recs := beacons(rng, clients(1, 1), c2, 123, 64_000, 0, 0, 20)
			for i := range recs {
				recs[i].Proto, recs[i].SrcPort, recs[i].TCPFlags = 17, 123, 0
			}
			return recs
		}, c2, false},
		{"responses and inbound records do not count", func(rng *rand.Rand) []flow.Record {
			recs := beacons(rng, clients(1, 1), c2, 443, 60_000, 0, 0.1, 12)
			for i := range recs {
				if i%2 == 0 {
					recs[i].SrcAddr, recs[i].DstAddr, recs[i].SrcPort, recs[i].DstPort = recs[i].DstAddr, recs[i].SrcAddr, 443, recs[i].SrcPort
					recs[i].Pseudo = flow.PseudoDst
				} else {
					recs[i].Class = flow.ClassInbound
				}
			}
			return recs
		}, c2, false},
		{"prevalent server (shared infrastructure)", func(rng *rand.Rand) []flow.Record {
			recs := beacons(rng, clients(40, 1), c2, 443, 60_000, 0.05, 0.1, 12)
			// 40 of 60 active hosts beacon to it.
			for i, c := range clients(20, 2) {
				for k := range 4 {
					recs = append(recs, conn(c, v4(198, 51, 100, byte(i)), 53, t0+int64(k)*1000, 80))
				}
			}
			sortByStart(recs)
			return recs
		}, c2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFeeder(t, DefaultConfig())
			f.feed(tt.recs(rand.New(rand.NewPCG(7, 9))))
			f.d.Flush(f.emit)
			got := c2Findings(f.found, tt.server)
			if (len(got) > 0) != tt.want {
				t.Fatalf("findings %d, want found=%v (all: %d)", len(got), tt.want, len(f.found))
			}
			for _, x := range got {
				e := x.Evidence
				if x.Pseudo || x.Role != detect.RoleC2 || e.Score <= 0 || e.Score > 1 || e.Reason == "" || len(e.Peers) == 0 || len(e.Samples) == 0 || len(e.Samples) > 3 || len(e.Peers) > 10 {
					t.Errorf("bad finding: %+v", x)
				}
				for _, p := range e.Peers {
					if p.Role != "client" || !p.Pseudo {
						t.Errorf("peer %+v: want a pseudonymous client", p)
					}
				}
				if e.Series == nil || len(e.Series.T) != len(e.Series.V) || len(e.Series.T) < 2 {
					t.Errorf("series %+v", e.Series)
				}
			}
		})
	}
}

// TestEmitOnce: a finding as soon as the threshold is crossed (in
// Observe), and once more when the window closes; not one per record.
func TestEmitOnce(t *testing.T) {
	c2 := v4(203, 0, 113, 7)
	cfg := DefaultConfig()
	cfg.Window = time.Hour
	f := newFeeder(t, cfg)
	recs := beacons(rand.New(rand.NewPCG(1, 1)), clients(1, 1), c2, 443, 60_000, 0, 0.1, 40)
	f.feed(recs)
	live := len(c2Findings(f.found, c2))
	if live != 1 {
		t.Fatalf("%d findings before the window closed, want 1", live)
	}
	f.d.Flush(f.emit)
	got := c2Findings(f.found, c2)
	if len(got) != 2 || got[1].Evidence.Counts["final"] != 1 {
		t.Fatalf("findings %d after flush, want 2 (the last final)", len(got))
	}
	if c := got[1].Evidence.Counts; c["connections"] != 40 || c["interval_median_s"] != 60 || c["beaconing_hosts"] != 1 {
		t.Errorf("counts %v", c)
	}
}

// TestSplitRecords: records of one connection split by an exporter's
// active timeout (same 5-tuple, no SYN) are one connection.
func TestSplitRecords(t *testing.T) {
	c2 := v4(203, 0, 113, 7)
	f := newFeeder(t, DefaultConfig())
	var recs []flow.Record
	for _, r := range beacons(rand.New(rand.NewPCG(1, 2)), clients(1, 1), c2, 443, 60_000, 0, 0, 20) {
		r2 := r
		r2.Start, r2.End, r2.TCPFlags = r.End+5_000, r.End+30_000, flow.TCPAck|flow.TCPPsh
		recs = append(recs, r, r2)
	}
	f.feed(recs)
	f.d.Flush(f.emit)
	got := c2Findings(f.found, c2)
	if len(got) == 0 {
		t.Fatal("not found")
	}
	last := got[len(got)-1].Evidence.Counts
	if last["connections"] != 20 || last["size_median_bytes"] != 1600 {
		t.Errorf("connections %v, size %v; want 20 connections of 1600 bytes", last["connections"], last["size_median_bytes"])
	}
}

// TestOutOfOrder: shuffled records (within the lateness) give the same
// intervals.
func TestOutOfOrder(t *testing.T) {
	c2 := v4(203, 0, 113, 7)
	recs := beacons(rand.New(rand.NewPCG(3, 3)), clients(1, 1), c2, 443, 60_000, 0, 0.1, 30)
	rng := rand.New(rand.NewPCG(4, 4))
	for i := 0; i+4 <= len(recs); i += 4 { // shuffle groups of 4 (3 minutes)
		rng.Shuffle(4, func(a, b int) { recs[i+a], recs[i+b] = recs[i+b], recs[i+a] })
	}
	f := newFeeder(t, DefaultConfig())
	f.feed(recs)
	f.d.Flush(f.emit)
	got := c2Findings(f.found, c2)
	if len(got) == 0 {
		t.Fatal("not found")
	}
	c := got[len(got)-1].Evidence.Counts
	if c["interval_median_s"] != 60 || c["interval_mad_s"] != 0 || c["connections"] != 30 {
		t.Errorf("counts %v", c)
	}
	if f.d.Stats().Late != 0 {
		t.Errorf("late %d, want 0", f.d.Stats().Late)
	}
}

// TestLate: a record older than what the detector still keeps is late.
func TestLate(t *testing.T) {
	f := newFeeder(t, DefaultConfig())
	f.feed([]flow.Record{conn(v4(10, 1, 0, 1), v4(203, 0, 113, 7), 443, t0+4*3600_000, 500)})
	f.feed([]flow.Record{conn(v4(10, 1, 0, 1), v4(203, 0, 113, 8), 443, t0, 500)})
	if st := f.d.Stats(); st.Late != 1 {
		t.Errorf("late %d, want 1", st.Late)
	}
}

// TestEviction: the pair table is bounded; evictions are counted.
func TestEviction(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxKeys, cfg.MaxSeries = 16, 4
	f := newFeeder(t, cfg)
	var recs []flow.Record
	for i := range 100 {
		for k := range 4 {
			recs = append(recs, conn(v4(10, 1, 0, byte(i)), v4(203, 0, 113, byte(i)), 443, t0+int64(i)*1000+int64(k)*60_000, 500))
		}
	}
	sortByStart(recs)
	f.feed(recs)
	st := f.d.Stats()
	if st.Evictions == 0 || f.d.slots.used > 16 || f.d.seriesCount > 4 {
		t.Errorf("stats %+v, pairs %d series %d", st, f.d.slots.used, f.d.seriesCount)
	}
	if st.Keys > st.MaxKeys || st.BytesPerKey() > 512 {
		t.Errorf("stats %+v", st)
	}
}

// TestSampledSizes: sizes are scaled by the sampling rate.
func TestSampledSizes(t *testing.T) {
	c2 := v4(203, 0, 113, 7)
	recs := beacons(rand.New(rand.NewPCG(5, 5)), clients(1, 1), c2, 443, 60_000, 0, 0, 12)
	for i := range recs {
		recs[i].SamplingRate = 10
	}
	f := newFeeder(t, DefaultConfig())
	f.feed(recs)
	f.d.Flush(f.emit)
	got := c2Findings(f.found, c2)
	if len(got) == 0 {
		t.Fatal("not found")
	}
	if m := got[0].Evidence.Counts["size_median_bytes"]; m != 8000 {
		t.Errorf("size median %v, want 8000", m)
	}
}

// TestInsert: the interval history keeps order whatever the arrival
// order, and drops the oldest when full.
func TestInsert(t *testing.T) {
	tests := []struct {
		name   string
		starts []int64
		capD   int
		d      []uint32
		first  int64
	}{
		{"in order", []int64{0, 10, 25}, 4, []uint32{10, 15}, 0},
		{"late in the middle", []int64{0, 25, 10}, 4, []uint32{10, 15}, 0},
		{"before the first", []int64{10, 25, 0}, 4, []uint32{10, 15}, 0},
		{"full: oldest dropped", []int64{0, 10, 20, 30}, 2, []uint32{10, 10}, 10},
		{"full: older than all, dropped", []int64{10, 20, 30, 0}, 2, []uint32{10, 10}, 10},
		{"full: late inside", []int64{0, 20, 30, 10}, 2, []uint32{10, 10}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d [8]uint32
			var sz [9]uint32
			c := conns{d: d[:0], sz: sz[:0]}
			for _, s := range tt.starts {
				c.insert(s, uint32(s), tt.capD)
			}
			if len(c.d) != len(tt.d) || c.first() != tt.first || len(c.sz) != len(c.d)+1 {
				t.Fatalf("d %v sz %v first %d; want d %v first %d", c.d, c.sz, c.first(), tt.d, tt.first)
			}
			for i := range c.d {
				if c.d[i] != tt.d[i] {
					t.Fatalf("d %v, want %v", c.d, tt.d)
				}
			}
			// Sizes follow their connections (size = start here).
			at := c.first()
			for i, b := range c.sz {
				if int64(b) != at {
					t.Fatalf("sz %v does not follow starts (at %d)", c.sz, i)
				}
				if i < len(c.d) {
					at += int64(c.d[i])
				}
			}
		})
	}
}

// TestPoissonNull: random (Poisson) connections never reach the
// threshold, over many series of every length judged.
func TestPoissonNull(t *testing.T) {
	cfg := DefaultConfig()
	s := newScorer(cfg.Jitter, cfg.Outliers, cfg.SizeWeight, 5000, 3600_000)
	rng := rand.New(rand.NewPCG(11, 12))
	worst := -1e9
	for range 20000 {
		n := 5 + rng.IntN(ringLen-4)
		d := make([]uint32, n)
		sz := make([]uint32, n+1)
		for i := range d {
			d[i] = uint32(rng.ExpFloat64() * 120_000)
		}
		for i := range sz {
			sz[i] = uint32(300 + rng.IntN(3000))
		}
		if r := s.score(d, sz); r.cand {
			worst = max(worst, r.llr)
		}
	}
	if worst >= cfg.Threshold {
		t.Errorf("a Poisson series scored %.1f, threshold %.0f", worst, cfg.Threshold)
	}
	t.Logf("worst Poisson score %.1f", worst)
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.MaxKeys, bad.Jitter, bad.IgnoreServices, bad.MaxInterval = 0, 1.5, []string{"ntp"}, time.Second
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"detect.beacon.max_keys", "detect.beacon.jitter", "detect.beacon.ignore_services[0]", "detect.beacon.max_interval"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
	if _, err := New(bad); err == nil {
		t.Error("New accepted a bad config")
	}
}

// FuzzObserve: random records never panic, and the state stays bounded.
func FuzzObserve(f *testing.F) {
	f.Add([]byte("seed"), uint16(443), int64(60_000))
	f.Add(make([]byte, 64), uint16(123), int64(-5))
	f.Fuzz(func(t *testing.T, data []byte, port uint16, step int64) {
		cfg := DefaultConfig()
		cfg.MaxKeys, cfg.MaxSeries = 8, 4
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		emit := func(detect.Finding) {}
		var recs []flow.Record
		at := t0
		for i := 0; i+4 <= len(data); i += 4 {
			b := data[i : i+4]
			at += step * int64(b[0]%7)
			r := conn(v4(10, 0, 0, b[1]%5), v4(203, 0, 113, b[2]%3), port^uint16(b[3]%2), at, uint64(b[3])*100)
			r.Proto = []uint8{6, 17, 1, 58, 47}[b[0]%5]
			r.Class = flow.Class(b[1] % 5)
			r.TCPFlags = b[2]
			r.SrcPort = uint16(b[3]) << 4
			r.End = r.Start + int64(b[1])*int64(step%1000)
			recs = append(recs, r)
		}
		wm := int64(-1 << 62)
		for i := 0; i < len(recs); i += 3 {
			d.Observe(recs[i:min(i+3, len(recs))], wm, emit)
			wm = max(wm, at-int64(len(recs)-i)*1000)
			d.Advance(wm, emit)
		}
		d.Flush(emit)
		if st := d.Stats(); st.Keys > st.MaxKeys {
			t.Fatalf("keys %d above %d", st.Keys, st.MaxKeys)
		}
	})
}

// TestTrailingAck: exporters that end a flow at FIN report the last ACK
// as a 1-packet flow of its own, sometimes after the next connection
// started (a pcap meter at the end of a file, for one): it is part of
// the old connection, never a new one.
func TestTrailingAck(t *testing.T) {
	c2 := v4(203, 0, 113, 7)
	f := newFeeder(t, DefaultConfig())
	var recs, trailing []flow.Record
	for _, r := range beacons(rand.New(rand.NewPCG(5, 6)), clients(1, 1), c2, 80, 10_000, 0.2, 0, 25) {
		r.TCPFlags = flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin
		ack := r
		ack.Start, ack.End, ack.Packets, ack.Bytes, ack.TCPFlags = r.End+40, r.End+40, 1, 52, flow.TCPAck
		recs = append(recs, r)
		trailing = append(trailing, ack)
	}
	// The trailing ACKs arrive in one late batch, after every connection.
	f.feed(recs)
	f.feed(trailing)
	f.d.Flush(f.emit)
	got := c2Findings(f.found, c2)
	if len(got) == 0 {
		t.Fatal("not found")
	}
	if c := got[len(got)-1].Evidence.Counts; c["connections"] != 25 {
		t.Errorf("connections %v, want 25 (trailing ACK flows are not connections)", c["connections"])
	}
}
