package beacon

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/acd-org/acd/detect"
)

// maxPeers is how many beaconing clients a finding names.
const maxPeers = 10

// finding reports a server: its evidence and the figures of its most
// regular pair.
func (d *Detector) finding(sk serverKey, srv *server, final bool) detect.Finding {
	llr := d.llr(srv)
	ev := detect.Evidence{
		Detector: Name, Role: detect.RoleC2,
		Score: detect.Clamp01(1 - d.cfg.Threshold/(2*llr)),
		First: detect.Millis(srv.first), Last: detect.Millis(srv.last),
	}
	counts := map[string]float64{
		"llr": round(llr), "best_pair_llr": round(srv.best), "fan_in_llr": round(srv.sum),
		"beaconing_hosts": float64(srv.beacons), "judged_hosts": float64(srv.cands),
		"clients": float64(srv.clients), "active_hosts": float64(d.population()),
		"prevalence":   round(float64(srv.clients) / float64(max(d.population(), 1))),
		"period_peers": float64(d.group(sk, srv.bucket)),
	}
	if final {
		counts["final"] = 1
	}
	// The clients that beacon, most regular first.
	ps := srv.peers.list[:srv.peers.n]
	order := make([]int, len(ps))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ps[b].llr, ps[a].llr) })
	for _, i := range order {
		ev.Peers = append(ev.Peers, detect.PeerOf(ps[i].client, ps[i].pseudo, "client", math.Round(float64(ps[i].llr)*10)/10))
	}
	for i := range srv.nsamples {
		ev.Samples = append(ev.Samples, detect.SampleOf(&srv.samples[i]))
	}
	var period, jitter float64
	if s := d.seriesOf(pairKey{client: srv.bestClient, server: sk.server, port: sk.port, proto: sk.proto}); s != nil {
		c := s.view()
		var iv, tmp, sz [ringLen + 2]uint32
		n := copy(iv[:], c.d)
		sortU32(iv[:n])
		med, mad, skew := dispersion(iv[:n], tmp[:n])
		m := copy(sz[:], c.sz)
		sortU32(sz[:m])
		smed, smad, sskew := dispersion(sz[:m], tmp[:m])
		res := d.sc.score(c.d, c.sz)
		period, jitter = med, res.jitter
		counts["interval_median_s"] = round(med / 1000)
		counts["interval_mad_s"] = round(mad / 1000)
		counts["interval_skew"] = round(skew)
		counts["size_median_bytes"] = smed
		counts["size_mad_bytes"] = smad
		counts["size_skew"] = round(sskew)
		counts["connections"] = float64(s.total)
		counts["span_s"] = round(float64(s.last-s.firstAt) / 1000)
		counts["jitter"] = round(jitter)
		ser := &detect.Series{Name: "bytes", T: make([]int64, len(c.sz)), V: make([]float64, len(c.sz))}
		t := c.first()
		for i, b := range c.sz {
			if i > 0 {
				t += int64(c.d[i-1])
			}
			ser.T[i], ser.V[i] = t, float64(b)
		}
		ev.Series = ser
	}
	ev.Counts = counts
	ev.Reason = fmt.Sprintf("%d internal host(s) connect to %s port %d/%s at regular intervals (period %v, jitter ±%.0f%%); evidence %.0f (threshold %.0f)",
		max(srv.beacons, 1), sk.server, sk.port, protoName(sk.proto), time.Duration(period)*time.Millisecond, jitter*100, llr, d.cfg.Threshold)
	return detect.Finding{Addr: sk.server, Role: detect.RoleC2, Evidence: ev}
}

func round(x float64) float64 { return math.Round(x*1000) / 1000 }

func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	}
	return fmt.Sprint(p)
}
