package scan

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// sample is one probe quoted as evidence, kept compact (the source is
// the key).
// 40 bytes: packets and bytes are clamped to 65535 (a probe is small).
type sample struct {
	start        int64
	dst          flow.Addr
	sport, dport uint16
	packets      uint16
	bytes        uint16
	dur1         uint32 // duration + 1 (ms); 0: no sample
	proto, flags uint8
	class        flow.Class
	pseudo       flow.Pseudo
}

func (s *sample) ok() bool { return s.dur1 != 0 }

func (s *sample) set(r *flow.Record) {
	*s = sample{
		start: r.Start, dst: r.DstAddr, sport: r.SrcPort, dport: r.DstPort,
		packets: uint16(min(r.Packets, math.MaxUint16)), bytes: uint16(min(r.Bytes, math.MaxUint16)),
		dur1:  uint32(min(max(r.End-r.Start, 0), math.MaxUint32-1)) + 1,
		proto: r.Proto, flags: r.TCPFlags, class: r.Class, pseudo: r.Pseudo,
	}
}

// record rebuilds the quoted record (rate: the source's sampling rate).
func (s *sample) record(k key, rate uint32) flow.Record {
	r := flow.Record{
		Start: s.start, End: s.start + int64(s.dur1) - 1, Packets: uint64(s.packets), Bytes: uint64(s.bytes),
		SrcAddr: k.addr, DstAddr: s.dst, SrcPort: s.sport, DstPort: s.dport, Proto: s.proto, TCPFlags: s.flags,
		SamplingRate: rate, Class: s.class, Pseudo: s.pseudo &^ flow.PseudoSrc,
	}
	if k.pseudo() {
		r.Pseudo |= flow.PseudoSrc
	}
	return r
}

// measure is a window's counts against its rule.
type measure struct {
	slow                 bool
	crossed              bool
	saturated            bool // a sketch is (nearly) full: counts are lower bounds
	horizontal, vertical bool
	hosts, ports, share  float64
	ratio                float64 // how far beyond the threshold (>= 1 when crossed)
}

// saturated is the number of set sketch bits beyond which estimates are
// reported as lower bounds.
const saturated = sketchBits - 8

// measure evaluates window s of a source against the fast or slow rule.
func (d *Detector) measure(st *state, s *slot, slow bool) measure {
	minH, minP, minS := d.cfg.MinHosts, d.cfg.MinPorts, d.cfg.MinFailedShare
	if slow {
		minH, minP, minS = d.cfg.SlowMinHosts, d.cfg.SlowMinPorts, d.cfg.SlowMinFailedShare
	}
	rate := float64(max(st.rate, 1))
	// A window cannot hold more distinct targets than probes.
	probes := float64(s.probes)
	m := measure{slow: slow, hosts: min(d.est[s.nh]*rate, probes), ports: min(d.est[s.np]*rate, probes)}
	m.saturated = s.nh >= saturated || s.np >= saturated
	if total := float64(s.probes) + float64(s.other); total > 0 {
		m.share = min(1, float64(s.fail)/total)
	}
	if minH > 0 && int(s.nh) >= min(minObserved, minH) && m.hosts >= float64(minH) {
		m.horizontal = true
		m.ratio = m.hosts / float64(minH)
	}
	if minP > 0 && int(s.np) >= min(minObserved, minP) && m.ports >= float64(minP) {
		m.vertical = true
		m.ratio = max(m.ratio, m.ports/float64(minP))
	}
	m.crossed = (m.horizontal || m.vertical) && m.share >= minS
	return m
}

// score maps how far a window went beyond its threshold, and how many of
// the source's flows failed, to [0,1]: 0.5 at the threshold with every
// flow failed, 0.75 at twice the threshold, 0.95 at ten times.
func (m measure) score() float64 {
	if m.ratio <= 0 {
		return 0
	}
	return detect.Clamp01((1 - 0.5/m.ratio) * (0.5 + 0.5*m.share))
}

// protoName names an IP protocol for evidence.
func protoName(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoICMP, protoICMPv6:
		return "icmp"
	}
	return strconv.Itoa(int(p))
}

// finding builds the finding of window s of source k.
func (d *Detector) finding(k key, st *state, s *slot, m measure) detect.Finding {
	length := d.win
	if m.slow {
		length = d.slowWin
	}
	what := "horizontal"
	switch {
	case m.horizontal && m.vertical:
		what = "horizontal and vertical"
	case m.vertical:
		what = "vertical"
	}
	first, last := s.start, s.start
	if s.first <= s.last {
		first, last = s.start+int64(s.first), s.start+int64(s.last)
	}
	// The long window's rule fired; the scan is slow only if its probes
	// were spread over more than the short window.
	if m.slow && last-first > d.win {
		what = "slow " + what
	}
	port := strconv.Itoa(int(s.port)) + "/" + protoName(s.proto)
	if s.proto == protoICMP || s.proto == protoICMPv6 {
		port = "icmp echo"
	}
	where := "top port " + port
	if m.ports < 1.5 {
		where = "port " + port
	}
	flows := float64(s.probes) + float64(s.other)
	// A saturated sketch makes its (large) count a lower bound.
	count := func(v float64) string {
		switch {
		case m.saturated && v >= 100:
			return fmt.Sprintf("at least %.0f", v)
		case v < 1.5:
			return "1"
		}
		return fmt.Sprintf("~%.0f", v)
	}
	span := (time.Duration(last-first) * time.Millisecond).Round(time.Second)
	if span == 0 {
		span = (time.Duration(last-first) * time.Millisecond).Round(time.Millisecond)
	}
	reason := fmt.Sprintf("%s scan: %s hosts and %s ports probed (%s) over %v (%v window); %.0f%% of the source's %.0f flows failed",
		what, count(m.hosts), count(m.ports), where, span, time.Duration(length)*time.Millisecond, 100*m.share, flows)
	counts := map[string]float64{
		"hosts": math.Round(m.hosts), "ports": math.Round(m.ports),
		"probes": float64(s.probes), "failed": math.Round(float64(s.fail)), "other_flows": float64(s.other),
		"failed_share": math.Round(m.share*1000) / 1000, "window_s": float64(length / 1000),
		"top_port": float64(s.port), "top_proto": float64(s.proto),
	}
	if m.slow {
		counts["slow"] = 1
	}
	if m.saturated {
		counts["saturated"] = 1
	}
	if st.rate > 1 {
		counts["sampling_rate"] = float64(st.rate)
	}
	stride := length / seriesLen
	ser := &detect.Series{Name: "probes per interval", Stride: stride, T: make([]int64, seriesLen), V: make([]float64, seriesLen)}
	for i := range seriesLen {
		ser.T[i] = s.start + int64(i)*stride
		ser.V[i] = float64(s.series[i])
	}
	var peers []detect.Peer
	for i := range int(min(st.tgtN, uint8(len(st.tgt)))) {
		peers = append(peers, detect.PeerOf(st.tgt[i], st.tgtPs&(1<<i) != 0, "target", 0))
	}
	var samples []detect.Sample
	if st.sample.ok() {
		r := st.sample.record(k, st.rate)
		samples = append(samples, detect.SampleOf(&r))
		if p := detect.PeerOf(r.DstAddr, r.Pseudo&flow.PseudoDst != 0, "target", 0); !hasPeer(peers, p) {
			peers = append(peers, p)
		}
	}
	f := detect.Finding{Addr: k.addr, Role: detect.RoleScanner, Evidence: detect.Evidence{
		Detector: Name, Role: detect.RoleScanner, Score: m.score(), Reason: reason,
		First: detect.Millis(first), Last: detect.Millis(last), Findings: 1,
		Counts: counts, Series: ser, Peers: peers, Samples: samples,
	}}
	if k.pseudo() {
		f.Pseudo, f.KeyEpoch = true, k.epoch()
	}
	return f
}

func hasPeer(ps []detect.Peer, p detect.Peer) bool {
	for _, q := range ps {
		if q.Address == p.Address {
			return true
		}
	}
	return false
}
