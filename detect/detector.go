package detect

import "github.com/acd-org/acd/flow"

// Detector is one detection method. The engine calls its methods from one
// goroutine at a time, so a detector needs no locking of its own (except
// for Stats, which may be called concurrently from a metrics scrape and
// must only read values it keeps atomically or that are safe to read
// racily: the engine serializes Stats with the other calls too).
//
// Time is event time in milliseconds since the Unix epoch. Records may
// arrive late and out of order: a detector files each record under the
// window of its own time, and counts the records whose window has already
// been closed by Advance as late (Stats.Late) instead of using them.
//
// The watermark is the latest record start seen less the lateness. File
// records by their end (a flow is reported when it ends, or at the
// exporter's active timeout): a long flow then never looks late, whether
// the input comes in export order (live exporters, pcap meter) or in start
// order (generated scenarios). A detector that files by start (beacon
// connection times) must expect long flows reported at their end to be
// late.
type Detector interface {
	// Name is the detector's label ("scan", "bruteforce", ...): metrics,
	// evidence and configuration use it.
	Name() string
	// Observe takes the screened records of one batch. wm is the current
	// watermark (see Advance). A detector emits a finding as soon as a
	// record makes a key cross its threshold, so a live feed shows it
	// without waiting for the window to close.
	Observe(recs []flow.Record, wm int64, emit Emit)
	// Advance says that event time has reached wm: records older than wm
	// are late. The detector closes the windows that end at or before wm,
	// emits their findings and drops the state it no longer needs.
	Advance(wm int64, emit Emit)
	// Flush closes everything at the end of the input (a capture file, a
	// shutdown) and emits what is left.
	Flush(emit Emit)
	// Stats reports the state the detector holds.
	Stats() Stats
}

// Stats describes a detector's state.
type Stats struct {
	Keys       int    `json:"keys"`        // keys tracked now
	MaxKeys    int    `json:"max_keys"`    // the configured bound
	PeakKeys   int    `json:"peak_keys"`   // the most keys tracked at once
	StateBytes int64  `json:"state_bytes"` // memory held for the keys now, estimated
	Evictions  uint64 `json:"evictions"`   // keys evicted because the bound was reached
	Late       uint64 `json:"late"`        // records ignored because their window had closed
}

// BytesPerKey is StateBytes/Keys, or 0 without keys.
func (s Stats) BytesPerKey() float64 {
	if s.Keys == 0 {
		return 0
	}
	return float64(s.StateBytes) / float64(s.Keys)
}

// Add sums two stats (for detectors made of several tables).
func (s Stats) Add(o Stats) Stats {
	return Stats{
		Keys: s.Keys + o.Keys, MaxKeys: s.MaxKeys + o.MaxKeys, PeakKeys: s.PeakKeys + o.PeakKeys,
		StateBytes: s.StateBytes + o.StateBytes, Evictions: s.Evictions + o.Evictions, Late: s.Late + o.Late,
	}
}

// WindowStart returns the start of the window of length w (ms) holding
// event time t (floor division, also for times before the epoch).
func WindowStart(t, w int64) int64 {
	q := t / w
	if t%w < 0 {
		q--
	}
	return q * w
}
