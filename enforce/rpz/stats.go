package rpz

import "sync/atomic"

// Stats counts what an RPZ did since New, for metrics (the lead wires
// them to Prometheus counters).
type Stats struct {
	// Changes is the number of serial bumps (Apply, Withdraw, Sync).
	Changes uint64 `json:"changes"`
	// AXFR counts whole-zone transfers asked as AXFR; IXFR incremental
	// transfers (including "up to date" answers); IXFRFull IXFRs answered
	// with the whole zone (serial older than the journal).
	AXFR     uint64 `json:"axfr"`
	IXFR     uint64 `json:"ixfr"`
	IXFRFull uint64 `json:"ixfr_full"`
	// Refused counts requests answered REFUSED or NOTAUTH (access
	// control, TSIG, other zones).
	Refused uint64 `json:"refused"`
	// NotifyOK and NotifyFailed count NOTIFY attempts by outcome.
	NotifyOK     uint64 `json:"notify_ok"`
	NotifyFailed uint64 `json:"notify_failed"`
}

type counters struct {
	changes, axfr, ixfr, ixfrFull, refused, notifyOK, notifyFailed atomic.Uint64
}

// Stats returns the counters.
func (r *RPZ) Stats() Stats {
	c := &r.counters
	return Stats{Changes: c.changes.Load(), AXFR: c.axfr.Load(), IXFR: c.ixfr.Load(), IXFRFull: c.ixfrFull.Load(),
		Refused: c.refused.Load(), NotifyOK: c.notifyOK.Load(), NotifyFailed: c.notifyFailed.Load()}
}
