package flowgen

import (
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/acd-org/acd/flow"
)

// Source produces the flow records a sender exports. Mix is the general
// traffic source; attack scenarios plug in by implementing Source, alone or
// combined with others.
type Source interface {
	// Next fills recs with the next records, as an exporter would export
	// them at now (Start and End at or before now), and returns how many
	// it wrote. It returns 0 when the source is exhausted. Next must not
	// retain recs.
	Next(recs []flow.Record, now time.Time) int
}

// MixConfig configures a Mix. The zero value gives the defaults.
type MixConfig struct {
	Seed uint64
	// TCP, UDP and ICMP are the relative weights of each protocol
	// (default 70, 25, 5).
	TCP, UDP, ICMP float64
	// IPv6 is the share of IPv6 records, 0 to 1.
	IPv6 float64
	// Sources and Destinations are the numbers of distinct addresses per
	// family (default 1000 and 100).
	Sources, Destinations int
	// Ports is the number of distinct service ports per protocol (0: a
	// built-in list of common services with realistic weights).
	Ports int
	// Interfaces is the number of router interfaces (ifIndex 1..N,
	// default 4).
	Interfaces int
	// Reverse is the share of records in the server-to-client direction
	// (default 0.3; negative: none).
	Reverse float64
	// SrcPrefix4, DstPrefix4, SrcPrefix6 and DstPrefix6 are where the
	// addresses come from (defaults 198.18.0.0/15, 172.16.0.0/12,
	// 2001:db8:5::/48, 2001:db8:d::/48). Sources and destinations are
	// numbered from the prefix's first address plus one.
	SrcPrefix4, DstPrefix4, SrcPrefix6, DstPrefix6 netip.Prefix
}

// Mix is a deterministic Source of ordinary-looking traffic: the same seed
// and configuration give the same records for the same sequence of calls
// (times follow now). It never runs out.
type Mix struct {
	cfg        MixConfig
	rng        uint64
	cutTCP     uint64 // thresholds on a uniform uint64
	cutUDP     uint64
	cutV6      uint64
	cutReverse uint64
	src4, dst4 uint32
	src6, dst6 [16]byte
	span4s     uint32 // usable host numbers in the IPv4 prefixes
	span4d     uint32
}

// NewMix returns a Mix; it fails on a bad configuration.
func NewMix(cfg MixConfig) (*Mix, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Mix{cfg: cfg, rng: cfg.Seed}
	total := cfg.TCP + cfg.UDP + cfg.ICMP
	m.cutTCP = frac(cfg.TCP / total)
	m.cutUDP = frac((cfg.TCP + cfg.UDP) / total)
	m.cutV6 = frac(cfg.IPv6)
	m.cutReverse = frac(cfg.Reverse)
	m.src4, m.span4s = base4(cfg.SrcPrefix4)
	m.dst4, m.span4d = base4(cfg.DstPrefix4)
	m.src6 = cfg.SrcPrefix6.Masked().Addr().As16()
	m.dst6 = cfg.DstPrefix6.Masked().Addr().As16()
	return m, nil
}

func (c MixConfig) withDefaults() (MixConfig, error) {
	if c.TCP < 0 || c.UDP < 0 || c.ICMP < 0 || math.IsNaN(c.TCP+c.UDP+c.ICMP) || math.IsInf(c.TCP+c.UDP+c.ICMP, 0) {
		return c, fmt.Errorf("unable to configure mix: negative or invalid protocol weight")
	}
	if c.TCP+c.UDP+c.ICMP == 0 {
		c.TCP, c.UDP, c.ICMP = 70, 25, 5
	}
	if !(c.IPv6 >= 0 && c.IPv6 <= 1) {
		return c, fmt.Errorf("unable to configure mix: IPv6 share %v not within 0..1", c.IPv6)
	}
	if c.Sources < 0 || c.Destinations < 0 || c.Ports < 0 || c.Interfaces < 0 {
		return c, fmt.Errorf("unable to configure mix: negative count")
	}
	c.Sources = cmpOr(c.Sources, 1000)
	c.Destinations = cmpOr(c.Destinations, 100)
	c.Interfaces = cmpOr(c.Interfaces, 4)
	switch {
	case c.Reverse == 0:
		c.Reverse = 0.3
	case c.Reverse < 0:
		c.Reverse = 0
	case c.Reverse > 1:
		c.Reverse = 1
	}
	defs := []struct {
		p   *netip.Prefix
		def string
		v4  bool
	}{
		{&c.SrcPrefix4, "198.18.0.0/15", true}, {&c.DstPrefix4, "172.16.0.0/12", true},
		{&c.SrcPrefix6, "2001:db8:5::/48", false}, {&c.DstPrefix6, "2001:db8:d::/48", false},
	}
	for _, d := range defs {
		if !d.p.IsValid() {
			*d.p = netip.MustParsePrefix(d.def)
		}
		if d.p.Addr().Is4() != d.v4 || (d.v4 && d.p.Bits() > 30) || (!d.v4 && d.p.Bits() > 96) {
			return c, fmt.Errorf("unable to configure mix: prefix %v of the wrong family or too small", *d.p)
		}
	}
	return c, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// frac maps a share in [0, 1] to a threshold on uniform uint64 values.
func frac(f float64) uint64 {
	if f >= 1 {
		return math.MaxUint64
	}
	if f <= 0 {
		return 0
	}
	return uint64(f * (1 << 63) * 2)
}

func base4(p netip.Prefix) (base, span uint32) {
	a := p.Masked().Addr().As4()
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), uint32(1)<<(32-p.Bits()) - 2
}

// next returns a uniform uint64 (splitmix64).
func (m *Mix) next() uint64 {
	m.rng += 0x9e3779b97f4a7c15
	z := m.rng
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// intn returns a uniform int in [0, n).
func (m *Mix) intn(n int) int {
	hi, _ := bits.Mul64(m.next(), uint64(n))
	return int(hi)
}

// Services and their weights (out of 100), then further ports for Ports.
var (
	tcpServices = []uint16{443, 80, 22, 25, 3389, 8080, 993, 445, 8443, 3306, 5432, 6379, 21, 23, 110, 143}
	tcpWeights  = []int{45, 20, 8, 4, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1}
	udpServices = []uint16{53, 443, 123, 161, 514, 1900, 5353, 3478, 500, 4500, 1194, 51820, 69, 137, 11211, 389}
	udpWeights  = []int{50, 20, 8, 4, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1}
	icmpTypes   = []uint16{8 << 8, 0, 3<<8 | 3, 11 << 8, 3<<8 | 1}
	icmp6Types  = []uint16{128 << 8, 129 << 8, 1<<8 | 4, 3 << 8, 135 << 8}
)

// service picks a service port.
func (m *Mix) service(list []uint16, weights []int) uint16 {
	if n := m.cfg.Ports; n > 0 {
		i := m.intn(n)
		if i < len(list) {
			return list[i]
		}
		return uint16(1024 + i*7%60000)
	}
	w := m.intn(100)
	for i, x := range weights {
		if w < x {
			return list[i]
		}
		w -= x
	}
	return uint16(1024 + m.intn(48000))
}

// Next implements Source.
func (m *Mix) Next(recs []flow.Record, now time.Time) int {
	ms := now.UnixMilli()
	for i := range recs {
		m.record(&recs[i], ms)
	}
	return len(recs)
}

func (m *Mix) record(r *flow.Record, now int64) {
	*r = flow.Record{}
	v6 := m.next() < m.cutV6
	si, di := m.intn(m.cfg.Sources), m.skewed(m.cfg.Destinations)
	r.SrcAddr, r.DstAddr = m.addr(si, true, v6), m.addr(di, false, v6)
	r.SrcAS = 64496 + uint32(si%16)
	r.DstAS = 64512
	r.InIf = 1 + uint32(m.intn(m.cfg.Interfaces))
	r.OutIf = 1 + (r.InIf+uint32(m.intn(max(m.cfg.Interfaces-1, 1))))%uint32(m.cfg.Interfaces)
	r.SrcPort = uint16(32768 + m.intn(28232))
	var size int
	switch p := m.next(); {
	case p < m.cutTCP:
		r.Proto, r.DstPort = 6, m.service(tcpServices, tcpWeights)
		r.Packets = m.packets()
		r.TCPFlags = m.tcpFlags(r.Packets)
		size = m.size(40)
	case p < m.cutUDP:
		r.Proto, r.DstPort = 17, m.service(udpServices, udpWeights)
		r.Packets = m.packets()
		size = m.size(28)
	default:
		r.Proto, r.SrcPort = 1, 0
		r.DstPort = icmpTypes[m.intn(len(icmpTypes))]
		if v6 {
			r.Proto, r.DstPort = 58, icmp6Types[m.intn(len(icmp6Types))]
		}
		r.Packets = 1 + uint64(m.intn(5))
		size = 64 + m.intn(36)
	}
	if v6 {
		size += 20
	}
	r.Bytes = r.Packets * uint64(min(size, 1500))
	if r.Proto != 1 && r.Proto != 58 && m.next() < m.cutReverse {
		r.SrcAddr, r.DstAddr = r.DstAddr, r.SrcAddr
		r.SrcPort, r.DstPort = r.DstPort, r.SrcPort
		r.SrcAS, r.DstAS = r.DstAS, r.SrcAS
		r.InIf, r.OutIf = r.OutIf, r.InIf
	}
	r.End = now - int64(m.intn(2000))
	r.Start = r.End
	if r.Packets > 1 {
		r.Start -= min(int64(r.Packets)*int64(5+m.intn(200)), 120_000)
	}
}

// skewed returns an index in [0, n) favouring small ones (popular servers).
func (m *Mix) skewed(n int) int {
	u := float64(m.next()>>11) / (1 << 53)
	return min(int(u*u*float64(n)), n-1)
}

// packets returns a heavy-tailed packet count: mostly small flows.
func (m *Mix) packets() uint64 {
	u := float64(m.next()>>11) / (1 << 53)
	return 1 + uint64(2000*u*u*u*u)
}

// size returns a bimodal packet size: small (acks, queries) or large.
func (m *Mix) size(min int) int {
	if m.next()&1 == 0 {
		return min + m.intn(80)
	}
	return 1000 + m.intn(501)
}

func (m *Mix) tcpFlags(packets uint64) uint8 {
	if packets == 1 {
		if m.next()&3 == 0 {
			return flow.TCPRst | flow.TCPAck
		}
		return flow.TCPSyn
	}
	switch m.intn(10) {
	case 0:
		return flow.TCPAck | flow.TCPPsh
	case 1:
		return flow.TCPSyn | flow.TCPAck | flow.TCPRst
	default:
		return flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin
	}
}

func (m *Mix) addr(i int, src, v6 bool) flow.Addr {
	if v6 {
		a := m.dst6
		if src {
			a = m.src6
		}
		h := uint32(i) + 1
		a[12], a[13], a[14], a[15] = byte(h>>24), byte(h>>16), byte(h>>8), byte(h)
		return flow.Addr(a)
	}
	base, span := m.dst4, m.span4d
	if src {
		base, span = m.src4, m.span4s
	}
	h := base + 1 + uint32(i)%span
	return flow.AddrFrom4([4]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)})
}

// ParseProtocols sets the protocol weights from "tcp=70,udp=25,icmp=5"
// (protocols left out get weight 0).
func (c *MixConfig) ParseProtocols(s string) error {
	c.TCP, c.UDP, c.ICMP = 0, 0, 0
	for part := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("unable to parse mix %q: want proto=weight", part)
		}
		w, err := strconv.ParseFloat(v, 64)
		if err != nil || w < 0 || math.IsInf(w, 0) || math.IsNaN(w) {
			return fmt.Errorf("unable to parse mix %q: bad weight", part)
		}
		switch strings.ToLower(k) {
		case "tcp":
			c.TCP = w
		case "udp":
			c.UDP = w
		case "icmp":
			c.ICMP = w
		default:
			return fmt.Errorf("unable to parse mix %q: unknown protocol %q", part, k)
		}
	}
	if c.TCP+c.UDP+c.ICMP == 0 {
		return fmt.Errorf("unable to parse mix %q: all weights are zero", s)
	}
	return nil
}
