package scan

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

var scanner = v4(192, 0, 2, 7)

// horizontal returns n failed probes to n hosts on port, one every step
// ms from t.
func horizontal(t, step int64, src flow.Addr, n int, port uint16) []flow.Record {
	out := make([]flow.Record, n)
	for i := range out {
		out[i] = syn(t+int64(i)*step, src, host(i), port)
	}
	return out
}

func TestThresholds(t *testing.T) {
	victim := v4(198, 51, 100, 9)
	for _, tc := range []struct {
		name string
		recs func() []flow.Record
		want bool
	}{
		{"horizontal 60 hosts in a minute", func() []flow.Record { return horizontal(base, 500, scanner, 60, 22) }, true},
		{"horizontal 20 hosts", func() []flow.Record { return horizontal(base, 500, scanner, 20, 22) }, false},
		{"vertical 60 ports", func() []flow.Record {
			var out []flow.Record
			for p := range 60 {
				out = append(out, syn(base+int64(p)*100, scanner, victim, uint16(1+p)))
			}
			return out
		}, true},
		{"vertical 20 ports", func() []flow.Record {
			var out []flow.Record
			for p := range 20 {
				out = append(out, syn(base+int64(p)*100, scanner, victim, uint16(1+p)))
			}
			return out
		}, false},
		{"ipv6 horizontal", func() []flow.Record {
			var out []flow.Record
			for i := range 80 {
				r := syn(base+int64(i)*100, v6(0xffff), v6(i), 3389)
				out = append(out, r)
			}
			return out
		}, true},
		{"syn flood on one victim port", func() []flow.Record {
			var out []flow.Record
			for i := range 5000 {
				r := syn(base+int64(i)*10, scanner, victim, 443)
				r.SrcPort = uint16(1024 + i)
				out = append(out, r)
			}
			return out
		}, false},
		{"brute force: connections to one service", func() []flow.Record {
			var out []flow.Record
			for i := range 300 {
				out = append(out, conn(base+int64(i)*150, scanner, victim, 22))
			}
			return out
		}, false},
		{"busy client: 60 failed among many completed", func() []flow.Record {
			out := horizontal(base, 500, scanner, 60, 443)
			for i := range 200 {
				out = append(out, conn(base+int64(i)*150, scanner, host(i%40), 443))
			}
			return out
		}, false},
		{"connect scan of open ports, all answered", func() []flow.Record {
			var out []flow.Record
			for i := range 80 {
				r := syn(base+int64(i)*100, scanner, host(i), 80)
				r.TCPFlags, r.Packets, r.Bytes = flow.TCPSyn|flow.TCPAck|flow.TCPRst, 3, 120
				out = append(out, r)
			}
			return out
		}, false},
		{"udp sweep", func() []flow.Record {
			var out []flow.Record
			for i := range 80 {
				out = append(out, flow.Record{Start: base + int64(i)*100, End: base + int64(i)*100, SrcAddr: scanner, DstAddr: host(i),
					SrcPort: 40000, DstPort: 161, Proto: protoUDP, Packets: 1, Bytes: 70})
			}
			return out
		}, true},
		{"slow scan: 30 hosts in 30 minutes", func() []flow.Record { return horizontal(base, 60_000, scanner, 30, 445) }, true},
		{"slow: 15 hosts in 30 minutes", func() []flow.Record { return horizontal(base, 120_000, scanner, 15, 445) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeeder(newDet(t, nil))
			recs := tc.recs()
			slices.SortStableFunc(recs, func(a, b flow.Record) int { return cmp.Compare(a.Start, b.Start) })
			for i := 0; i < len(recs); i += 7 {
				f.observe(recs[i:min(i+7, len(recs))]...)
			}
			f.flush()
			if got := len(f.c.fs) > 0; got != tc.want {
				t.Fatalf("found = %v, want %v (%d findings)", got, tc.want, len(f.c.fs))
			}
			for _, x := range f.c.fs {
				if x.Role != detect.RoleScanner || x.Evidence.Score <= 0 || x.Evidence.Score > 1 {
					t.Errorf("bad finding %+v", x.Evidence)
				}
			}
		})
	}
}

// TestEmissions: a finding as soon as a threshold is crossed (the slow
// rule's first, at 24 hosts, then the fast rule's at 50), once more when
// each window closes, not per record.
func TestEmissions(t *testing.T) {
	f := newFeeder(newDet(t, nil))
	recs := horizontal(base, 100, scanner, 200, 22) // 20 s
	for i := range recs {
		f.observe(recs[i])
		switch {
		case i == 30 && len(f.c.fs) != 1:
			t.Fatalf("after 31 probes: %d findings, want 1 (slow rule, live)", len(f.c.fs))
		case i == 60 && len(f.c.fs) != 2:
			t.Fatalf("after 61 probes: %d findings, want 2 (fast rule, live)", len(f.c.fs))
		}
	}
	if len(f.c.fs) != 2 {
		t.Fatalf("%d findings before the window closed, want 2", len(f.c.fs))
	}
	if f.c.fs[0].Evidence.Counts["slow"] != 1 || f.c.fs[1].Evidence.Counts["slow"] != 0 {
		t.Errorf("first findings: want slow then fast")
	}
	live := f.c.fs[1]
	if h := live.Evidence.Counts["hosts"]; h < 45 || h > 60 {
		t.Errorf("live finding counts %v hosts, want about 50", h)
	}
	f.advance(base + 60_000)
	if len(f.c.fs) != 3 {
		t.Fatalf("%d findings after the window closed, want 3", len(f.c.fs))
	}
	final := f.c.fs[2].Evidence
	if h := final.Counts["hosts"]; h < 180 || h > 220 {
		t.Errorf("final counts %v hosts, want about 200", h)
	}
	if final.Counts["probes"] != 200 || final.Counts["failed_share"] != 1 || final.Counts["top_port"] != 22 {
		t.Errorf("final counts %v", final.Counts)
	}
	if !strings.Contains(final.Reason, "port 22/tcp") || !strings.HasPrefix(final.Reason, "horizontal scan") {
		t.Errorf("reason %q", final.Reason)
	}
	if final.Series == nil || len(final.Series.V) != seriesLen || final.Series.V[0]+final.Series.V[1]+final.Series.V[2] != 200 {
		t.Errorf("series %+v", final.Series)
	}
	if len(final.Peers) == 0 || len(final.Peers) > 10 || len(final.Samples) != 1 {
		t.Errorf("peers %v samples %v", final.Peers, final.Samples)
	}
	if !final.First.Equal(detect.Millis(base)) || !final.Last.Equal(detect.Millis(base+19_900)) {
		t.Errorf("first %v last %v", final.First, final.Last)
	}
	if f.d.Stats().Keys != 1 {
		t.Errorf("keys %d, want 1 (the slow window is open)", f.d.Stats().Keys)
	}
	// The slow window closes an hour later: its final counts, then the
	// key is gone.
	f.advance(base + 3_600_000)
	if len(f.c.fs) != 4 || f.c.fs[3].Evidence.Counts["slow"] != 1 || f.c.fs[3].Evidence.Counts["probes"] != 200 {
		t.Fatalf("%d findings after the slow window closed, want 4 (the last slow, final)", len(f.c.fs))
	}
	if f.d.Stats().Keys != 0 {
		t.Errorf("keys %d after every window closed", f.d.Stats().Keys)
	}
	if _, err := json.Marshal(final); err != nil {
		t.Error(err)
	}
}

// TestLateAndOutOfOrder: records of a window still open count in it;
// records of a closed window are late.
func TestLateAndOutOfOrder(t *testing.T) {
	f := newFeeder(newDet(t, func(c *Config) { c.SlowMinHosts, c.SlowMinPorts = 0, 0 }))
	// 30 hosts in window 0, then 30 in window 1, then 25 more of window 0
	// (out of order, its window still open).
	f.observe(horizontal(base, 100, scanner, 30, 22)...)
	var w1 []flow.Record
	for i := range 30 {
		w1 = append(w1, syn(base+60_000+int64(i)*100, scanner, host(1000+i), 22))
	}
	f.observe(w1...)
	if len(f.c.fs) != 0 {
		t.Fatalf("%d findings, want none yet", len(f.c.fs))
	}
	var late []flow.Record
	for i := range 25 {
		late = append(late, syn(base+30_000+int64(i)*100, scanner, host(500+i), 22))
	}
	f.observe(late...)
	if len(f.c.fs) == 0 || !f.c.fs[0].Evidence.First.Before(detect.Millis(base+60_000)) {
		t.Fatalf("the out-of-order records did not complete window 0: %d findings", len(f.c.fs))
	}
	if f.d.Stats().Late != 0 {
		t.Errorf("late %d, want 0", f.d.Stats().Late)
	}
	// Close window 0, then send more of it: late.
	f.advance(base + 120_000)
	n := len(f.c.fs)
	f.observe(syn(base+1_000, scanner, host(900), 22), syn(base+2_000, v4(192, 0, 2, 99), host(901), 22))
	if got := f.d.Stats().Late; got != 2 {
		t.Errorf("late %d, want 2", got)
	}
	if len(f.c.fs) != n {
		t.Errorf("late records made findings")
	}
}

func TestEviction(t *testing.T) {
	f := newFeeder(newDet(t, func(c *Config) { c.MaxKeys = 2 }))
	for i := range 3 {
		f.observe(syn(base+int64(i), v4(192, 0, 2, byte(i)), host(i), 22))
	}
	st := f.d.Stats()
	if st.Keys != 2 || st.Evictions != 1 || st.MaxKeys != 2 || st.PeakKeys != 2 {
		t.Errorf("stats %+v", st)
	}
	// A reported source is kept over quiet ones.
	f = newFeeder(newDet(t, func(c *Config) { c.MaxKeys = 3 }))
	f.observe(horizontal(base, 10, scanner, 60, 22)...)
	for i := range 20 {
		f.observe(syn(base+1000+int64(i), v4(192, 0, 3, byte(i)), host(i), 22))
	}
	if k := (key{addr: scanner}); f.d.tab.get(f.d.hash.key(&k), &k) == nil {
		t.Error("the reported scanner was evicted")
	}
	// A reported source evicted to make room reports its final counts
	// first.
	f = newFeeder(newDet(t, func(c *Config) { c.MaxKeys = 1 }))
	f.observe(horizontal(base, 10, scanner, 60, 22)...)
	live := len(f.c.fs)
	f.observe(syn(base+1000, v4(192, 0, 3, 1), host(1), 22))
	if st := f.d.Stats(); st.Evictions != 1 || live == 0 || len(f.c.fs) != 2*live {
		t.Fatalf("%d findings live, %d after eviction (stats %+v), want one final finding per live one", live, len(f.c.fs), st)
	}
	for _, got := range f.c.fs[live:] {
		if got.Addr != scanner || got.Evidence.Counts["hosts"] < 50 {
			t.Errorf("final finding %+v", got)
		}
	}
}

func TestSampled(t *testing.T) {
	// 10 distinct hosts seen at 1:10 stand for about 100.
	f := newFeeder(newDet(t, nil))
	recs := horizontal(base, 1000, scanner, 10, 22)
	for i := range recs {
		recs[i].SamplingRate = 10
	}
	f.observe(recs...)
	f.advance(base + 60_000)
	if len(f.c.fs) != 2 {
		t.Fatalf("%d findings, want 2 (live, final)", len(f.c.fs))
	}
	c := f.c.fs[1].Evidence.Counts
	if c["sampling_rate"] != 10 || c["probes"] != 100 || c["hosts"] < 80 || c["hosts"] > 120 {
		t.Errorf("counts %v", c)
	}
	// Three sampled probes are not enough, whatever the rate.
	f = newFeeder(newDet(t, nil))
	recs = horizontal(base, 1000, scanner, 3, 22)
	for i := range recs {
		recs[i].SamplingRate = 1000
	}
	f.observe(recs...)
	f.flush()
	if len(f.c.fs) != 0 {
		t.Errorf("3 sampled probes made %d findings", len(f.c.fs))
	}
}

func TestPseudonyms(t *testing.T) {
	f := newFeeder(newDet(t, nil))
	recs := horizontal(base, 100, scanner, 60, 22)
	for i := range recs {
		recs[i].Pseudo, recs[i].KeyEpoch, recs[i].Class = flow.PseudoSrc|flow.PseudoDst, 7, flow.ClassDomestic
	}
	// The same address as a real one is another source.
	f.observe(syn(base, scanner, host(1), 22))
	f.observe(recs...)
	if len(f.c.fs) != 2 {
		t.Fatalf("%d findings, want 2 (slow and fast rules, live)", len(f.c.fs))
	}
	x := f.c.fs[1]
	if !x.Pseudo || x.KeyEpoch != 7 || x.Addr != scanner {
		t.Errorf("finding %+v", x)
	}
	for _, p := range x.Evidence.Peers {
		if !p.Pseudo {
			t.Errorf("peer %v not marked a pseudonym", p)
		}
	}
	if s := x.Evidence.Samples[0]; s.Pseudo != "src,dst" {
		t.Errorf("sample pseudo %q", s.Pseudo)
	}
}

// TestUnreachable: ICMP unreachable answers make unknown-outcome probes
// failed ones.
func TestUnreachable(t *testing.T) {
	f := newFeeder(newDet(t, nil))
	var recs []flow.Record
	for i := range 60 {
		recs = append(recs, flow.Record{Start: base + int64(i)*100, End: base + int64(i)*100, SrcAddr: scanner, DstAddr: host(i),
			SrcPort: 40000, DstPort: 161, Proto: protoUDP, Packets: 1, Bytes: 70})
	}
	for i := range 30 { // other traffic: share 0.5*60/90 = 0.33
		recs = append(recs, conn(base+int64(i)*100, scanner, host(i), 443))
	}
	f.observe(recs...)
	if len(f.c.fs) != 0 {
		t.Fatalf("%d findings before the answers", len(f.c.fs))
	}
	for i := range 40 {
		f.observe(flow.Record{Start: base + 10_000 + int64(i), End: base + 10_000 + int64(i), SrcAddr: host(i), DstAddr: scanner,
			Proto: protoICMP, DstPort: 3<<8 | 3, Packets: 1, Bytes: 56})
	}
	if len(f.c.fs) != 1 || f.c.fs[0].Evidence.Counts["slow"] != 0 {
		t.Fatalf("%d findings after 40 unreachables, want 1 (fast)", len(f.c.fs))
	}
}

func TestStateBytes(t *testing.T) {
	d := newDet(t, nil)
	f := newFeeder(d)
	for i := range 100 {
		f.observe(syn(base+int64(i), v4(192, 0, 2, byte(i)), host(i), 22))
	}
	st := d.Stats()
	if st.Keys != 100 || st.BytesPerKey() > 512 {
		t.Errorf("%d keys, %.0f bytes per key (state %d bytes)", st.Keys, st.BytesPerKey(), unsafe.Sizeof(state{}))
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := Config{Window: time.Minute, SlowWindow: 90 * time.Second, MinHosts: 5000, MinFailedShare: 2, UnknownWeight: -1}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"detect.scan.max_keys", "detect.scan.slow_window", "detect.scan.min_hosts",
		"detect.scan.min_failed_share", "detect.scan.unknown_weight", "detect.scan.max_probe_packets", "detect.scan.max_probe_bytes"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
	if _, err := New(c); err == nil {
		t.Error("New accepted a bad config")
	}
	off := DefaultConfig()
	off.MinHosts, off.MinPorts, off.SlowMinHosts, off.SlowMinPorts = 0, 0, 0, 0
	if err := off.Validate(); err == nil || !strings.Contains(err.Error(), "every rule is disabled") {
		t.Errorf("all rules off: %v", err)
	}
}
