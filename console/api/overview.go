package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/acd-org/acd/cases"
)

// The live overview (README.md, "Overview"): a snapshot of the pipeline
// computed from the in-process Prometheus registry (Deps.Gatherer), the
// suspects, the cases and the actions in effect. Rates are counter
// deltas between this snapshot and the previous one; snapshots are
// shared by every client and taken at most once per minSnapshotAge.

// The metric families the overview reads.
const (
	mRecords     = "acd_collect_records_total"        // exporter, format
	mPackets     = "acd_collect_packets_total"        // exporter, format
	mDecodeErrs  = "acd_collect_errors_total"         // exporter, format, reason
	mSockDrops   = "acd_collect_socket_drops_total"   // listener
	mQueueDrops  = "acd_collect_queue_drops_total"    // listener
	mScreenIn    = "acd_screen_records_in_total"      // class
	mScreenDrops = "acd_screen_records_dropped_total" // class
	mFindings    = "acd_detect_findings_total"        // detector
	mVerdicts    = "acd_verify_verdicts_total"        // verdict
)

var overviewFamilies = map[string]bool{mRecords: true, mPackets: true, mDecodeErrs: true, mSockDrops: true,
	mQueueDrops: true, mScreenIn: true, mScreenDrops: true, mFindings: true, mVerdicts: true}

// minSnapshotAge is how old a snapshot may be and still be answered
// again: clients asking together share one, and rates are never taken
// over a few milliseconds.
const minSnapshotAge = time.Second

// Overview is GET /api/v1/overview's answer.
type Overview struct {
	Time time.Time `json:"time"`
	// IntervalS is the seconds the rates are over (0: the first
	// snapshot, every rate 0).
	IntervalS         float64            `json:"interval_s"`
	Ingest            []IngestRow        `json:"ingest"`
	RecordsPerS       float64            `json:"records_per_s"`
	RecordsTotal      float64            `json:"records_total"`
	DropsPerS         float64            `json:"drops_per_s"` // socket and queue drops
	DropsTotal        float64            `json:"drops_total"`
	DecodeErrorsPerS  float64            `json:"decode_errors_per_s"`
	DecodeErrorsTotal float64            `json:"decode_errors_total"`
	ErrorsByKind      map[string]float64 `json:"errors_by_kind"`     // decode errors per second, by reason
	Screened          map[string]float64 `json:"screened"`           // records per second, by class
	ScreenedOutShare  float64            `json:"screened_out_share"` // 0..1
	FindingsPerMin    map[string]float64 `json:"findings_per_min"`   // by detector
	Suspects          int                `json:"suspects"`
	ActionsActive     int                `json:"actions_active"`
	CasesByState      map[string]int     `json:"cases_by_state"`
	Verdicts          map[string]float64 `json:"verdicts"` // since start, by verdict
}

// IngestRow is one exporter and format's ingest.
type IngestRow struct {
	Exporter     string  `json:"exporter"`
	Format       string  `json:"format"`
	RecordsPerS  float64 `json:"records_per_s"`
	PacketsPerS  float64 `json:"packets_per_s"`
	RecordsTotal float64 `json:"records_total"`
	PacketsTotal float64 `json:"packets_total"`
}

// overviewer takes and keeps the snapshots.
type overviewer struct {
	h  *handler
	mu sync.Mutex
	// prev and last are the last two gathers, at prevAt and lastAt;
	// snap is the overview of last. All guarded by mu.
	prev, last     series
	prevAt, lastAt time.Time
	snap           Overview
	// hist is the history (overview_history.go), guarded by mu.
	hist ring
}

// stateTimeout bounds the store reads of a snapshot (addState).
const stateTimeout = 5 * time.Second

// snapshot returns the overview, taking a new one when the last is
// older than minSnapshotAge.
func (o *overviewer) snapshot(ctx context.Context) (Overview, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.h.now()
	if o.last != nil && now.Sub(o.lastAt) < minSnapshotAge {
		return o.snap, nil
	}
	cur, err := gatherSeries(o.h.deps.Gatherer, overviewFamilies)
	if err != nil {
		return Overview{}, err
	}
	if o.last != nil {
		o.prev, o.prevAt = o.last, o.lastAt
	}
	o.last, o.lastAt = cur, now
	o.hist.observe(cur, now)
	ov := computeOverview(o.prev, cur, now.Sub(o.prevAt).Seconds())
	ov.Time = now.UTC()
	// The snapshot is shared by every client for a second: the request
	// that happens to take it must not spoil it by going away.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateTimeout)
	defer cancel()
	o.h.addState(sctx, &ov)
	o.snap = ov
	return ov, nil
}

// computeOverview computes the metric part of the overview of cur, its
// rates against prev over dt seconds (prev nil: the first, rates 0).
func computeOverview(prev, cur series, dt float64) Overview {
	if prev == nil {
		prev, dt = series{}, 0
	}
	ov := Overview{IntervalS: dt, Ingest: []IngestRow{}, ErrorsByKind: map[string]float64{}, Screened: map[string]float64{},
		FindingsPerMin: map[string]float64{}, CasesByState: map[string]int{}, Verdicts: map[string]float64{}}
	recs, precs := cur.by(mRecords, "exporter", "format"), prev.by(mRecords, "exporter", "format")
	pkts, ppkts := cur.by(mPackets, "exporter", "format"), prev.by(mPackets, "exporter", "format")
	for k := range pkts {
		if _, ok := recs[k]; !ok {
			recs[k] = 0
		}
	}
	for _, k := range sortedKeys(recs) {
		exp, format, _ := strings.Cut(k, "\x00")
		row := IngestRow{Exporter: exp, Format: format, RecordsTotal: recs[k], PacketsTotal: pkts[k],
			RecordsPerS: rate(recs[k], precs[k], dt), PacketsPerS: rate(pkts[k], ppkts[k], dt)}
		ov.Ingest = append(ov.Ingest, row)
		ov.RecordsPerS += row.RecordsPerS
		ov.RecordsTotal += row.RecordsTotal
	}
	drops := cur.total(mSockDrops) + cur.total(mQueueDrops)
	ov.DropsTotal, ov.DropsPerS = drops, rate(drops, prev.total(mSockDrops)+prev.total(mQueueDrops), dt)
	errs, perrs := cur.by(mDecodeErrs, "reason"), prev.by(mDecodeErrs, "reason")
	for k, v := range errs {
		ov.ErrorsByKind[k] = rate(v, perrs[k], dt)
		ov.DecodeErrorsTotal += v
		ov.DecodeErrorsPerS += ov.ErrorsByKind[k]
	}
	in, pin := cur.by(mScreenIn, "class"), prev.by(mScreenIn, "class")
	var inRate, inTotal float64
	for k, v := range in {
		ov.Screened[k] = rate(v, pin[k], dt)
		inRate, inTotal = inRate+ov.Screened[k], inTotal+v
	}
	dropped := cur.total(mScreenDrops)
	switch dropRate := rate(dropped, prev.total(mScreenDrops), dt); {
	case inRate > 0:
		ov.ScreenedOutShare = min(1, dropRate/inRate)
	case inTotal > 0:
		ov.ScreenedOutShare = min(1, dropped/inTotal)
	}
	fs, pfs := cur.by(mFindings, "detector"), prev.by(mFindings, "detector")
	for k, v := range fs {
		ov.FindingsPerMin[k] = 60 * rate(v, pfs[k], dt)
	}
	for k, v := range cur.by(mVerdicts, "verdict") {
		ov.Verdicts[k] = v
	}
	return ov
}

// addState adds what the registry does not hold: the suspects, the
// actions in effect and the cases by state. A part that fails is left
// out (logged): the overview is a picture, not a report.
func (h *handler) addState(ctx context.Context, ov *Overview) {
	if h.deps.Book != nil {
		ov.Suspects = h.deps.Book.Len()
	}
	if h.deps.InEffect != nil {
		items, err := h.deps.InEffect(ctx)
		if err != nil {
			h.log.Warn("api: overview without the actions in effect", "error", err)
		}
		ov.ActionsActive = len(items)
	}
	if h.deps.Cases == nil {
		return
	}
	for _, st := range cases.States() {
		_, n, err := h.deps.Cases.Cases(ctx, cases.Filter{State: st, Limit: 1})
		if err != nil {
			h.log.Warn("api: overview without the cases by state", "error", err)
			clear(ov.CasesByState)
			return
		}
		if n > 0 {
			ov.CasesByState[string(st)] = n
		}
	}
}

// overviewReaders are the roles that may read the overview: every
// console role but partner and reporting-operator.
var overviewReaders = suspectReaders

// overviewRoutes registers the overview and its stream.
func (h *handler) overviewRoutes() {
	h.mux.Handle("/api/v1/overview", h.route(http.MethodGet, overviewReaders(), h.getOverview))
	h.mux.Handle("/api/v1/overview/stream", h.route(http.MethodGet, overviewReaders(), h.streamOverview))
}

// getOverview answers GET /api/v1/overview[?history=1].
func (h *handler) getOverview(w http.ResponseWriter, r *http.Request) {
	withHistory, err := parseOverviewQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if h.deps.Gatherer == nil {
		writeError(w, http.StatusServiceUnavailable, "the overview is not available on this server (no metrics registry)")
		return
	}
	ov, err := h.overview.snapshot(r.Context())
	if err != nil {
		h.log.Error("api: overview failed", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to compute the overview (the server logged why)")
		return
	}
	if withHistory {
		writeJSON(w, http.StatusOK, overviewHistory{Overview: ov, HistoryStepS: historyStep.Seconds(), History: h.overview.history()})
		return
	}
	writeJSON(w, http.StatusOK, ov)
}
