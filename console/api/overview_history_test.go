package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gathered is a gather of the records and the scan detector's findings
// counters, at offset from tc0.
type gathered struct {
	at                time.Duration
	records, findings float64
}

func (g gathered) series() series {
	rec, fin := g.records, g.findings
	det, name := "detector", "scan"
	return series{
		mRecords:  {{Counter: &dto.Counter{Value: &rec}}},
		mFindings: {{Label: []*dto.LabelPair{{Name: &det, Value: &name}}, Counter: &dto.Counter{Value: &fin}}},
	}
}

// pt is a wanted point: at, interval, records/s and scan findings/min.
func pt(at time.Duration, interval, recsPerS, findingsPerMin float64) OverviewPoint {
	return OverviewPoint{Time: tc0.Add(at), IntervalS: interval, RecordsPerS: recsPerS,
		FindingsPerMin: map[string]float64{"scan": findingsPerMin}}
}

// TestRing feeds the history's ring gathers and checks its points: one a
// step, rates over the step, oldest first, bounded, no point over a
// pause or a clock that went back.
func TestRing(t *testing.T) {
	s := time.Second
	for _, tt := range []struct {
		name    string
		max     int
		gathers []gathered
		want    []OverviewPoint
	}{
		{"the first gather is only a base", 0, []gathered{{0, 100, 0}}, []OverviewPoint{}},
		{"one point a step, rates over the step", 0,
			[]gathered{{0, 0, 0}, {2 * s, 20, 0}, {4 * s, 40, 1}, {6 * s, 60, 1}, {8 * s, 80, 1}, {10 * s, 100, 2},
				{12 * s, 140, 2}, {14 * s, 180, 2}, {16 * s, 220, 2}, {18 * s, 260, 2}, {20 * s, 300, 2}},
			[]OverviewPoint{pt(10*s, 10, 10, 12), pt(20*s, 10, 20, 0)}},
		{"a gather just short of the step makes the point", 0,
			[]gathered{{0, 0, 0}, {9500 * time.Millisecond, 95, 0}}, []OverviewPoint{pt(9500*time.Millisecond, 9.5, 10, 0)}},
		{"a gather well short of the step does not", 0, []gathered{{0, 0, 0}, {8 * s, 80, 0}}, []OverviewPoint{}},
		{"a pause longer than the gap only sets a new base", 0,
			[]gathered{{0, 0, 0}, {10 * s, 100, 0}, {50 * s, 500, 0}, {60 * s, 700, 0}},
			[]OverviewPoint{pt(10*s, 10, 10, 0), pt(60*s, 10, 20, 0)}},
		{"a pause of the gap still makes a point", 0,
			[]gathered{{0, 0, 0}, {30 * s, 300, 0}}, []OverviewPoint{pt(30*s, 30, 10, 0)}},
		{"a clock that went back sets a new base", 0,
			[]gathered{{0, 0, 0}, {10 * s, 100, 0}, {5 * s, 200, 0}, {15 * s, 300, 0}},
			[]OverviewPoint{pt(10*s, 10, 10, 0), pt(15*s, 10, 10, 0)}},
		{"a counter that went back gives rate 0", 0,
			[]gathered{{0, 1000, 5}, {10 * s, 50, 0}}, []OverviewPoint{pt(10*s, 10, 0, 0)}},
		{"bounded: the oldest points go", 3,
			[]gathered{{0, 0, 0}, {10 * s, 10, 0}, {20 * s, 30, 0}, {30 * s, 60, 0}, {40 * s, 100, 0}, {50 * s, 150, 0}},
			[]OverviewPoint{pt(30*s, 10, 3, 0), pt(40*s, 10, 4, 0), pt(50*s, 10, 5, 0)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ring{max: tt.max}
			for _, g := range tt.gathers {
				r.observe(g.series(), tc0.Add(g.at))
			}
			if diff := cmp.Diff(r.list(), tt.want); diff != "" {
				t.Errorf("points (-got, +want):\n%s", diff)
			}
		})
	}
}

// TestRingDefaultBound checks that a ring without max keeps historyLen
// points, the newest.
func TestRingDefaultBound(t *testing.T) {
	var r ring
	for i := range historyLen + 10 {
		r.observe(gathered{records: float64(i)}.series(), tc0.Add(time.Duration(i)*historyStep))
	}
	got := r.list()
	if len(got) != historyLen {
		t.Fatalf("%d points, want %d", len(got), historyLen)
	}
	if last := tc0.Add((historyLen + 9) * historyStep); !got[len(got)-1].Time.Equal(last) || !got[0].Time.Equal(last.Add(-(historyLen-1)*historyStep)) {
		t.Errorf("points from %v to %v, want the last %d up to %v", got[0].Time, got[len(got)-1].Time, historyLen, last)
	}
}

// TestOverviewHistory reads GET /api/v1/overview?history=1 as the
// snapshots are taken, and its parameter's errors.
func TestOverviewHistory(t *testing.T) {
	f := newOverviewFixture(t, Deps{})
	getHistory := func(t *testing.T) overviewHistory {
		t.Helper()
		status, body, _ := sendRequest(t, f.srv, http.MethodGet, "/api/v1/overview?history=1", "tok-analyst", nil)
		if status != http.StatusOK {
			t.Fatalf("status %d %s", status, body)
		}
		var oh overviewHistory
		if err := json.Unmarshal(body, &oh); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), `"history":[`) {
			t.Errorf("no history array in %s", body)
		}
		return oh
	}
	if oh := getHistory(t); len(oh.History) != 0 || oh.HistoryStepS != 10 || !oh.Time.Equal(tc0) {
		t.Errorf("first: %d points, step %v, at %v; want none, 10, %v", len(oh.History), oh.HistoryStepS, oh.Time, tc0)
	}
	for range 5 { // a stream's pace: every 2 s
		f.clock.add(2 * time.Second)
		f.m.records.WithLabelValues("192.0.2.10", "ipfix").Add(30)
		f.get(t, "operator")
	}
	oh := getHistory(t)
	want := []OverviewPoint{{Time: tc0.Add(10 * time.Second), IntervalS: 10, RecordsPerS: 15, FindingsPerMin: map[string]float64{}}}
	if diff := cmp.Diff(oh.History, want); diff != "" {
		t.Errorf("history (-got, +want):\n%s", diff)
	}
	if oh.RecordsTotal != 150 {
		t.Errorf("the snapshot with the history: records_total %v, want 150", oh.RecordsTotal)
	}
	_, body, _ := sendRequest(t, f.srv, http.MethodGet, "/api/v1/overview?history=0", "tok-analyst", nil)
	if strings.Contains(string(body), `"history"`) {
		t.Errorf("history=0 answered a history: %s", body)
	}
	for _, q := range []string{"history=2", "history=1&history=1", "history=yes", "history=1&x=1"} {
		status, body, _ := sendRequest(t, f.srv, http.MethodGet, "/api/v1/overview?"+q, "tok-analyst", nil)
		if status != http.StatusBadRequest || !strings.Contains(string(body), "history") && !strings.Contains(string(body), "x: ") {
			t.Errorf("?%s: %d %s, want 400 naming the parameter", q, status, body)
		}
	}
}

// TestSampleOverview runs the sampler in a bubble of fake time: it
// samples at once and every step, whether or not anybody asks for the
// overview, and stops with its context.
func TestSampleOverview(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m := newPipelineMetrics(reg)
		h := New(Deps{Auth: tokenAuth{}, Gatherer: reg}).(*handler)
		start := time.Now()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- h.SampleOverview(ctx) }()
		synctest.Wait()             // the first sample, the base, is taken
		time.Sleep(historyStep / 2) // the counters move between samples
		for range 3 {
			m.records.WithLabelValues("192.0.2.10", "ipfix").Add(50)
			time.Sleep(historyStep)
		}
		synctest.Wait()
		got := h.overview.history()
		want := []OverviewPoint{
			{Time: start.Add(historyStep).UTC(), IntervalS: 10, RecordsPerS: 5, FindingsPerMin: map[string]float64{}},
			{Time: start.Add(2 * historyStep).UTC(), IntervalS: 10, RecordsPerS: 5, FindingsPerMin: map[string]float64{}},
			{Time: start.Add(3 * historyStep).UTC(), IntervalS: 10, RecordsPerS: 5, FindingsPerMin: map[string]float64{}},
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("history (-got, +want):\n%s", diff)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("SampleOverview returned %v, want context.Canceled", err)
		}
	})
	bare := New(Deps{Auth: tokenAuth{}}).(OverviewSampler)
	if err := bare.SampleOverview(t.Context()); err != nil {
		t.Errorf("without a registry: %v, want nil at once", err)
	}
}

// FuzzOverviewQuery feeds parseOverviewQuery arbitrary queries: it never
// panics, its errors name a parameter, and history is true only for 1 or
// true.
func FuzzOverviewQuery(f *testing.F) {
	for _, s := range []string{"", "history=1", "history=0", "history=true", "history=", "history=2", "history=1&history=0", "x=1", "history=1&x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		history, err := parseOverviewQuery(q)
		if err != nil {
			if history {
				t.Fatalf("error %q with history %v", err, history)
			}
			checkParamError(t, q, err)
			return
		}
		if v := q.Get("history"); history != (v == "1" || v == "true") {
			t.Fatalf("history=%q gave %v", v, history)
		}
	})
}
