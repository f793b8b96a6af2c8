package pcap

import "maps"

// ExportReason says why the meter exported a flow.
type ExportReason uint8

// Export reasons.
const (
	// ExportIdle: no packet for longer than the idle timeout.
	ExportIdle ExportReason = iota
	// ExportActive: the flow lasted longer than the active timeout; the
	// next packet of its 5-tuple starts a new flow.
	ExportActive
	// ExportTCPEnd: a TCP packet with FIN or RST was counted.
	ExportTCPEnd
	// ExportEvicted: the table was full (Config.MaxFlows) and this was the
	// least recently seen flow.
	ExportEvicted
	// ExportEnd: the end of the file (or Flush).
	ExportEnd
	numExportReasons
)

// NumExportReasons is the number of export reasons.
const NumExportReasons = int(numExportReasons)

var exportReasonNames = [...]string{"idle", "active", "tcp_end", "evicted", "end"}

// String returns the reason's metric label ("idle", "active", ...).
func (r ExportReason) String() string {
	if int(r) < len(exportReasonNames) {
		return exportReasonNames[r]
	}
	return "unknown"
}

// Stats counts what the meter read and did. The caller turns it into
// metrics or a summary; all counters only grow.
type Stats struct {
	Files      uint64 // files whose pcap or pcapng header was read
	FileErrors uint64 // files that could not be read, or ended in a read error
	FileBytes  uint64 // bytes read from files (compressed bytes for gzip files)
	Packets    uint64 // packet records read
	Metered    uint64 // packets counted into flows
	Bytes      uint64 // layer-3 bytes counted into flows
	Flows      uint64 // flow records exported (the sum of Exports)
	Fragments  uint64 // non-first IP fragments, metered with ports 0
	Truncated  uint64 // packets metered although the snap length cut their transport header (ports or flags 0)

	// Exports counts exported flows by ExportReason.
	Exports [NumExportReasons]uint64
	// Errors counts packets that were read but not metered, by reason:
	// the packet parser's reasons ("packet_not_ip", "packet_truncated",
	// "packet_bad_ip_header", "packet_unsupported_link", ...).
	Errors map[string]uint64
}

// ErrorCount returns the sum of Errors.
func (s *Stats) ErrorCount() uint64 {
	var n uint64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// clone returns a copy of s that shares no map.
func (s *Stats) clone() Stats {
	c := *s
	c.Errors = maps.Clone(s.Errors)
	if c.Errors == nil {
		c.Errors = map[string]uint64{}
	}
	return c
}
