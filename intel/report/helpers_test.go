package report

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is when the test attacks start.
var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// domestic is the test's domestic address space: 198.51.100.0/24 and
// 192.0.2.0/24 (documentation ranges standing for Japan's).
func domestic(a netip.Addr) bool {
	return netip.MustParsePrefix("198.51.100.0/24").Contains(a) || netip.MustParsePrefix("192.0.2.0/24").Contains(a)
}

// The ddos detector's floors (DefaultConfig) per vector: pps, bps, fps (0:
// no floor).
var floors = map[string][3]float64{
	"syn": {1000, 0, 1000}, "udp": {10000, 100e6, 5000}, "icmp": {5000, 50e6, 0},
	"reflection": {2000, 10e6, 0}, "tcp": {50000, 500e6, 0}, "other": {10000, 100e6, 0},
}

var titles = map[string]string{"syn": "SYN flood", "udp": "UDP flood", "icmp": "ICMP flood",
	"reflection": "reflection/amplification flood", "tcp": "TCP ACK/RST flood", "other": "IP protocol flood"}

func r2(x float64) float64 { return math.Round(x*100) / 100 }

// flood describes an attack as the ddos detector sees it.
type flood struct {
	victim   string
	vectors  []string // ddos vector names; the first is the main one
	port     uint16   // reflection: the amplifier port of the main vector
	service  string
	secs     float64 // duration
	pps      float64 // peak packets/s
	pktBytes float64 // bytes per packet
	fps      float64 // peak flows/s
	sources  float64 // estimated distinct sources
	peers    []detect.Peer
}

// ddosVictim builds the evidence the ddos detector's victimFinding fills
// (detect/ddos/evidence.go) for a flood with a zero baseline: the rates
// peak from the second bucket, the first at 40 % of the peak.
func ddosVictim(f flood) detect.Evidence {
	main := f.vectors[0]
	fl := floors[main]
	peakBps := 8 * f.pps * f.pktBytes
	counts := map[string]float64{
		"peak_pps": r2(f.pps), "peak_bps": r2(peakBps), "peak_fps": r2(f.fps),
		"baseline_pps": 0, "baseline_bps": 0, "baseline_fps": 0,
		"packets": math.Round(f.pps * f.secs), "bytes": math.Round(f.pps * f.secs * f.pktBytes), "flows": math.Round(f.fps * f.secs),
		"sources_estimated": f.sources, "sources_named": float64(len(f.peers)), "duration_s": r2(f.secs),
	}
	ratio := 0.0
	for i, name := range []string{"level_pps", "level_bps", "level_fps"} {
		if fl[i] == 0 {
			continue
		}
		counts[name] = fl[i]
		ratio = max(ratio, []float64{f.pps, peakBps, f.fps}[i]/fl[i])
	}
	counts["level_ratio"] = r2(ratio)
	for _, v := range f.vectors {
		counts["vector_"+v] = 1
	}
	title := titles[main]
	if main == "reflection" {
		title = fmt.Sprintf("%s (%s, udp/%d)", title, f.service, f.port)
	}
	first := t0.Add(83 * time.Millisecond)
	last := first.Add(time.Duration(f.secs * float64(time.Second)))
	series := &detect.Series{Name: "pps", Stride: 1000}
	for s := 0; float64(s) < f.secs && s < 32; s++ {
		v := f.pps
		if s == 0 {
			v = 0.4 * f.pps
		}
		series.T = append(series.T, t0.UnixMilli()+int64(s)*1000)
		series.V = append(series.V, v)
	}
	return detect.Evidence{
		Detector: "ddos", Role: detect.RoleDDoSVictim, Score: detect.Clamp01(1 - 0.5/math.Max(1, ratio)),
		Reason: fmt.Sprintf("%s received a %s (%s): peak %.0f pps, %.1f Mbit/s, %.0f flows/s from about %.0f sources, %.1f× its alarm level (baseline %.0f pps)",
			f.victim, title, strings.Join(f.vectors, "+"), f.pps, peakBps/1e6, f.fps, f.sources, ratio, 0.0),
		First: first, Last: last, Findings: 3, Counts: counts, Series: series, Peers: f.peers,
		Samples: []detect.Sample{{Start: first, End: first, Src: f.peers[0].Address, Dst: f.victim, SrcPort: f.port,
			DstPort: 80, Proto: protoOf(main), Packets: 1, Bytes: uint64(f.pktBytes), Class: "inbound"}},
	}
}

func protoOf(vec string) uint8 {
	switch vec {
	case "syn", "tcp":
		return 6
	case "icmp":
		return 1
	}
	return 17
}

// reflVictim builds the evidence of the reflection detector's
// victimFinding (detect/reflection/evidence.go).
func reflVictim(victim, svc string, port uint16, reflectors int, secs, pps, respBytes, reqBytes float64, peers []detect.Peer) detect.Evidence {
	peakBps := 8 * pps * respBytes
	bps := fmt.Sprintf("%.1f Gbit/s", peakBps/1e9)
	if peakBps < 1e9 {
		bps = fmt.Sprintf("%.1f Mbit/s", peakBps/1e6)
	}
	hint := math.Round(respBytes/reqBytes*10) / 10
	first := t0.Add(250 * time.Millisecond)
	return detect.Evidence{
		Detector: "reflection", Role: detect.RoleDDoSVictim, Score: 0.81,
		Reason: fmt.Sprintf("%s reflection attack: %d reflectors sent unsolicited amplified responses from UDP port %d (peak %s, mean %.0f bytes/packet, about %.0fx amplification)",
			svc, reflectors, port, bps, respBytes, hint),
		First: first, Last: first.Add(time.Duration(secs * float64(time.Second))), Findings: 2,
		Counts: map[string]float64{"reflectors": float64(reflectors), "reflectors_window": float64(reflectors - 1),
			"flows": math.Round(pps * secs / 10), "packets": math.Round(pps * secs), "bytes": math.Round(pps * secs * respBytes), "requests": 0,
			"peak_bps": math.Round(peakBps), "peak_pps": math.Round(pps), "mean_response_bytes": respBytes,
			"amplification_hint": hint, "port": float64(port), "window_s": 60},
		Series: &detect.Series{Name: "bps", T: []int64{t0.UnixMilli()}, V: []float64{math.Round(peakBps)}, Stride: 10000},
		Peers:  peers,
	}
}

// bots returns n source peers from 203.0.113.0/24 (foreign) with packet
// counts falling from top, and domestic ones appended.
func bots(role string, n int, top float64, dom ...string) []detect.Peer {
	var out []detect.Peer
	for i := range n {
		out = append(out, detect.Peer{Address: fmt.Sprintf("203.0.113.%d", 10+i), Role: role, Count: math.Round(top / float64(i+1))})
	}
	for i, a := range dom {
		out = append(out, detect.Peer{Address: a, Role: role, Count: math.Round(top / float64(n+i+2))})
	}
	return out
}

// fixtures are the attacks of the FromDetection tests, each the victim's
// evidence as the detectors fill it.
func fixtures() map[string][]detect.Evidence {
	v := "198.51.100.7"
	return map[string][]detect.Evidence{
		"syn": {ddosVictim(flood{victim: v, vectors: []string{"syn"}, secs: 312.5, pps: 1.25e6, pktBytes: 60, fps: 1.25e6,
			sources: 240, peers: bots("source", 4, 9.1e6, "192.0.2.44")})},
		"udp": {ddosVictim(flood{victim: v, vectors: []string{"udp"}, secs: 600, pps: 2.2e6, pktBytes: 1000, fps: 9000,
			sources: 180, peers: bots("source", 5, 4.4e7)})},
		"dns": {
			ddosVictim(flood{victim: v, vectors: []string{"reflection"}, port: 53, service: "dns", secs: 120, pps: 450000,
				pktBytes: 1400, fps: 0, sources: 250, peers: bots("reflector", 3, 5.4e6)}),
			reflVictim(v, "dns", 53, 812, 120, 450000, 1400, 64, bots("reflector", 3, 7.5e9)),
		},
		"ntp": {reflVictim(v, "ntp", 123, 96, 90, 120000, 468, 8, []detect.Peer{
			{Address: "2001:db8:aa::1", Role: "reflector", Count: 1.2e9},
			{Address: "203.0.113.77", Role: "reflector", Count: 9.8e8},
			{Address: "198.51.100.200", Pseudo: true, Role: "reflector", Count: 1e8}})},
		"mixed": {
			ddosVictim(flood{victim: v, vectors: []string{"syn", "udp", "icmp", "reflection"}, secs: 1800, pps: 3.1e6,
				pktBytes: 420, fps: 1.9e6, sources: 250, peers: append(bots("source", 3, 2e8), detect.Peer{Address: "203.0.113.200", Role: "reflector", Count: 1e7})}),
			reflVictim(v, "ntp", 123, 40, 1500, 300000, 468, 8, []detect.Peer{{Address: "203.0.113.200", Role: "reflector", Count: 4.2e9}}),
		},
	}
}

// identity is the acd identity of the tests.
func identity(t testing.TB) stix.Identity {
	t.Helper()
	id, err := stix.NewIdentity("acd-jp", t0.Add(-24*time.Hour), stix.TLPGreen)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// operatorReport is a valid report as an operator files it.
func operatorReport() Report {
	return Report{
		Operator: "op-tokyo-power", Organization: "Tokyo Example Power Co.", Type: TypeDDoS,
		Title:           "Volumetric attack on the customer portal",
		Description:     "The portal at 198.51.100.7 became unreachable; upstream reports UDP from port 123.",
		AffectedSystems: []string{"198.51.100.7", "portal.example.jp"},
		Start:           t0, End: t0.Add(40 * time.Minute), Detected: t0.Add(4 * time.Minute),
		Volumes:    Volumes{PeakBps: 38e9, PeakPps: 9.5e6},
		Vectors:    []string{"ntp-reflection", "udp-flood"},
		Indicators: []string{"203.0.113.5", "203.0.113.0/28", "2001:db8:bad::/48", "evil.example.com"},
		Mitigation: "upstream RTBH for 40 minutes, then scrubbing",
		TLP:        stix.TLPAmber,
		Status:     StatusReceived,
		Received:   t0.Add(2 * time.Hour),
	}
}
