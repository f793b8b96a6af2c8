package flow

import (
	"strconv"
	"time"
)

// Exporter identifies the sender of an export datagram: its UDP source
// address and port.
type Exporter struct {
	Addr Addr
	Port uint16
}

// String returns "addr:port".
func (e Exporter) String() string {
	if e.Addr.Is4() {
		return e.Addr.String() + ":" + strconv.Itoa(int(e.Port))
	}
	return "[" + e.Addr.String() + "]:" + strconv.Itoa(int(e.Port))
}

// Decoder turns one export datagram into records. A decoder keeps state
// (templates, sequence numbers) per exporter; it is not safe for concurrent
// use, and the collector gives each socket worker its own (SO_REUSEPORT
// steers one exporter's datagrams to one socket).
//
// Decode appends the records found in pkt, sent by exp and received at
// now, to out and returns the extended slice together with the packet's
// format. Decode does not retain pkt. On malformed input it returns a
// *DecodeError naming the reason, together with every record it could
// decode before and after the bad part; it never panics. Records decoded
// from data that had been held waiting for its template are appended too,
// so a call may return more records than pkt holds.
type Decoder interface {
	Decode(pkt []byte, exp Exporter, now time.Time, out []Record) ([]Record, Format, error)
}

// DecodeError is a decoding failure of a known kind. Decoders return
// package-level *DecodeError values (no allocation); Reason is the label
// of acd_collect_errors_total{reason=...}.
type DecodeError struct {
	Reason string
}

func (e *DecodeError) Error() string { return "unable to decode: " + e.Reason }

// Event is something a decoder counts that is not an error.
type Event uint8

// Events reported through Observer.
const (
	// EventTemplates: templates cached for the exporter changed by delta
	// (+1 learned, -1 withdrawn, expired or evicted; a refresh is 0).
	EventTemplates Event = iota
	// EventTemplateEvicted: a template was evicted to honour the
	// per-exporter bound (delta = number evicted).
	EventTemplateEvicted
	// EventWaiting: records (data sets) held waiting for their template
	// changed by delta.
	EventWaiting
	// EventWaitingDropped: held data sets given up (expired or over the
	// bound), delta = number of data sets.
	EventWaitingDropped
	// EventSequenceLost: estimated records (v9: packets) lost according to
	// the protocol's sequence numbers, delta = estimate.
	EventSequenceLost
	// EventTimeClamped: implausible timestamps clamped, delta = records.
	EventTimeClamped
	// EventCounterSamples: sFlow counter samples seen (counted, not decoded
	// into records).
	EventCounterSamples
	// EventSkipped: records of unknown type skipped by length.
	EventSkipped
	// EventSamplingLearned: a sampling rate was learned from options data.
	EventSamplingLearned
	numEvents
)

var eventNames = [...]string{"templates", "template_evicted", "waiting", "waiting_dropped",
	"sequence_lost", "time_clamped", "counter_samples", "skipped", "sampling_learned"}

// String returns the event's metric-friendly name.
func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "unknown"
}

// NumEvents is the number of defined events.
const NumEvents = int(numEvents)

// Observer receives decoder events. The collector implements it with
// Prometheus metrics; tests with a recorder. It is called on the decoder's
// goroutine and must not retain anything.
type Observer interface {
	Observe(exp Exporter, f Format, ev Event, delta int)
}

// NopObserver discards all events.
type NopObserver struct{}

// Observe does nothing.
func (NopObserver) Observe(Exporter, Format, Event, int) {}
