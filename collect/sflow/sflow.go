// Package sflow decodes sFlow version 5 datagrams into flow records,
// without allocating in steady state. It implements flow.Decoder.
//
// # Wire format (sFlow v5, XDR: big-endian, 4-byte aligned)
//
//	datagram:  version=5 | agent address type (1 IPv4, 2 IPv6) | agent
//	           address (4 or 16) | sub-agent id | sequence | uptime (ms) |
//	           sample count | samples...
//	sample:    data format (enterprise<<12 | format) | length | data
//	  flow sample (0,1):          sequence | source id (type<<24 | index) |
//	                              sampling rate | pool | drops | input |
//	                              output | record count | records...
//	  expanded flow sample (0,3): sequence | source type | source index |
//	                              sampling rate | pool | drops | input format |
//	                              input value | output format | output value |
//	                              record count | records...
//	  counter samples (0,2), (0,4): counted, not decoded
//	flow record: data format | length | data
//	  raw packet header (0,1):  header protocol | frame length | stripped |
//	                            header length | header bytes (padded)
//	  sampled IPv4 (0,3):       length | protocol | src | dst | src port |
//	                            dst port | TCP flags | TOS
//	  sampled IPv6 (0,4):       same with 16-byte addresses and priority
//	  extended switch (0,1001), router (0,1002): read, nothing kept
//	  extended gateway (0,1003): next hop | AS | src AS | src peer AS |
//	                            AS path segments (type | count | ASNs) | ...
//
// In the compact flow sample an interface is a 2-bit format and a 30-bit
// value: format 0 is an ifIndex (0x3fffffff unknown), 1 a discarded packet
// and 2 several output interfaces; only format 0 yields InIf/OutIf.
//
// # Records
//
// Each flow sample gives one record: Packets 1, Bytes per Config.ByteCount,
// addresses, ports, protocol and TCP flags from the raw packet header (parsed
// with collect/packet, only header fields are kept; no payload byte leaves
// the decoder) or else from a sampled IPv4/IPv6 record, AS numbers from the
// extended gateway record (the destination AS is the last AS of the AS
// path). Start and End are the receive time: sFlow samples carry no time of
// their own, and the agent's uptime only dates the datagram, which is sent
// within about a second of sampling. Exporter is the agent address in the
// datagram and ObservationDomain the sub-agent id.
//
// # Sequence numbers
//
// Per (agent, sub-agent) the decoder follows the datagram sequence number
// and uptime to detect agent restarts, and per data source the flow sample
// sequence number to estimate lost samples (one sample is one record),
// reported as flow.EventSequenceLost. A sequence number is declared lost
// only once 256 later ones have been seen, so reordering within that
// window costs nothing; a jump backwards beyond it, or the uptime going
// backwards, resets the state without counting.
package sflow

import (
	"encoding/binary"
	"time"

	"github.com/acd-org/acd/flow"
)

// Errors returned by Decode. Reason is the metric label.
var (
	// ErrShort: the datagram is shorter than the sFlow v5 header.
	ErrShort = &flow.DecodeError{Reason: "short_datagram"}
	// ErrVersion: the datagram is not sFlow version 5.
	ErrVersion = &flow.DecodeError{Reason: "bad_version"}
	// ErrAgentAddress: the agent address type is neither IPv4 nor IPv6.
	ErrAgentAddress = &flow.DecodeError{Reason: "bad_agent_address"}
	// ErrTruncated: a sample runs past the end of the datagram, or the
	// datagram holds fewer samples than it says.
	ErrTruncated = &flow.DecodeError{Reason: "truncated"}
	// ErrTooManySamples: more samples than max_samples_per_datagram.
	ErrTooManySamples = &flow.DecodeError{Reason: "too_many_samples"}
	// ErrTooManyRecords: a sample holds more records than
	// max_records_per_sample.
	ErrTooManyRecords = &flow.DecodeError{Reason: "too_many_records"}
	// ErrBadSample: a sample is shorter than its fixed fields, or its
	// records run past its end.
	ErrBadSample = &flow.DecodeError{Reason: "bad_sample"}
	// ErrBadRecord: a flow record is shorter than its fields say.
	ErrBadRecord = &flow.DecodeError{Reason: "bad_record"}
	// ErrBadRawHeader: a raw packet header record holds a malformed IP
	// header. The sample's record is still produced, without addresses.
	ErrBadRawHeader = &flow.DecodeError{Reason: "bad_raw_header"}
)

// Decoder decodes sFlow v5 datagrams. It keeps sequence state per agent
// and is not safe for concurrent use.
type Decoder struct {
	cfg      Config
	obs      flow.Observer
	override map[flow.Addr]uint32
	byteIP   bool
	agents   map[agentKey]*agent
}

var _ flow.Decoder = (*Decoder)(nil)

// New returns a decoder. cfg should have passed Validate; zero bounds are
// replaced by the defaults. obs receives the events (nil discards them).
func New(cfg Config, obs flow.Observer) *Decoder {
	def := DefaultConfig()
	if cfg.MaxSamplesPerDatagram <= 0 {
		cfg.MaxSamplesPerDatagram = def.MaxSamplesPerDatagram
	}
	if cfg.MaxRecordsPerSample <= 0 {
		cfg.MaxRecordsPerSample = def.MaxRecordsPerSample
	}
	if cfg.MaxAgents <= 0 {
		cfg.MaxAgents = def.MaxAgents
	}
	if cfg.MaxSourcesPerAgent <= 0 {
		cfg.MaxSourcesPerAgent = def.MaxSourcesPerAgent
	}
	if obs == nil {
		obs = flow.NopObserver{}
	}
	d := &Decoder{cfg: cfg, obs: obs, byteIP: cfg.ByteCount == BytesIP, agents: make(map[agentKey]*agent)}
	for k, v := range cfg.SamplingOverride {
		var a flow.Addr
		if a.UnmarshalText([]byte(k)) == nil && v > 0 {
			if d.override == nil {
				d.override = make(map[flow.Addr]uint32)
			}
			d.override[a] = v
		}
	}
	return d
}

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// state is the per-datagram decoding state.
type state struct {
	base     flow.Record // fields common to every record of the datagram
	agent    *agent
	override uint32
	err      error // first error met

	counters, skipped, lost int

	// last looked-up data source, to spare a map lookup per sample
	lastSrc uint64
	lastWin *seqWindow
}

func (s *state) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// Decode implements flow.Decoder: it appends one record per flow sample of
// pkt to out. On malformed input it returns the first error met with the
// records decoded from the well-formed samples.
func (d *Decoder) Decode(pkt []byte, exp flow.Exporter, now time.Time, out []flow.Record) ([]flow.Record, flow.Format, error) {
	var s state
	off, n, err := d.header(pkt, &s)
	if err != nil {
		return out, flow.FormatSFlow, err
	}
	s.base.Start = now.UnixMilli()
	s.base.End = s.base.Start
	s.base.Packets = 1
	s.base.Format = flow.FormatSFlow
	if d.override != nil {
		s.override = d.override[s.base.Exporter]
	}
	if n > uint32(d.cfg.MaxSamplesPerDatagram) {
		n = uint32(d.cfg.MaxSamplesPerDatagram)
		s.fail(ErrTooManySamples)
	}
	for range n {
		if len(pkt)-off < 8 {
			s.fail(ErrTruncated)
			break
		}
		format, length := be32(pkt[off:]), be32(pkt[off+4:])
		off += 8
		if uint64(length) > uint64(len(pkt)-off) {
			s.fail(ErrTruncated)
			break
		}
		body := pkt[off : off+int(length)]
		off += int(length)
		if format>>12 != 0 {
			s.skipped++
			continue
		}
		switch format {
		case 1:
			out = d.flowSample(body, false, &s, out)
		case 3:
			out = d.flowSample(body, true, &s, out)
		case 2, 4:
			s.counters++
		default:
			s.skipped++
		}
	}
	d.report(exp, &s)
	return out, flow.FormatSFlow, s.err
}

// header parses the datagram header into s.base and returns the offset of
// the first sample and the sample count.
func (d *Decoder) header(pkt []byte, s *state) (int, uint32, error) {
	if len(pkt) < 8 {
		return 0, 0, ErrShort
	}
	if be32(pkt) != 5 {
		return 0, 0, ErrVersion
	}
	off := 8
	switch be32(pkt[4:]) {
	case 1:
		if len(pkt) < 28 {
			return 0, 0, ErrShort
		}
		s.base.Exporter = flow.AddrFrom4Slice(pkt[8:12])
		off = 12
	case 2:
		if len(pkt) < 40 {
			return 0, 0, ErrShort
		}
		s.base.Exporter = flow.AddrFrom16Slice(pkt[8:24])
		off = 24
	default:
		return 0, 0, ErrAgentAddress
	}
	sub, seq, uptime, n := be32(pkt[off:]), be32(pkt[off+4:]), be32(pkt[off+8:]), be32(pkt[off+12:])
	s.base.ObservationDomain = sub
	s.agent = d.agentFor(agentKey{s.base.Exporter, sub}, seq, uptime)
	return off + 16, n, nil
}

// report passes the datagram's events to the observer.
func (d *Decoder) report(exp flow.Exporter, s *state) {
	if s.counters > 0 {
		d.obs.Observe(exp, flow.FormatSFlow, flow.EventCounterSamples, s.counters)
	}
	if s.skipped > 0 {
		d.obs.Observe(exp, flow.FormatSFlow, flow.EventSkipped, s.skipped)
	}
	if s.lost > 0 {
		d.obs.Observe(exp, flow.FormatSFlow, flow.EventSequenceLost, s.lost)
	}
}
