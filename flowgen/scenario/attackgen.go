package scenario

import "github.com/acd-org/acd/flow"

// attackActors returns the actors of every attack; each attack's
// attackers come from its own external block.
func attackActors(cfg Config) []*actor {
	var out []*actor
	for i, at := range cfg.Attacks {
		start := cfg.Start.Add(at.Start).UnixNano()
		end := start + at.Duration.Nanoseconds()
		roles := map[flow.Addr]string{}
		base := uint32(i+1) * blockSize
		attacker := func(k int) flow.Addr { return extAddr(base+1+uint32(k), at.IPv6) }
		victim := intAddr(uint32(internalServerBase+i%internalServers), at.IPv6)
		mk := func(g eventer, stream int) *actor {
			a := &actor{gen: g, rng: newRNG(cfg.Seed, uint64(i+1)<<48|uint64(stream)), evt: start, end: end, attack: i, roles: roles}
			out = append(out, a)
			return a
		}
		label := func(n int, role string) {
			for k := range n {
				roles[attacker(k)] = role
			}
		}
		mean := 1e9 / at.Rate
		switch at.Kind {
		case KindScanHorizontal, KindScanSlow, KindScanDistributed, KindScanVertical:
			label(at.Sources, RoleScanner)
			s := &scan{at: at, attacker: attacker, victim: victim, mean: mean, clients: cfg.Background.Clients}
			s.stride = coprime(at.Targets, uint64(i)*2654435761+cfg.Seed)
			a := mk(s, 0)
			s.sport = uint16(40000 + a.rng.intn(20000))
		case KindBruteforce:
			label(at.Sources, RoleBruteforce)
			mk(&brute{at: at, attacker: attacker, victim: victim, mean: mean, port: bruteServices[at.Service]}, 0)
		case KindDDoSSYN, KindDDoSUDP, KindDDoSPulse:
			label(at.Sources, RoleDDoSSource)
			roles[victim] = RoleDDoSVictim
			udp := at.Kind == KindDDoSUDP || at.Kind == KindDDoSPulse && at.Service == "udp"
			mk(&ddos{at: at, attacker: attacker, victim: victim, mean: mean, udp: udp, start: start}, 0)
		case KindReflection:
			label(at.Sources, RoleReflector)
			roles[victim] = RoleDDoSVictim
			mk(&reflection{at: at, attacker: attacker, victim: victim, mean: mean, port: reflServices[at.Service]}, 0)
		case KindBeacon:
			c2 := attacker(0)
			roles[c2] = RoleC2
			for k := range at.Sources {
				host := intAddr(beaconHost(cfg.Background.Clients, i, k), at.IPv6)
				roles[host] = RoleC2Client
				a := mk(&beacon{at: at, host: host, c2: c2, interval: float64(at.Interval)}, k)
				a.evt = start + int64(a.rng.float()*float64(at.Interval))
			}
		}
	}
	return out
}

// beaconHost picks infected client k of attack i among the clients (or
// above them when there are too few).
func beaconHost(clients, i, k int) uint32 {
	if clients == 0 || k >= clients {
		return uint32(40000 + i*256 + k)
	}
	return uint32(1 + (i*977+k)%clients)
}

// coprime returns a stride coprime with n, to visit 0..n-1 in a scrambled
// order.
func coprime(n int, seed uint64) uint64 {
	s := seed%uint64(n) | 1
	for gcd(s, uint64(n)) != 1 {
		s += 2
	}
	return s
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// scan sends one SYN probe per event. Probes to open ports are reset by
// the scanner (SYN|RST, 2 packets); live hosts answer (SYN|ACK when open,
// RST|ACK when closed); dead addresses do not.
type scan struct {
	at       Attack
	attacker func(int) flow.Addr
	victim   flow.Addr
	mean     float64
	clients  int
	stride   uint64
	sport    uint16
	n        int // probes sent
}

func (s *scan) event(a *actor, t int64) int64 {
	if s.n >= s.at.Targets {
		return never
	}
	j := uint32(uint64(s.n) * s.stride % uint64(s.at.Targets))
	k := 0
	if s.at.Kind == KindScanDistributed {
		k = s.n % s.at.Sources
	}
	s.n++
	src := s.attacker(k)
	dst, port := intAddr(1+j, s.at.IPv6), s.at.Port
	live := int(j) < s.clients
	open := live && (port == 22 || port == 445 || port == 3389) && j%17 == 0
	if s.at.Kind == KindScanVertical {
		dst, port = s.victim, uint16(j+1)
		live = true
		open = port == 22 || port == 25 || port == 53 || port == 80 || port == 443 || port == 993
	}
	h := hdr(s.at.IPv6, true)
	rtt := int64(1+a.rng.intn(40)) * 1e6
	if open {
		a.push(flowRec(t, rtt/1e6, src, dst, s.sport, port, 6, 2, 2*h+4, flow.TCPSyn|flow.TCPRst))
		a.push(flowRec(t+rtt, 0, dst, src, port, s.sport, 6, 1, h+4, flow.TCPSyn|flow.TCPAck))
	} else {
		a.push(flowRec(t, 0, src, dst, s.sport, port, 6, 1, h+4, flow.TCPSyn))
		if live {
			a.push(flowRec(t+rtt, 0, dst, src, port, s.sport, 6, 1, h, flow.TCPRst|flow.TCPAck))
		}
	}
	if s.at.Kind == KindScanSlow {
		return t + int64(a.rng.exp(s.mean))
	}
	return t + int64(a.rng.jitter(s.mean, 0.2))
}

// brute makes login attempts: one short TCP connection per attempt, a
// few KB each way, from a new source port.
type brute struct {
	at       Attack
	attacker func(int) flow.Addr
	victim   flow.Addr
	mean     float64
	port     uint16
	n        int
}

func (b *brute) event(a *actor, t int64) int64 {
	r := &a.rng
	src := b.attacker(b.n % b.at.Sources)
	b.n++
	sp := uint16(32768 + (b.n*7)%28232)
	h := hdr(b.at.IPv6, true)
	lo, hi := 8, 15 // packets per direction
	switch b.port {
	case 22:
		lo, hi = 12, 22
	case 3389:
		lo, hi = 20, 40
	}
	up, down := uint64(r.between(lo, hi)), uint64(r.between(lo-2, hi-2))
	dur := int64(r.between(300, 3000))
	rtt := int64(1+r.intn(50)) * 1e6
	tcp := uint8(flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin)
	a.push(flowRec(t, dur, src, b.victim, sp, b.port, 6, up, up*(h+uint64(r.between(40, 120))), tcp))
	a.push(flowRec(t+rtt, dur, b.victim, src, b.port, sp, 6, down, down*(h+uint64(r.between(60, 180))), tcp))
	return t + int64(r.jitter(b.mean, 0.5))
}

// ddos floods the victim from many bots: one SYN per record (random
// source ports make every packet its own flow) or UDP flows of many large
// packets. Pulses are on for On of every Interval.
type ddos struct {
	at       Attack
	attacker func(int) flow.Addr
	victim   flow.Addr
	mean     float64
	udp      bool
	start    int64
}

func (d *ddos) event(a *actor, t int64) int64 {
	r := &a.rng
	if d.at.Kind == KindDDoSPulse {
		period, on := d.at.Interval.Nanoseconds(), d.at.On.Nanoseconds()
		if ph := (t - d.start) % period; ph >= on {
			return t + period - ph
		}
	}
	src := d.attacker(r.intn(d.at.Sources))
	sp := uint16(1024 + r.intn(64511))
	if d.udp {
		n := uint64(r.between(5, 200))
		dp := d.at.Port
		if dp == 0 {
			dp = uint16(1 + r.intn(65535))
		}
		a.push(flowRec(t, int64(n)*int64(r.between(1, 20)), src, d.victim, sp, dp, 17, n, n*(hdr(d.at.IPv6, false)+uint64(r.between(512, 1472))), 0))
	} else {
		a.push(flowRec(t, 0, src, d.victim, sp, d.at.Port, 6, 1, hdr(d.at.IPv6, true)+uint64(4*r.intn(2)), flow.TCPSyn))
	}
	return t + int64(r.exp(d.mean))
}

// reflection sends amplified responses from reflectors (service source
// port) to the victim, with each service's typical response size.
type reflection struct {
	at       Attack
	attacker func(int) flow.Addr
	victim   flow.Addr
	mean     float64
	port     uint16
}

func (f *reflection) event(a *actor, t int64) int64 {
	r := &a.rng
	src := f.attacker(r.intn(f.at.Sources))
	var n, size int
	switch f.port {
	case 53: // ANY/DNSSEC answers, 3-4 KB, IP-fragmented
		n, size = r.between(3, 60), r.between(1200, 1480)
	case 123: // monlist: up to 100 packets of 468 bytes
		n, size = r.between(10, 100), 440
	case 11211: // memcached stats/get: huge
		n, size = r.between(50, 1000), r.between(1300, 1400)
	case 1900: // SSDP M-SEARCH replies
		n, size = r.between(5, 30), r.between(250, 330)
	default: // CLDAP rootDSE, about 3 KB
		n, size = r.between(2, 20), r.between(1400, 1472)
	}
	a.push(flowRec(t, int64(n)*int64(r.between(1, 10)), src, f.victim, f.port, uint16(1024+r.intn(64511)), 17,
		uint64(n), uint64(n)*(hdr(f.at.IPv6, false)+uint64(size)), 0))
	return t + int64(r.exp(f.mean))
}

// beacon is one infected host checking in with its C2 server: one short
// TCP connection per check-in, small sizes with jitter.
type beacon struct {
	at       Attack
	host, c2 flow.Addr
	interval float64
}

func (b *beacon) event(a *actor, t int64) int64 {
	r := &a.rng
	h := hdr(b.at.IPv6, true)
	sp := uint16(32768 + r.intn(28232))
	rtt := int64(10+r.intn(90)) * 1e6
	up, down := uint64(r.between(6, 8)), uint64(r.between(5, 7))
	upB := uint64(r.jitter(700, b.at.SizeJitter)) + up*h
	downB := uint64(r.jitter(400, b.at.SizeJitter)) + down*h
	tcp := uint8(flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin)
	a.push(flowRec(t, 200+rtt/1e6, b.host, b.c2, sp, b.at.Port, 6, up, upB, tcp))
	a.push(flowRec(t+rtt, 200, b.c2, b.host, b.at.Port, sp, 6, down, downB, tcp))
	return t + int64(r.jitter(b.interval, b.at.Jitter))
}
