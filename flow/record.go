// Package flow defines the one flow record type that travels the whole acd
// pipeline, the pooled batches records travel in, and the contract every
// flow decoder follows.
//
// A Record is fixed-size and holds no pointer: decoders fill records in
// place inside a batch's backing array, so steady-state decoding allocates
// nothing and the garbage collector never scans record memory.
//
// Byte and packet counters are the values the exporter reported (or the
// meter counted); they are not multiplied by the sampling rate. SamplingRate
// says by how much to scale them, and Scaled* do it. Times are milliseconds
// since the Unix epoch, UTC.
package flow

import "time"

// Format is the wire format a record came from.
type Format uint8

// Formats. The zero value is FormatUnknown.
const (
	FormatUnknown Format = iota
	FormatNetFlowV5
	FormatNetFlowV9
	FormatIPFIX
	FormatSFlow
	FormatPcap
)

var formatNames = [...]string{"unknown", "netflow-v5", "netflow-v9", "ipfix", "sflow", "pcap"}

// String returns the format's label as used in metrics ("netflow-v9", ...).
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "unknown"
}

// SamplingSource says where a record's sampling rate came from.
type SamplingSource uint8

// Sampling sources, in the order a rate is looked for: a configured
// per-exporter override wins over what the exporter reported, and the
// configured default applies only when neither is known.
const (
	SamplingNone     SamplingSource = iota // unsampled (rate 1, nothing said otherwise)
	SamplingExporter                       // from the export packet (v5 header, v9/IPFIX options, sFlow sample)
	SamplingOverride                       // per-exporter override from the configuration
	SamplingDefault                        // configured default, the exporter said nothing
)

var samplingNames = [...]string{"none", "exporter", "override", "default"}

// String returns the source's label ("exporter", "override", ...).
func (s SamplingSource) String() string {
	if int(s) < len(samplingNames) {
		return samplingNames[s]
	}
	return "none"
}

// TCP flag bits as they appear in Record.TCPFlags.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// Record is one unidirectional flow: what the exporter (or the pcap meter)
// saw of packets sharing a 5-tuple between Start and End. It is fixed-size
// and pointer-free; copy it by value.
type Record struct {
	Start int64 // first packet, ms since the Unix epoch (UTC)
	End   int64 // last packet, ms since the Unix epoch (UTC)

	Bytes   uint64 // bytes as reported (unscaled): layer 3 for NetFlow/IPFIX/pcap; sFlow: see collect/sflow byte_count
	Packets uint64 // packets as reported (unscaled)

	SrcAddr  Addr
	DstAddr  Addr
	Exporter Addr // the exporter (UDP source, or sFlow agent address)

	ObservationDomain uint32 // v9 source id, IPFIX observation domain, sFlow sub-agent id
	InIf              uint32 // input interface index (ifIndex)
	OutIf             uint32 // output interface index (ifIndex)
	SrcAS             uint32
	DstAS             uint32
	SamplingRate      uint32 // 1 in N packets; 0 or 1 means unsampled
	KeyEpoch          uint32 // pseudonymization key epoch, when Pseudo is not 0

	SrcPort  uint16 // for ICMP: 0
	DstPort  uint16 // for ICMP: type<<8 | code (NetFlow convention)
	Proto    uint8  // IP protocol number
	TCPFlags uint8  // OR of the flags seen (TCPFin, ...)

	SamplingSource SamplingSource
	Format         Format
	Class          Class  // set by the screening stage
	Pseudo         Pseudo // which addresses are pseudonyms, set by the screening stage
}

// Class is a record's relation to the domestic address space. The
// screening stage (package minimize) sets it; records of class
// ClassDomestic never leave that stage.
type Class uint8

// Classes. ClassUnscreened is the zero value: the record has not been
// through screening.
const (
	ClassUnscreened Class = iota
	ClassTransit          // foreign to foreign
	ClassInbound          // foreign to domestic
	ClassOutbound         // domestic to foreign
	ClassDomestic         // domestic to domestic
)

var classNames = [...]string{"unscreened", "transit", "inbound", "outbound", "domestic"}

// String returns the class label ("transit", ...).
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unscreened"
}

// Pseudo flags say which of a record's addresses are pseudonyms
// (prefix-preserving, of key epoch Record.KeyEpoch) rather than real
// addresses.
type Pseudo uint8

// Pseudonym flags.
const (
	PseudoSrc Pseudo = 1 << iota // SrcAddr is a pseudonym
	PseudoDst                    // DstAddr is a pseudonym
)

// StartTime returns Start as a time.Time in UTC.
func (r *Record) StartTime() time.Time { return time.UnixMilli(r.Start).UTC() }

// EndTime returns End as a time.Time in UTC.
func (r *Record) EndTime() time.Time { return time.UnixMilli(r.End).UTC() }

// rate returns the effective sampling rate (at least 1).
func (r *Record) rate() uint64 {
	if r.SamplingRate <= 1 {
		return 1
	}
	return uint64(r.SamplingRate)
}

// ScaledBytes returns Bytes multiplied by the sampling rate.
func (r *Record) ScaledBytes() uint64 { return r.Bytes * r.rate() }

// ScaledPackets returns Packets multiplied by the sampling rate.
func (r *Record) ScaledPackets() uint64 { return r.Packets * r.rate() }
