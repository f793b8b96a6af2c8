package reflection

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// base is an event time on a window boundary.
var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()

func addr(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }

// refl returns the i-th reflector address (IPv4 or IPv6).
func refl(i int, v6 bool) flow.Addr {
	if v6 {
		return addr(fmt.Sprintf("2001:db8:aa::%x", i+1))
	}
	return addr(fmt.Sprintf("203.0.113.%d", i+1))
}

// udp makes a UDP record of pkts packets of size bytes each.
func udp(t int64, src, dst flow.Addr, sport, dport uint16, pkts, size uint64) flow.Record {
	return flow.Record{Start: t, End: t + 5, SrcAddr: src, DstAddr: dst, SrcPort: sport, DstPort: dport,
		Proto: 17, Packets: pkts, Bytes: pkts * size, Class: flow.ClassInbound}
}

// attack returns n records from k reflectors (round robin) on port, each
// of pkts packets of size bytes, spread over span ms from t.
func attack(t, span int64, victim flow.Addr, k, n int, port uint16, pkts, size uint64, v6 bool) []flow.Record {
	out := make([]flow.Record, n)
	for i := range n {
		out[i] = udp(t+span*int64(i)/int64(n), refl(i%k, v6), victim, port, uint16(1024+i), pkts, size)
	}
	return out
}

type sink struct{ fs []detect.Finding }

func (s *sink) emit(f detect.Finding) { s.fs = append(s.fs, f) }

func (s *sink) count(role detect.Role) int {
	n := 0
	for _, f := range s.fs {
		if f.Role == role {
			n++
		}
	}
	return n
}

func (s *sink) addrs(role detect.Role) map[flow.Addr]bool {
	m := map[flow.Addr]bool{}
	for _, f := range s.fs {
		if f.Role == role {
			m[f.Addr] = true
		}
	}
	return m
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

var victimAddr = addr("198.51.100.7")

func TestThresholds(t *testing.T) {
	// 200 records × 10 packets × 1400 bytes in 5 s: 2.8 MB in one 10 s
	// bucket, 2.2 Mbit/s, above the 2 Mbit/s default.
	cases := []struct {
		name    string
		recs    []flow.Record
		victims int
		refls   int
	}{
		{"dns attack", attack(base, 5000, victimAddr, 20, 200, 53, 10, 1400, false), 1, 20},
		{"dns attack ipv6", attack(base, 5000, addr("2001:db8:5::7"), 20, 200, 53, 10, 1400, true), 1, 20},
		{"ntp monlist", attack(base, 5000, victimAddr, 30, 300, 123, 20, 468, false), 1, 30},
		{"too few reflectors", attack(base, 5000, victimAddr, 5, 200, 53, 10, 1400, false), 0, 0},
		{"rate too low", attack(base, 5000, victimAddr, 20, 100, 53, 10, 1400, false), 0, 0},
		{"normal dns answers", attack(base, 5000, victimAddr, 20, 2000, 53, 10, 300, false), 0, 0},
		{"normal ntp answers", attack(base, 5000, victimAddr, 20, 2000, 123, 10, 76, false), 0, 0},
		{"not an amplifier port", attack(base, 5000, victimAddr, 20, 200, 4444, 10, 1400, false), 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDet(t, nil)
			var s sink
			d.Observe(c.recs, base-time.Minute.Milliseconds(), s.emit)
			// Found live, before any window closes.
			if got := s.count(detect.RoleDDoSVictim); got != c.victims {
				t.Errorf("victim findings %d, want %d", got, c.victims)
			}
			if got := len(s.addrs(detect.RoleReflector)); got != c.refls {
				t.Errorf("reflectors named %d, want %d", got, c.refls)
			}
			for _, f := range s.fs {
				if f.Evidence.Score <= 0 || f.Evidence.Score > 1 || f.Evidence.Reason == "" {
					t.Errorf("finding %+v", f.Evidence)
				}
				if f.Role == detect.RoleReflector && !strings.Contains(f.Evidence.Reason, "abuse") {
					t.Errorf("reflector reason %q does not call for an abuse report", f.Evidence.Reason)
				}
			}
		})
	}
}

func TestTCPIgnored(t *testing.T) {
	d := newDet(t, nil)
	recs := attack(base, 5000, victimAddr, 20, 200, 53, 10, 1400, false)
	for i := range recs {
		recs[i].Proto = 6
	}
	var s sink
	d.Observe(recs, 0, s.emit)
	if len(s.fs) != 0 || d.Stats().Keys != 0 {
		t.Errorf("TCP counted: %d findings, %d keys", len(s.fs), d.Stats().Keys)
	}
}

// TestAsked: a resolver that asked for its (large) answers is no victim.
func TestAsked(t *testing.T) {
	for _, asked := range []bool{false, true} {
		d := newDet(t, nil)
		var s sink
		recs := attack(base, 5000, victimAddr, 20, 200, 53, 10, 1400, false)
		var all []flow.Record
		for i, r := range recs {
			if asked && i > 0 {
				all = append(all, udp(r.Start-1, victimAddr, r.SrcAddr, r.DstPort, 53, 1, 80))
			}
			all = append(all, r)
		}
		d.Observe(all, 0, s.emit)
		d.Flush(s.emit)
		if got := len(s.fs) > 0; got == asked {
			t.Errorf("asked %v: findings %d", asked, len(s.fs))
		}
	}
}

// TestBeforeAlarm: reflectors that answered before the alarm (even in an
// earlier window, below the thresholds) are named when it comes.
func TestBeforeAlarm(t *testing.T) {
	d := newDet(t, nil)
	var s sink
	early := attack(base+20_000, 30_000, victimAddr, 50, 50, 389, 2, 1450, false) // 50 reflectors, a trickle
	d.Observe(early, 0, s.emit)
	if len(s.fs) != 0 {
		t.Fatalf("alarm on a trickle: %d findings", len(s.fs))
	}
	d.Advance(base+70_000, s.emit) // the first window closes
	main := attack(base+70_000, 5000, victimAddr, 20, 200, 389, 10, 1450, false)
	d.Observe(main, base+70_000, s.emit)
	if got := len(s.addrs(detect.RoleReflector)); got != 50 {
		t.Errorf("reflectors named %d, want 50 (the early ones included)", got)
	}
	if s.count(detect.RoleDDoSVictim) != 1 {
		t.Errorf("victim findings %d", s.count(detect.RoleDDoSVictim))
	}
}

// TestWindows: one finding at the alarm, one final at the close, and the
// attack's new reflectors are named at once in the next window.
func TestWindows(t *testing.T) {
	d := newDet(t, nil)
	var s sink
	d.Observe(attack(base, 5000, victimAddr, 20, 200, 53, 10, 1400, false), 0, s.emit)
	d.Observe(attack(base+30_000, 5000, victimAddr, 20, 200, 53, 10, 1400, false), 0, s.emit)
	if s.count(detect.RoleDDoSVictim) != 1 || s.count(detect.RoleReflector) != 20 {
		t.Fatalf("after the alarm: %d victim, %d reflector findings", s.count(detect.RoleDDoSVictim), s.count(detect.RoleReflector))
	}
	d.Advance(base+60_000, s.emit)
	// The close: the victim's final counts; reflectors are named once a
	// window.
	if s.count(detect.RoleDDoSVictim) != 2 || s.count(detect.RoleReflector) != 20 {
		t.Fatalf("after the close: %d victim, %d reflector findings", s.count(detect.RoleDDoSVictim), s.count(detect.RoleReflector))
	}
	fin := s.fs[len(s.fs)-1]
	if fin.Role != detect.RoleDDoSVictim || fin.Evidence.Counts["flows"] != 400 || fin.Evidence.Counts["reflectors"] != 20 ||
		len(fin.Evidence.Peers) != 10 || len(fin.Evidence.Samples) != 3 || fin.Evidence.Series == nil {
		t.Errorf("final victim evidence %+v", fin.Evidence)
	}
	d.Advance(base+60_000, s.emit) // same boundary: nothing new
	if len(s.fs) != 22 {
		t.Errorf("repeated Advance emitted: %d findings", len(s.fs))
	}
	// Next window: a single response from a new reflector is named at
	// once (the victim alarmed in the previous window).
	s.fs = nil
	d.Observe([]flow.Record{udp(base+61_000, refl(99, false), victimAddr, 53, 999, 3, 1400)}, base+60_000, s.emit)
	if s.count(detect.RoleReflector) != 1 || s.fs[0].Addr != refl(99, false) {
		t.Errorf("continuation: %+v", s.fs)
	}
}

func TestLateAndOutOfOrder(t *testing.T) {
	d := newDet(t, nil)
	var s sink
	recs := attack(base+60_000, 5000, victimAddr, 20, 200, 53, 10, 1400, false)
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 { // reversed
		recs[i], recs[j] = recs[j], recs[i]
	}
	d.Advance(base+60_000, s.emit)
	old := udp(base+10_000, refl(1, false), victimAddr, 53, 1000, 10, 1400)
	d.Observe(append(recs, old), base+60_000, s.emit)
	if d.Stats().Late != 1 {
		t.Errorf("late %d, want 1", d.Stats().Late)
	}
	if s.count(detect.RoleDDoSVictim) != 1 || len(s.addrs(detect.RoleReflector)) != 20 {
		t.Errorf("out of order: %d victim findings, %d reflectors", s.count(detect.RoleDDoSVictim), len(s.addrs(detect.RoleReflector)))
	}
}

// TestSampled: sampled records are scaled by their rate.
func TestSampled(t *testing.T) {
	for _, rate := range []uint32{1, 100} {
		d := newDet(t, nil)
		var s sink
		recs := attack(base, 5000, victimAddr, 20, 40, 53, 1, 1400, false)
		for i := range recs {
			recs[i].SamplingRate = rate
		}
		d.Observe(recs, 0, s.emit)
		if got := s.count(detect.RoleDDoSVictim); got != map[uint32]int{1: 0, 100: 1}[rate] {
			t.Errorf("rate %d: %d victim findings", rate, got)
		}
	}
}

// TestPseudonyms: a domestic victim (pseudonym) and a domestic reflector
// (a misused server of ours) keep their pseudonym flags and epoch.
func TestPseudonyms(t *testing.T) {
	d := newDet(t, nil)
	var s sink
	recs := attack(base, 5000, victimAddr, 20, 200, 53, 10, 1400, false)
	for i := range recs {
		recs[i].KeyEpoch = 7
		recs[i].Pseudo = flow.PseudoDst
		if i%20 == 0 {
			recs[i].Pseudo |= flow.PseudoSrc
		}
	}
	d.Observe(recs, 0, s.emit)
	for _, f := range s.fs {
		wantPseudo := f.Role == detect.RoleDDoSVictim || f.Addr == refl(0, false)
		if f.Pseudo != wantPseudo || (f.Pseudo && f.KeyEpoch != 7) || (!f.Pseudo && f.KeyEpoch != 0) {
			t.Errorf("%s %s: pseudo %v epoch %d", f.Role, f.Addr, f.Pseudo, f.KeyEpoch)
		}
	}
	if s.count(detect.RoleDDoSVictim) != 1 {
		t.Errorf("victim findings %d", s.count(detect.RoleDDoSVictim))
	}
}

func TestEviction(t *testing.T) {
	d := newDet(t, func(c *Config) { c.MaxKeys, c.MaxReflectors = 2, 10 })
	var s sink
	for v := range 5 {
		d.Observe(attack(base+int64(v)*1000, 1000, addr(fmt.Sprintf("198.51.100.%d", v+1)), 4, 8, 53, 1, 1400, false), 0, s.emit)
	}
	st := d.Stats()
	if st.Keys != 12 || st.Evictions != 3+10 || st.MaxKeys != 12 {
		t.Errorf("stats %+v", st)
	}
	if st.BytesPerKey() > 512 {
		t.Errorf("%.0f bytes per key", st.BytesPerKey())
	}
}

func TestAdvanceForgets(t *testing.T) {
	d := newDet(t, nil)
	var s sink
	d.Observe(attack(base, 5000, victimAddr, 5, 50, 53, 10, 1400, false), 0, s.emit)
	if d.Stats().Keys != 6 {
		t.Fatalf("keys %d", d.Stats().Keys)
	}
	d.Advance(base+2*60_000, s.emit)
	if d.Stats().Keys != 6 {
		t.Errorf("forgot within memory: keys %d", d.Stats().Keys)
	}
	d.Advance(base+7*60_000, s.emit)
	if d.Stats().Keys != 0 || len(s.fs) != 0 {
		t.Errorf("after memory: keys %d findings %d", d.Stats().Keys, len(s.fs))
	}
}

func TestFlush(t *testing.T) {
	d := newDet(t, nil)
	var s sink
	d.Observe(attack(base, 5000, victimAddr, 20, 200, 53, 10, 1400, false), 0, s.emit)
	d.Observe(attack(base+20_000, 5000, victimAddr, 20, 10, 53, 10, 1400, false), 0, s.emit)
	n := len(s.fs)
	d.Flush(s.emit)
	// The final victim finding.
	if len(s.fs) != n+1 || d.Stats().Keys != 0 {
		t.Errorf("flush: %d new findings, %d keys", len(s.fs)-n, d.Stats().Keys)
	}
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.Window = 0
	bad.Bucket = 7 * time.Second
	bad.Memory = -1
	bad.MinReflectors = 0
	bad.MinBps = -1
	bad.MaxRequestRatio = -1
	bad.MaxKeys = 0
	bad.MaxReflectors = 0
	bad.Services = append(bad.Services, Service{Port: 53}, Service{Name: "x", Port: 0, MinSize: 10, RequestSize: 10})
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	n := len(DefaultServices())
	for _, key := range []string{"window", "memory", "min_reflectors", "min_bps", "max_request_ratio", "max_keys", "max_reflectors",
		fmt.Sprintf("services[%d].name", n), fmt.Sprintf("services[%d].port", n), fmt.Sprintf("services[%d].min_size", n),
		fmt.Sprintf("services[%d].port", n+1)} {
		if !strings.Contains(err.Error(), "detect.reflection."+key+":") {
			t.Errorf("no error for %s in %v", key, err)
		}
	}
	b := DefaultConfig()
	b.Bucket = 7 * time.Second
	if err := b.Validate(); err == nil || !strings.Contains(err.Error(), "detect.reflection.bucket:") {
		t.Errorf("bucket: %v", err)
	}
	b.Bucket = time.Second
	if err := b.Validate(); err == nil || !strings.Contains(err.Error(), "detect.reflection.bucket:") {
		t.Errorf("bucket: %v", err)
	}
	if _, err := New(bad); err == nil {
		t.Error("New accepted a bad config")
	}
}
