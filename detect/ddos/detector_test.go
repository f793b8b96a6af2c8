package ddos

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()

func addr(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }

// src returns the i-th source of a /16 (IPv4) or a /96 (IPv6).
func src(i int, v6 bool) flow.Addr {
	if v6 {
		return addr(fmt.Sprintf("2001:db8:e000::%x:%x", i>>16, i&0xffff))
	}
	return addr(fmt.Sprintf("203.0.%d.%d", i>>8&255, i&255))
}

// flood makes rate records per second for secs seconds from n sources
// to dst, starting at start (ms); kind is "syn", "udp", "dns" (reflection
// from port 53), "icmp" or "est" (established TCP).
func flood(kind string, dst flow.Addr, n, rate, secs int, start int64, v6 bool) []flow.Record {
	var out []flow.Record
	total := rate * secs
	for i := range total {
		t := start + int64(i)*1000/int64(rate)
		r := flow.Record{Start: t, End: t, SrcAddr: src(i%n, v6), DstAddr: dst, SrcPort: uint16(1024 + i%60000), DstPort: 80,
			Packets: 1, Bytes: 60, Class: flow.ClassInbound}
		switch kind {
		case "syn":
			r.Proto, r.TCPFlags = 6, flow.TCPSyn
		case "est":
			r.Proto, r.TCPFlags, r.Packets, r.Bytes = 6, flow.TCPSyn|flow.TCPAck|flow.TCPPsh, 20, 20000
		case "udp":
			r.Proto, r.Packets, r.Bytes, r.End = 17, 50, 50*1000, t+200
		case "dns":
			r.Proto, r.SrcPort, r.DstPort, r.Packets, r.Bytes = 17, 53, uint16(1024+i%60000), 10, 10*1400
		case "icmp":
			r.Proto, r.SrcPort, r.DstPort, r.Packets, r.Bytes = 1, 0, 8<<8, 20, 20*84
		}
		out = append(out, r)
	}
	return out
}

// run feeds recs in batches as the engine would (watermark one minute
// behind the latest end) and returns the findings, after a flush.
func run(t *testing.T, d *Detector, recs []flow.Record) []detect.Finding {
	t.Helper()
	var out []detect.Finding
	emit := func(f detect.Finding) {
		if f.Evidence.Score < 0 || f.Evidence.Score > 1 || math.IsNaN(f.Evidence.Score) {
			t.Errorf("score %v out of [0,1]", f.Evidence.Score)
		}
		out = append(out, f)
	}
	maxEnd := int64(math.MinInt64)
	for len(recs) > 0 {
		n := min(len(recs), 1024)
		for i := range recs[:n] {
			maxEnd = max(maxEnd, recs[i].End)
		}
		d.Observe(recs[:n], maxEnd-60_000, emit)
		d.Advance(maxEnd-60_000, emit)
		recs = recs[n:]
	}
	d.Flush(emit)
	return out
}

func newDet(t *testing.T, mod func(*Config)) *Detector {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// distinct counts the distinct addresses of a role among findings.
func distinct(fs []detect.Finding, role detect.Role) map[flow.Addr]detect.Finding {
	m := map[flow.Addr]detect.Finding{}
	for _, f := range fs {
		if f.Role == role {
			m[f.Addr] = f
		}
	}
	return m
}

func TestFloods(t *testing.T) {
	victim, victim6 := addr("198.51.100.7"), addr("2001:db8:100::7")
	sampled := flood("syn", victim, 50, 20, 10, t0, false)
	for i := range sampled {
		sampled[i].SamplingRate = 100 // 20 sampled SYNs/s stand for 2000/s
	}
	tests := []struct {
		name    string
		recs    []flow.Record
		victim  flow.Addr // zero: no victim expected
		vector  string
		sources int // ddos-sources expected
	}{
		{"syn flood", flood("syn", victim, 50, 3000, 10, t0, false), victim, "syn", 50},
		{"syn below floor", flood("syn", victim, 50, 500, 30, t0, false), flow.Addr{}, "", 0},
		{"one source (a scanner or DoS, not distributed)", flood("syn", victim, 1, 3000, 10, t0, false), flow.Addr{}, "", 0},
		{"established traffic is no flood", flood("est", victim, 200, 3000, 10, t0, false), flow.Addr{}, "", 0},
		{"udp flood", flood("udp", victim, 40, 400, 10, t0, false), victim, "udp", 40},
		{"icmp flood", flood("icmp", victim, 40, 400, 10, t0, false), victim, "icmp", 40},
		{"dns reflection: victim only", flood("dns", victim, 30, 300, 10, t0, false), victim, "reflection", 0},
		{"ipv6 syn flood", flood("syn", victim6, 60, 2000, 10, t0, true), victim6, "syn", 60},
		{"sampled records are scaled", sampled, victim, "syn", 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := run(t, newDet(t, nil), tc.recs)
			victims := distinct(fs, detect.RoleDDoSVictim)
			sources := distinct(fs, detect.RoleDDoSSource)
			if tc.victim == (flow.Addr{}) {
				if len(fs) > 0 {
					t.Fatalf("want no finding, got %d: %s", len(fs), fs[0].Evidence.Reason)
				}
				return
			}
			f, ok := victims[tc.victim]
			if !ok || len(victims) != 1 {
				t.Fatalf("victims %v, want %v", victims, tc.victim)
			}
			if f.Evidence.Counts["vector_"+tc.vector] != 1 {
				t.Errorf("vector: counts %v, want %s", f.Evidence.Counts, tc.vector)
			}
			if len(sources) != tc.sources {
				t.Errorf("%d sources named, want %d", len(sources), tc.sources)
			}
			if !strings.Contains(f.Evidence.Reason, tc.victim.String()) || f.Evidence.Score < 0.5 {
				t.Errorf("evidence %+v", f.Evidence)
			}
			last := fs[len(fs)-1]
			for _, g := range fs {
				if g.Role == detect.RoleDDoSVictim {
					last = g
				}
			}
			if last.Evidence.Series == nil || len(last.Evidence.Samples) == 0 || len(last.Evidence.Samples) > 3 || len(last.Evidence.Peers) > 10 {
				t.Errorf("final victim evidence lacks series/samples/peers: %+v", last.Evidence)
			}
			if tc.sources > 0 && len(last.Evidence.Peers) == 0 {
				t.Errorf("no peers")
			}
			// At most one live finding and one per window close per source.
			per := map[flow.Addr]int{}
			for _, g := range fs {
				if g.Role == detect.RoleDDoSSource {
					per[g.Addr]++
				}
			}
			for a, n := range per {
				if n > 3 {
					t.Errorf("%v: %d findings for a 10-second flood", a, n)
				}
			}
		})
	}
}

// TestBaseline: a destination that always receives 5000 UDP packets/s
// learns it, so 15 000/s (above the floor, under 8 × baseline) is no
// alarm, while a new destination alarms at 15 000/s.
func TestBaseline(t *testing.T) {
	busy, fresh := addr("198.51.100.8"), addr("198.51.100.9")
	var recs []flow.Record
	recs = append(recs, flood("udp", busy, 50, 100, 1800, t0, false)...) // 30 min of 5000 pps
	recs = append(recs, flood("udp", busy, 50, 300, 20, t0+1800_000, false)...)
	// The fresh destination's flood, merged in time order.
	fr := flood("udp", fresh, 50, 300, 20, t0+1800_000, false)
	recs = mergeByStart(recs, fr)
	fs := run(t, newDet(t, nil), recs)
	v := distinct(fs, detect.RoleDDoSVictim)
	if _, ok := v[busy]; ok {
		t.Errorf("busy destination alarmed despite its baseline")
	}
	if _, ok := v[fresh]; !ok {
		t.Errorf("fresh destination not found")
	}
}

func mergeByStart(a, b []flow.Record) []flow.Record {
	out := make([]flow.Record, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Start <= b[0].Start {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// TestPulse: 5-second pulses every minute stay one attack; the bots of
// every pulse are named.
func TestPulse(t *testing.T) {
	victim := addr("198.51.100.10")
	var recs []flow.Record
	for p := range 4 {
		// Each pulse has its own bots, 30 of them.
		r := flood("syn", victim, 30, 2000, 5, t0+int64(p)*60_000, false)
		for i := range r {
			r[i].SrcAddr = src(p*100+i%30, false)
		}
		recs = append(recs, r...)
	}
	d := newDet(t, nil)
	fs := run(t, d, recs)
	if n := len(distinct(fs, detect.RoleDDoSSource)); n != 120 {
		t.Errorf("%d bots named, want 120", n)
	}
	var last detect.Finding
	for _, f := range fs {
		if f.Role == detect.RoleDDoSVictim {
			last = f
		}
	}
	if got := last.Evidence.Counts["duration_s"]; got < 180 {
		t.Errorf("attack lasted %vs, want the four pulses held as one (≥ 180 s)", got)
	}
}

// TestLate: records whose window closed are counted as late, not used.
func TestLate(t *testing.T) {
	d := newDet(t, nil)
	victim := addr("198.51.100.11")
	emit := func(detect.Finding) {}
	now := t0 + 10*60_000
	d.Observe([]flow.Record{{Start: now, End: now, SrcAddr: src(1, false), DstAddr: victim, Proto: 17, Packets: 1, Bytes: 100}}, now-60_000, emit)
	d.Advance(now-60_000, emit)
	old := flood("syn", victim, 50, 3000, 2, t0, false)
	var fs []detect.Finding
	d.Observe(old, now-60_000, func(f detect.Finding) { fs = append(fs, f) })
	if st := d.Stats(); st.Late != uint64(len(old)) {
		t.Errorf("late %d, want %d", st.Late, len(old))
	}
	if len(fs) > 0 {
		t.Errorf("late records made findings")
	}
	// Out of order within the open window is fine.
	d2 := newDet(t, nil)
	recs := flood("syn", victim, 50, 3000, 5, t0, false)
	for i := 0; i+1 < len(recs); i += 2 {
		recs[i], recs[i+1] = recs[i+1], recs[i]
	}
	if v := distinct(run(t, d2, recs), detect.RoleDDoSVictim); len(v) != 1 {
		t.Errorf("out-of-order flood not found")
	}
}

// TestEviction: the bounds hold and evictions are counted.
func TestEviction(t *testing.T) {
	d := newDet(t, func(c *Config) { c.MaxKeys, c.MaxSources, c.MaxAttacks = 4, 16, 1 })
	var recs []flow.Record
	for v := range 8 {
		recs = mergeByStart(recs, flood("syn", addr(fmt.Sprintf("198.51.100.%d", 20+v)), 50, 1500, 3, t0, false))
	}
	var fs []detect.Finding
	emit := func(f detect.Finding) { fs = append(fs, f) }
	for len(recs) > 0 {
		n := min(len(recs), 1024)
		d.Observe(recs[:n], t0-60_000, emit)
		recs = recs[n:]
	}
	st := d.Stats()
	if st.Keys > 4+16+1 || st.Evictions == 0 {
		t.Errorf("stats %+v: want at most 21 keys and evictions", st)
	}
	if st.BytesPerKey() > 512 {
		t.Errorf("%.0f bytes per key", st.BytesPerKey())
	}
	d.Flush(emit)
	if d.Stats().Keys != 0 {
		t.Errorf("keys left after flush: %+v", d.Stats())
	}
}

// TestPseudonyms: findings keep pseudonyms and their key epoch.
func TestPseudonyms(t *testing.T) {
	victim := addr("198.18.3.4")
	recs := flood("syn", victim, 20, 3000, 3, t0, false)
	for i := range recs {
		recs[i].Pseudo, recs[i].KeyEpoch = flow.PseudoDst, 7
	}
	fs := run(t, newDet(t, nil), recs)
	v := distinct(fs, detect.RoleDDoSVictim)
	f, ok := v[victim]
	if !ok || !f.Pseudo || f.KeyEpoch != 7 {
		t.Fatalf("victim finding %+v", f)
	}
	for _, s := range distinct(fs, detect.RoleDDoSSource) {
		if s.Pseudo || s.Evidence.Peers[0].Pseudo != true {
			t.Errorf("source finding %+v", s)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	c.MaxKeys, c.Bucket, c.Multiplier, c.MinSources, c.WatchFraction = 0, 0, 0.5, 500, 2
	c.SYN.PPS = -1
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, key := range []string{"detect.ddos.max_keys", "detect.ddos.bucket", "detect.ddos.multiplier", "detect.ddos.min_sources", "detect.ddos.watch_fraction", "detect.ddos.syn"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name %s", err, key)
		}
	}
	if _, err := New(c); err == nil {
		t.Error("New accepted a bad config")
	}
}
