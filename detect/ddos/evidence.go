package ddos

import (
	"fmt"
	"math"
	"strings"

	"github.com/acd-org/acd/detect"
)

// services names the common amplifier ports in a reason.
var services = map[uint16]string{19: "chargen", 53: "dns", 69: "tftp", 111: "portmap", 123: "ntp", 137: "netbios",
	161: "snmp", 389: "cldap", 427: "slp", 520: "rip", 1194: "openvpn", 1900: "ssdp", 3283: "ard", 3702: "ws-discovery",
	5353: "mdns", 5683: "coap", 10001: "ubiquiti", 11211: "memcached", 27960: "quake", 33848: "jenkins"}

// vectorLabel names an attack's vectors ("syn", "syn+udp").
func (at *attack) vectorLabel() string {
	var parts []string
	for v := range nVec {
		if at.vecs&(1<<v) != 0 {
			parts = append(parts, vectorNames[v])
		}
	}
	return strings.Join(parts, "+")
}

// title describes the attack's first vector for a reason.
func (at *attack) title() string {
	t := vectorTitles[at.main]
	if at.main == vRefl && at.port != 0 {
		name := services[at.port]
		if name == "" {
			name = "udp"
		}
		t = fmt.Sprintf("%s (%s, udp/%d)", t, name, at.port)
	}
	return t
}

// score maps how far the flood went beyond its alarm level to [0.5, 1).
func (at *attack) score() float64 {
	return detect.Clamp01(1 - 0.5/math.Max(1, float64(at.ratio)))
}

func round(x float64) float64 { return math.Round(x*100) / 100 }

// victimFinding reports the victim of at; st (may be nil) holds the
// bucket not folded yet, t (may be nil) the top sources.
func (d *Detector) victimFinding(at *attack, st *dstState, t *top) detect.Finding {
	k := at.victim
	tot := at.tot
	var cur [nMet]float32
	var bucket int64
	if st != nil {
		cur, _ = at.bucketCounts(st)
		bucket = st.bucket
		for m := range nMet {
			tot[m] += float64(cur[m])
		}
	}
	counts := map[string]float64{
		"peak_pps": round(float64(at.peak[mPkts])), "peak_bps": round(8 * float64(at.peak[mBytes])), "peak_fps": round(float64(at.peak[mFlows])),
		"baseline_pps": round(float64(at.base[mPkts])), "baseline_bps": round(8 * float64(at.base[mBytes])), "baseline_fps": round(float64(at.base[mFlows])),
		"packets": math.Round(tot[mPkts]), "bytes": math.Round(tot[mBytes]), "flows": math.Round(tot[mFlows]),
		"level_ratio": round(float64(at.ratio)), "sources_estimated": float64(at.srcPeak), "sources_named": float64(at.named),
		"duration_s": round(float64(max(0, at.last-at.first)) / 1000),
	}
	for m, name := range [nMet]string{"level_pps", "level_bps", "level_fps"} {
		if x := float64(at.lvl[m]); !math.IsInf(x, 0) {
			if m == mBytes {
				x *= 8
			}
			counts[name] = round(x)
		}
	}
	for v := range nVec {
		if at.vecs&(1<<v) != 0 {
			counts["vector_"+vectorNames[v]] = 1
		}
	}
	var samples []detect.Sample
	for i := range at.samples {
		if at.samples[i].start != 0 || at.samples[i].pkts != 0 {
			samples = append(samples, at.samples[i].evidence(k))
		}
	}
	reason := fmt.Sprintf("%s received a %s (%s): peak %.0f pps, %.1f Mbit/s, %.0f flows/s from about %.0f sources, %.1f× its alarm level (baseline %.0f pps)",
		k.addr, at.title(), at.vectorLabel(), at.peak[mPkts], 8*float64(at.peak[mBytes])/1e6, at.peak[mFlows], at.srcPeak, at.ratio, at.base[mPkts])
	return detect.Finding{
		Addr: k.addr, Pseudo: k.pseudo(), KeyEpoch: k.epoch(), Role: detect.RoleDDoSVictim,
		Evidence: detect.Evidence{
			Detector: Name, Role: detect.RoleDDoSVictim, Score: at.score(), Reason: reason,
			First: detect.Millis(at.first), Last: detect.Millis(at.last), Counts: counts,
			Series: at.series.evidence(bucket, d.bucketMs, cur[mPkts]), Peers: t.peers(), Samples: samples,
		},
	}
}

// sourceFinding names src as a ddos-source of the attack on victim.
func (d *Detector) sourceFinding(at *attack, s *srcState, live bool) detect.Finding {
	victim, src := at.victim, s.src
	share := 1 - 0.5*float64(d.minRecs)/float64(max(s.records, d.minRecs))
	when := "so far"
	if !live {
		when = "by the window's close"
	}
	var vecs []string
	for v := range nVec {
		if s.vecs&at.directVecs()&(1<<v) != 0 {
			vecs = append(vecs, vectorNames[v])
		}
	}
	reason := fmt.Sprintf("%s sent %d %s flood records (%.0f packets) %s to %s, the victim of a %s peaking at %.0f pps",
		src.addr, s.records, strings.Join(vecs, "+"), s.pkts, when, victim.addr, vectorTitles[at.main], at.peak[mPkts])
	return detect.Finding{
		Addr: src.addr, Pseudo: src.pseudo(), KeyEpoch: src.epoch(), Role: detect.RoleDDoSSource,
		Evidence: detect.Evidence{
			Detector: Name, Role: detect.RoleDDoSSource, Score: detect.Clamp01(at.score() * share), Reason: reason,
			First: detect.Millis(s.first), Last: detect.Millis(s.last),
			Counts: map[string]float64{"records": float64(s.records), "packets": math.Round(float64(s.pkts)), "bytes": math.Round(float64(s.bytes)),
				"victim_peak_pps": round(float64(at.peak[mPkts]))},
			Peers: []detect.Peer{detect.PeerOf(victim.addr, victim.pseudo(), "victim", math.Round(float64(s.pkts)))},
		},
	}
}
