package scenario

import (
	"time"

	"github.com/acd-org/acd/flow"
)

// External server index ranges in block 0.
const (
	srvResolver  = 1  // 1..4 DNS resolvers
	srvNTP       = 5  // 5..8 NTP servers
	srvUpdate    = 9  // 9..12 update servers
	srvTelemetry = 13 // 13..14 telemetry endpoints
	srvMail      = 15 // 15..16 mail and ssh servers
	srvWeb       = 17 // 17..Servers web, CDN and cloud
)

// background returns the benign actors: the session process and the
// periodic jobs.
func background(cfg Config) []*actor {
	b := cfg.Background
	start := cfg.Start.UnixNano()
	end := cfg.Start.Add(cfg.Duration).UnixNano()
	var out []*actor
	if b.FlowsPerSecond > 0 {
		s := &sessions{b: b, mean: 1e9 / b.FlowsPerSecond}
		a := &actor{gen: s, rng: newRNG(cfg.Seed, 0), end: end, attack: -1}
		a.evt = start + int64(a.rng.exp(s.mean))
		out = append(out, a)
	}
	jobs := []struct {
		n        int
		interval time.Duration
		jitter   float64
	}{{b.NTPClients, 64 * time.Second, 0.01}, {b.TelemetryClients, 5 * time.Minute, 0.1}, {b.UpdateClients, 30 * time.Minute, 0.2}}
	for j, job := range jobs {
		for c := range job.n {
			p := &periodic{job: j, client: uint32(c + 1), interval: float64(job.interval), jitter: job.jitter}
			a := &actor{gen: p, rng: newRNG(cfg.Seed, uint64(j+1)<<32|uint64(c)), end: end, attack: -1}
			p.v6 = a.rng.float() < b.IPv6
			a.evt = start + int64(a.rng.float()*p.interval)
			out = append(out, a)
		}
	}
	return out
}

// sessions is the Poisson process of client sessions.
type sessions struct {
	b    BackgroundConfig
	mean float64 // ns between sessions
}

func (s *sessions) event(a *actor, t int64) int64 {
	r := &a.rng
	v6 := r.float() < s.b.IPv6
	client := intAddr(uint32(1+r.skewed(s.b.Clients)), v6)
	sp := uint16(32768 + r.intn(28232))
	rtt := int64(2+r.intn(80)) * 1e6
	web := extAddr(uint32(srvWeb+r.skewed(s.b.Servers-srvWeb+1)), v6)
	tcp := uint8(flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin)
	switch u := r.intn(100); {
	case u < 45: // web and CDN over TCP
		port := uint16(443)
		if u >= 40 {
			port = 80
		}
		s.pair(a, t, rtt, client, web, sp, port, 6, tcp, r.between(5, 40), r.between(6, 400), v6)
	case u < 58: // QUIC
		s.pair(a, t, rtt, client, web, sp, 443, 17, 0, r.between(5, 30), r.between(6, 300), v6)
	case u < 78: // DNS
		dns := extAddr(uint32(srvResolver+r.intn(4)), v6)
		q := hdr(v6, false) + uint64(r.between(25, 60))
		a.push(flowRec(t, 0, client, dns, sp, 53, 17, 1, q, 0))
		a.push(flowRec(t+rtt, 0, dns, client, 53, sp, 17, 1, q+uint64(r.between(16, 450)), 0))
	case u < 83: // cloud bulk transfer
		s.pair(a, t, rtt, client, web, sp, 443, 6, tcp, r.between(50, 400), r.between(500, 20000), v6)
	case u < 93: // inbound to internal servers
		ext := extAddr(uint32(extClientBase+r.intn(20000)), v6)
		srv := intAddr(uint32(internalServerBase+r.intn(internalServers)), v6)
		ports := []uint16{443, 443, 443, 80, 25, 53, 22, 993}
		s.pair(a, t, rtt, ext, srv, sp, ports[r.intn(len(ports))], 6, tcp, r.between(5, 30), r.between(5, 200), v6)
	case u < 96: // failed outbound connection: retransmitted SYNs, maybe a reset
		n := uint64(r.between(1, 3))
		a.push(flowRec(t, int64(n-1)*1000, client, web, sp, 443, 6, n, n*hdr(v6, true), flow.TCPSyn))
		if r.intn(2) == 0 {
			a.push(flowRec(t+rtt, 0, web, client, 443, sp, 6, 1, hdr(v6, true), flow.TCPRst|flow.TCPAck))
		}
	case u < 98: // ping
		proto, typ := uint8(1), uint16(8<<8)
		if v6 {
			proto, typ = 58, 128<<8
		}
		n := uint64(r.between(1, 5))
		a.push(flowRec(t, int64(n-1)*1000, client, web, 0, typ, proto, n, n*(hdr(v6, false)+56), 0))
		a.push(flowRec(t+rtt, int64(n-1)*1000, web, client, 0, 0, proto, n, n*(hdr(v6, false)+56), 0))
	default: // mail and ssh
		mail := extAddr(uint32(srvMail+r.intn(2)), v6)
		ports := []uint16{993, 587, 22}
		s.pair(a, t, rtt, client, mail, sp, ports[r.intn(len(ports))], 6, tcp, r.between(8, 60), r.between(8, 80), v6)
	}
	return t + int64(r.exp(s.mean))
}

// pair pushes a request flow of up packets and its response of down
// packets, with realistic sizes: small requests, large responses.
func (s *sessions) pair(a *actor, t, rtt int64, c, srv flow.Addr, sp, dp uint16, proto, flags uint8, up, down int, v6 bool) {
	r := &a.rng
	dur := int64(down)*int64(1+r.intn(20)) + rtt/1e6
	h := hdr(v6, proto == 6)
	upB := uint64(up)*h + uint64(up*r.between(20, 120))
	downB := uint64(down)*h + uint64(down*r.between(600, 1400))
	a.push(flowRec(t, dur, c, srv, sp, dp, proto, uint64(up), upB, flags))
	a.push(flowRec(t+rtt, dur, srv, c, dp, sp, proto, uint64(down), downB, flags))
}

// periodic is one client's benign periodic job: NTP polls, telemetry
// uploads or update checks.
type periodic struct {
	job      int
	client   uint32
	v6       bool
	interval float64 // ns
	jitter   float64
}

func (p *periodic) event(a *actor, t int64) int64 {
	r := &a.rng
	c := intAddr(p.client, p.v6)
	rtt := int64(5+r.intn(60)) * 1e6
	h := hdr(p.v6, p.job != 0)
	tcp := uint8(flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin)
	sp := uint16(32768 + r.intn(28232))
	switch p.job {
	case 0: // NTP client/server mode, 48-byte payload
		srv := extAddr(srvNTP+p.client%4, p.v6)
		a.push(flowRec(t, 0, c, srv, 123, 123, 17, 1, h+48, 0))
		a.push(flowRec(t+rtt, 0, srv, c, 123, 123, 17, 1, h+48, 0))
	case 1: // telemetry upload
		srv := extAddr(srvTelemetry+p.client%2, p.v6)
		up, down := uint64(r.between(8, 12)), uint64(r.between(6, 10))
		a.push(flowRec(t, 300, c, srv, sp, 443, 6, up, up*h+uint64(r.between(1200, 2500)), tcp))
		a.push(flowRec(t+rtt, 300, srv, c, 443, sp, 6, down, down*h+uint64(r.between(4000, 7000)), tcp))
	default: // update check
		srv := extAddr(srvUpdate+p.client%4, p.v6)
		up, down := uint64(r.between(10, 15)), uint64(r.between(10, 30))
		a.push(flowRec(t, 800, c, srv, sp, 443, 6, up, up*h+uint64(r.between(1500, 2500)), tcp))
		a.push(flowRec(t+rtt, 800, srv, c, 443, sp, 6, down, down*h+uint64(r.between(5000, 30000)), tcp))
	}
	return t + int64(r.jitter(p.interval, p.jitter))
}
