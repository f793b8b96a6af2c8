package flowgen

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/acd-org/acd/flow"
)

// Encoder builds the export datagrams of one format for one exporter. It
// keeps the exporter's state: sequence numbers, boot time (sysUptime) and
// the template schedule. It is not safe for concurrent use.
//
// The buffers an Encoder appends to belong to the caller; it retains none.
type Encoder interface {
	// Format returns the wire format.
	Format() flow.Format

	// Append appends to dst one datagram holding as many records from the
	// front of recs as fit (at most the configured records per datagram and
	// datagram size), exported at now. It returns the extended buffer, the
	// number of records taken from recs and the number written. Records the
	// format cannot carry (IPv6 in NetFlow v5) are taken but not written.
	// If recs is empty, dst is returned unchanged.
	Append(dst []byte, recs []flow.Record, now time.Time) (out []byte, used, written int)

	// TemplatesDue reports whether a template datagram should be sent
	// before the next data datagram (always false for v5 and sFlow).
	TemplatesDue(now time.Time) bool

	// AppendTemplates appends a datagram with the templates (and, when
	// sampling is configured, the sampling options) and restarts the
	// template schedule. Formats without templates return dst unchanged.
	AppendTemplates(dst []byte, now time.Time) []byte

	// Patch rewrites in place pkt, a data datagram made earlier by Append
	// of an encoder with the same configuration, as if it were exported
	// now: it sets the sequence numbers (advancing this encoder's as Append
	// would), the export time and uptime, and shifts the records' times by
	// the time elapsed since pkt was last stamped. It returns the number of
	// records in pkt. Patch only datagrams that are then sent: the
	// sequence numbers advance. A packet it does not recognise is left
	// alone and 0 is returned.
	Patch(pkt []byte, now time.Time) int

	// Reset restarts sequence numbers and the template schedule, as if the
	// exporter had just started (its boot time is kept).
	Reset()
}

// EncoderConfig configures an Encoder. The zero value is usable.
type EncoderConfig struct {
	// ExporterID is the NetFlow v9 source id, the IPFIX observation domain,
	// the sFlow sub-agent id and the NetFlow v5 engine id (low 8 bits).
	ExporterID uint32
	// Agent is the sFlow agent address (default 127.0.0.1).
	Agent netip.Addr
	// Sampling is the packet sampling rate, 1 in N (0 or 1: unsampled;
	// sFlow defaults to DefaultSFlowSampling). v5 puts it in the header
	// (at most 16383), v9 and IPFIX send it as options data with the
	// templates, sFlow in every flow sample.
	Sampling uint32
	// MaxSize bounds a datagram's size in bytes (default and maximum
	// DefaultMaxSize, an Ethernet MTU less IPv4 and UDP headers).
	MaxSize int
	// MaxRecords bounds the records in one datagram (0: as many as fit;
	// v5 never more than 30).
	MaxRecords int
	// Boot is the exporter's boot time, from which sysUptime counts. Zero
	// means one day before the first datagram.
	Boot time.Time
	// TemplatePackets resends the templates after this many data datagrams
	// (default 256; negative: never by count).
	TemplatePackets int
	// TemplateInterval resends the templates after this long (default 1s;
	// negative: never by time).
	TemplateInterval time.Duration
	// VarLen adds a variable-length field (interfaceName) to IPFIX records.
	VarLen bool
	// CounterEvery adds an sFlow counter sample to every N-th datagram
	// (default 16; negative: never).
	CounterEvery int
	// Snapshot is the sFlow raw packet header length (default 128, 96 to 256).
	Snapshot int
}

// Defaults.
const (
	DefaultMaxSize       = 1472
	DefaultSFlowSampling = 1000
	defaultTemplatePkts  = 256
	defaultTemplateEvery = time.Second
	defaultCounterEvery  = 16
	defaultSnapshot      = 128
	minSize              = 256
)

// withDefaults fills unset fields.
func (c EncoderConfig) withDefaults() EncoderConfig {
	if !c.Agent.IsValid() {
		c.Agent = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if c.MaxSize <= 0 || c.MaxSize > DefaultMaxSize {
		c.MaxSize = DefaultMaxSize
	}
	c.MaxSize = max(c.MaxSize, minSize)
	if c.MaxRecords < 0 {
		c.MaxRecords = 0
	}
	if c.TemplatePackets == 0 {
		c.TemplatePackets = defaultTemplatePkts
	}
	if c.TemplateInterval == 0 {
		c.TemplateInterval = defaultTemplateEvery
	}
	if c.CounterEvery == 0 {
		c.CounterEvery = defaultCounterEvery
	}
	if c.Snapshot <= 0 {
		c.Snapshot = defaultSnapshot
	}
	c.Snapshot = min(max(c.Snapshot, 96), 256) &^ 3
	return c
}

// NewEncoder returns an encoder of format f (FormatNetFlowV5, FormatNetFlowV9,
// FormatIPFIX or FormatSFlow).
func NewEncoder(f flow.Format, cfg EncoderConfig) (Encoder, error) {
	cfg = cfg.withDefaults()
	switch f {
	case flow.FormatNetFlowV5:
		return newV5(cfg), nil
	case flow.FormatNetFlowV9:
		return newV9(cfg), nil
	case flow.FormatIPFIX:
		return newIPFIX(cfg), nil
	case flow.FormatSFlow:
		return newSFlow(cfg), nil
	}
	return nil, fmt.Errorf("unable to create encoder: unsupported format %q", f)
}

// ParseFormat parses a format name: v5, v9, ipfix, sflow (or the
// flow.Format labels netflow-v5, netflow-v9).
func ParseFormat(s string) (flow.Format, error) {
	switch strings.ToLower(s) {
	case "v5", "netflow-v5", "netflow5", "nf5":
		return flow.FormatNetFlowV5, nil
	case "v9", "netflow-v9", "netflow9", "nf9", "netflow":
		return flow.FormatNetFlowV9, nil
	case "ipfix", "v10":
		return flow.FormatIPFIX, nil
	case "sflow", "sflow5", "sflow-v5":
		return flow.FormatSFlow, nil
	}
	return flow.FormatUnknown, fmt.Errorf("unable to parse format %q: want v5, v9, ipfix or sflow", s)
}

// clock tracks an exporter's boot time.
type clock struct {
	boot    time.Time
	bootSet bool
}

// uptime returns the milliseconds since boot at now (setting the boot time
// on first use).
func (c *clock) uptime(now time.Time) uint32 {
	c.init(now)
	return uint32(now.Sub(c.boot).Milliseconds())
}

func (c *clock) init(now time.Time) {
	if !c.bootSet {
		if c.boot.IsZero() {
			c.boot = now.Add(-24 * time.Hour)
		}
		c.bootSet = true
	}
}

// rel returns the sysUptime-relative form of ms (Unix milliseconds),
// clamped at 0 (before boot).
func (c *clock) rel(ms int64) uint32 {
	d := ms - c.boot.UnixMilli()
	if d < 0 {
		return 0
	}
	return uint32(d)
}

// schedule decides when templates are due.
type schedule struct {
	everyPkts int
	every     time.Duration
	pkts      int // data datagrams since the last templates
	last      time.Time
	sent      bool
}

func (s *schedule) due(now time.Time) bool {
	if !s.sent {
		return true
	}
	if s.everyPkts > 0 && s.pkts >= s.everyPkts {
		return true
	}
	return s.every > 0 && now.Sub(s.last) >= s.every
}

func (s *schedule) done(now time.Time) {
	s.sent, s.pkts, s.last = true, 0, now
}

// Big-endian appends and stores. They are small enough to be inlined.

func app16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }
func app32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
func app64(b []byte, v uint64) []byte {
	return append(b, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
func put16(b []byte, v uint16) { _ = b[1]; b[0], b[1] = byte(v>>8), byte(v) }
func put32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}
func put64(b []byte, v uint64) { put32(b, uint32(v>>32)); put32(b[4:], uint32(v)) }
func get16(b []byte) uint16    { _ = b[1]; return uint16(b[0])<<8 | uint16(b[1]) }
func get32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func get64(b []byte) uint64 { return uint64(get32(b))<<32 | uint64(get32(b[4:])) }

// clamp32 saturates v at the largest uint32.
func clamp32(v uint64) uint32 {
	if v > 0xffffffff {
		return 0xffffffff
	}
	return uint32(v)
}
