package peertest

import (
	"cmp"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TrafficConfig describes a synthetic capture made by GenerateTraffic.
type TrafficConfig struct {
	Seed     uint64        // the same seed gives the same bytes
	Start    time.Time     // timestamp of the earliest conversation
	Duration time.Duration // conversations start within the first 80% of it
	Sessions int           // number of conversations (flows are about twice that)
}

// DefaultTraffic is the configuration of testdata/traffic/mixed.pcap: a
// few hundred conversations (IPv4 and IPv6 TCP, UDP, ICMP echo, some
// 802.1Q tagged) over four minutes.
func DefaultTraffic() TrafficConfig {
	return TrafficConfig{
		Seed:     20250601,
		Start:    time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		Duration: 4 * time.Minute,
		Sessions: 300,
	}
}

// SmallTraffic is the configuration of testdata/traffic/small.pcap: a few
// conversations over twenty seconds, for quick checks.
func SmallTraffic() TrafficConfig {
	return TrafficConfig{
		Seed:     7,
		Start:    time.Date(2025, 6, 1, 13, 0, 0, 0, time.UTC),
		Duration: 20 * time.Second,
		Sessions: 24,
	}
}

// TrafficStats summarises what GenerateTraffic wrote.
type TrafficStats struct {
	Frames  int    // Ethernet frames written
	IPBytes uint64 // sum of the layer-3 lengths (IPv4 total length, IPv6 payload + 40)
	Tagged  int    // frames with an 802.1Q tag
}

type frame struct {
	ts   time.Time
	seq  int // creation order, breaks timestamp ties
	data []byte
	ip   int
	vlan bool
}

type endpoint struct {
	ip   net.IP
	port uint16
	mac  net.HardwareAddr
}

type conv struct {
	v6     bool
	vlan   uint16
	c, s   endpoint
	cSeq   uint32
	sSeq   uint32
	ipID   uint16
	icmpID uint16
}

type generator struct {
	rng    *rand.Rand
	frames []frame
	err    error
}

var (
	clientMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}
	routerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xfe}
)

// GenerateTraffic writes a deterministic Ethernet (LINKTYPE_ETHERNET) pcap
// of synthetic conversations to w: TCP sessions (handshake, data, FIN or
// RST, and unanswered SYNs), DNS-like and NTP-like UDP exchanges, ICMP and
// ICMPv6 echo, over IPv4 and IPv6, some frames 802.1Q tagged. A few TCP
// sessions last longer than a minute and a few UDP exchanges pause for
// ninety seconds, so exporters' active and idle timeouts split them.
func GenerateTraffic(w io.Writer, cfg TrafficConfig) (TrafficStats, error) {
	g := &generator{rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	window := time.Duration(float64(cfg.Duration) * 0.8)
	for i := range cfg.Sessions {
		start := cfg.Start.Add(time.Duration(g.rng.Int64N(int64(window) + 1)))
		g.conversation(i, start)
	}
	if g.err != nil {
		return TrafficStats{}, g.err
	}
	end := cfg.Start.Add(cfg.Duration)
	var fs []frame
	for _, f := range g.frames {
		if !f.ts.After(end) {
			fs = append(fs, f)
		}
	}
	slices.SortFunc(fs, func(a, b frame) int {
		if c := a.ts.Compare(b.ts); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return TrafficStats{}, fmt.Errorf("unable to write pcap header: %w", err)
	}
	var st TrafficStats
	for _, f := range fs {
		ci := gopacket.CaptureInfo{Timestamp: f.ts, CaptureLength: len(f.data), Length: len(f.data)}
		if err := pw.WritePacket(ci, f.data); err != nil {
			return TrafficStats{}, fmt.Errorf("unable to write pcap packet: %w", err)
		}
		st.Frames++
		st.IPBytes += uint64(f.ip)
		if f.vlan {
			st.Tagged++
		}
	}
	return st, nil
}

// conversation adds the frames of conversation i starting at t.
func (g *generator) conversation(i int, t time.Time) {
	v6 := g.rng.IntN(3) == 0
	cv := g.newConv(i, v6)
	switch k := g.rng.IntN(100); {
	case k < 40:
		g.tcpSession(cv, t, g.rng.IntN(3) == 0)
	case k < 47:
		g.tcpScan(cv, t)
	case k < 52:
		g.longTCP(cv, t)
	case k < 70:
		g.dns(cv, t)
	case k < 78:
		g.ntp(cv, t)
	case k < 82:
		g.idleUDP(cv, t)
	default:
		g.echo(cv, t)
	}
}

func (g *generator) newConv(i int, v6 bool) *conv {
	cv := &conv{v6: v6, cSeq: g.rng.Uint32(), sSeq: g.rng.Uint32(), ipID: uint16(g.rng.Uint32()), icmpID: uint16(i + 1)}
	if g.rng.IntN(8) == 0 {
		cv.vlan = uint16(100 + g.rng.IntN(3))
	}
	if v6 {
		cv.c.ip = net.IP{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)}
		cv.s.ip = net.IP{0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(1 + g.rng.IntN(40))}
	} else {
		cv.c.ip = net.IPv4(10, 0, byte(i>>8), byte(i)).To4()
		if g.rng.IntN(2) == 0 {
			cv.s.ip = net.IPv4(198, 51, 100, byte(1+g.rng.IntN(40))).To4()
		} else {
			cv.s.ip = net.IPv4(203, 0, 113, byte(1+g.rng.IntN(40))).To4()
		}
	}
	cv.c.mac, cv.s.mac = clientMAC, routerMAC
	cv.c.port = uint16(32768 + g.rng.IntN(28000))
	return cv
}

// gap returns a small random delay between packets of one exchange.
func (g *generator) gap() time.Duration {
	return time.Duration(200+g.rng.IntN(40000)) * time.Microsecond
}

func (g *generator) tcpSession(cv *conv, t time.Time, rst bool) {
	cv.s.port = []uint16{80, 443, 22, 25, 8080}[g.rng.IntN(5)]
	t = g.handshake(cv, t)
	for range 1 + g.rng.IntN(6) {
		t = t.Add(g.gap())
		g.tcp(cv, true, t, layers.TCP{PSH: true, ACK: true}, 20+g.rng.IntN(300))
		for range 1 + g.rng.IntN(4) {
			t = t.Add(g.gap())
			g.tcp(cv, false, t, layers.TCP{PSH: true, ACK: true}, 60+g.rng.IntN(600))
		}
		t = t.Add(g.gap())
		g.tcp(cv, true, t, layers.TCP{ACK: true}, 0)
	}
	t = t.Add(g.gap())
	if rst {
		g.tcp(cv, g.rng.IntN(2) == 0, t, layers.TCP{RST: true, ACK: true}, 0)
		return
	}
	g.tcp(cv, true, t, layers.TCP{FIN: true, ACK: true}, 0)
	t = t.Add(g.gap())
	g.tcp(cv, false, t, layers.TCP{FIN: true, ACK: true}, 0)
	t = t.Add(g.gap())
	g.tcp(cv, true, t, layers.TCP{ACK: true}, 0)
}

func (g *generator) handshake(cv *conv, t time.Time) time.Time {
	g.tcp(cv, true, t, layers.TCP{SYN: true}, 0)
	t = t.Add(g.gap())
	g.tcp(cv, false, t, layers.TCP{SYN: true, ACK: true}, 0)
	t = t.Add(g.gap())
	g.tcp(cv, true, t, layers.TCP{ACK: true}, 0)
	return t
}

// tcpScan sends unanswered SYNs (or SYNs answered by RST) to a few ports.
func (g *generator) tcpScan(cv *conv, t time.Time) {
	refused := g.rng.IntN(2) == 0
	for range 2 + g.rng.IntN(5) {
		cv.s.port = uint16(1 + g.rng.IntN(1024))
		g.tcp(cv, true, t, layers.TCP{SYN: true}, 0)
		if refused {
			g.tcp(cv, false, t.Add(g.gap()), layers.TCP{RST: true, ACK: true}, 0)
		}
		t = t.Add(g.gap())
	}
}

// longTCP keeps a session open for about two and a half minutes.
func (g *generator) longTCP(cv *conv, t time.Time) {
	cv.s.port = 443
	t = g.handshake(cv, t)
	for range 30 {
		t = t.Add(5*time.Second + g.gap())
		g.tcp(cv, false, t, layers.TCP{PSH: true, ACK: true}, 100+g.rng.IntN(500))
		t = t.Add(g.gap())
		g.tcp(cv, true, t, layers.TCP{ACK: true}, 0)
	}
	t = t.Add(g.gap())
	g.tcp(cv, true, t, layers.TCP{FIN: true, ACK: true}, 0)
	t = t.Add(g.gap())
	g.tcp(cv, false, t, layers.TCP{FIN: true, ACK: true}, 0)
	t = t.Add(g.gap())
	g.tcp(cv, true, t, layers.TCP{ACK: true}, 0)
}

func (g *generator) dns(cv *conv, t time.Time) {
	cv.s.port = 53
	for range 1 + g.rng.IntN(3) {
		g.udp(cv, true, t, 30+g.rng.IntN(40))
		t = t.Add(g.gap())
		g.udp(cv, false, t, 60+g.rng.IntN(400))
		t = t.Add(g.gap())
	}
}

func (g *generator) ntp(cv *conv, t time.Time) {
	cv.c.port, cv.s.port = 123, 123
	for range 1 + g.rng.IntN(4) {
		g.udp(cv, true, t, 48)
		g.udp(cv, false, t.Add(g.gap()), 48)
		t = t.Add(2*time.Second + g.gap())
	}
}

// idleUDP exchanges a few datagrams, pauses for ninety seconds, and
// exchanges a few more on the same ports.
func (g *generator) idleUDP(cv *conv, t time.Time) {
	cv.s.port = 5000 + uint16(g.rng.IntN(100))
	for burst := range 2 {
		if burst == 1 {
			t = t.Add(90 * time.Second)
		}
		for range 2 + g.rng.IntN(3) {
			g.udp(cv, true, t, 50+g.rng.IntN(500))
			t = t.Add(g.gap())
			g.udp(cv, false, t, 50+g.rng.IntN(500))
			t = t.Add(g.gap())
		}
	}
}

func (g *generator) echo(cv *conv, t time.Time) {
	for seq := range 1 + g.rng.IntN(5) {
		g.icmp(cv, true, t, uint16(seq))
		g.icmp(cv, false, t.Add(g.gap()), uint16(seq))
		t = t.Add(time.Second + g.gap())
	}
}
