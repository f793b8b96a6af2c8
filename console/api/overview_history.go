package api

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// The overview's history (README.md, "Overview"): a ring of the rates the
// console charts, one point per historyStep over the last historyLen
// points, so that the overview page draws the last half hour at once
// instead of only what the stream sent since the page opened.
//
// The ring is fed by the gathers the overview takes anyway (every
// snapshot, i.e. every 2 s while a stream is open) and, when acd serve
// runs it, by SampleOverview, which gathers every historyStep whether or
// not anybody watches. A point's rates are counter deltas since the
// previous point. After a pause longer than historyGap (nobody watched
// and no sampler ran) the next gather only sets a new base: no point
// averages over the pause, and the console draws a gap there.

// History bounds and timings.
const (
	historyStep = 10 * time.Second
	historyLen  = 180 // 30 min at historyStep
	// historyGap is the longest a point may span.
	historyGap = 3 * historyStep
	// historySlack lets a gather slightly early (a ticker's jitter) make
	// the point, so that 2 s ticks give points 10 s apart, not 12.
	historySlack = historyStep / 10
)

// OverviewPoint is one point of the overview's history: the rates the
// console charts, over the IntervalS seconds before Time.
type OverviewPoint struct {
	Time             time.Time          `json:"time"`
	IntervalS        float64            `json:"interval_s"`
	RecordsPerS      float64            `json:"records_per_s"`
	DropsPerS        float64            `json:"drops_per_s"`
	DecodeErrorsPerS float64            `json:"decode_errors_per_s"`
	FindingsPerMin   map[string]float64 `json:"findings_per_min"`
}

// overviewHistory is GET /api/v1/overview?history=1's answer: the
// snapshot and, oldest first, the points before it.
type overviewHistory struct {
	Overview
	HistoryStepS float64         `json:"history_step_s"`
	History      []OverviewPoint `json:"history"`
}

// ring holds the history. It is not safe for concurrent use: the
// overviewer's mutex guards it.
type ring struct {
	// points are the points, oldest first, at most max (0: historyLen).
	points []OverviewPoint
	max    int
	// base is the gather the next point's rates start from, at baseAt
	// (nil: none yet).
	base   series
	baseAt time.Time
}

// observe takes the gather cur, made at now: it makes a point when the
// base is a step old, or only a new base after a pause or a clock that
// went back.
func (r *ring) observe(cur series, now time.Time) {
	dt := now.Sub(r.baseAt)
	switch {
	case r.base != nil && dt >= 0 && dt < historyStep-historySlack:
		return // not yet a step
	case r.base == nil, dt < 0, dt > historyGap:
		r.base, r.baseAt = cur, now
		return
	}
	ov := computeOverview(r.base, cur, dt.Seconds())
	p := OverviewPoint{Time: now.UTC(), IntervalS: ov.IntervalS, RecordsPerS: ov.RecordsPerS, DropsPerS: ov.DropsPerS,
		DecodeErrorsPerS: ov.DecodeErrorsPerS, FindingsPerMin: ov.FindingsPerMin}
	limit := r.max
	if limit <= 0 {
		limit = historyLen
	}
	if len(r.points) >= limit {
		r.points = append(r.points[:0], r.points[len(r.points)-limit+1:]...)
	}
	r.points = append(r.points, p)
	r.base, r.baseAt = cur, now
}

// list returns a copy of the points, oldest first (never nil).
func (r *ring) list() []OverviewPoint {
	return append([]OverviewPoint{}, r.points...)
}

// sample gathers for the history only (no snapshot, no state read).
func (o *overviewer) sample() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	cur, err := gatherSeries(o.h.deps.Gatherer, overviewFamilies)
	if err != nil {
		return err
	}
	o.hist.observe(cur, o.h.now())
	return nil
}

// history returns the points, oldest first.
func (o *overviewer) history() []OverviewPoint {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hist.list()
}

// OverviewSampler is implemented by the handler New returns.
type OverviewSampler interface {
	// SampleOverview fills the overview's history every 10 s until ctx
	// is done, then returns ctx's error. Run it in one goroutine for the
	// handler's lifetime (acd serve: from start to shutdown); without it
	// the history holds only the times somebody watched the overview.
	// It returns at once, nil, on a server without a metrics registry.
	SampleOverview(ctx context.Context) error
}

var _ OverviewSampler = (*handler)(nil)

// SampleOverview implements OverviewSampler.
func (h *handler) SampleOverview(ctx context.Context) error {
	if h.deps.Gatherer == nil {
		return nil
	}
	tick := time.NewTicker(historyStep)
	defer tick.Stop()
	failing := false // log a failure once, not every step
	for {
		err := h.overview.sample()
		switch {
		case err != nil && !failing:
			h.log.Warn("api: the overview's history misses points: unable to read the metrics", "error", err)
		case err == nil && failing:
			h.log.Info("api: the overview's history reads the metrics again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// parseOverviewQuery reads GET /api/v1/overview's parameters: history=1
// (or true) adds the history; 0, false or absent do not.
func parseOverviewQuery(q url.Values) (history bool, err error) {
	if err := checkParams(q, "history"); err != nil {
		return false, err
	}
	switch v := q.Get("history"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, fmt.Errorf("history: %q is not 1 or 0", v)
	}
}
