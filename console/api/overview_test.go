package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/casestest"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/enforce"
)

// pipelineMetrics are the metrics the overview reads, registered under
// the names and labels collect, minimize, detect and verify use.
type pipelineMetrics struct {
	records, packets, errors *prometheus.CounterVec
	sockDrops, qDrops        *prometheus.CounterVec
	screenIn, screenDropped  *prometheus.CounterVec
	findings, verdicts       *prometheus.CounterVec
}

func newPipelineMetrics(reg prometheus.Registerer) *pipelineMetrics {
	cv := func(name string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: name}, labels)
		reg.MustRegister(c)
		return c
	}
	return &pipelineMetrics{
		records: cv(mRecords, "exporter", "format"), packets: cv(mPackets, "exporter", "format"),
		errors: cv(mDecodeErrs, "exporter", "format", "reason"), sockDrops: cv(mSockDrops, "listener"),
		qDrops: cv(mQueueDrops, "listener"), screenIn: cv(mScreenIn, "class"), screenDropped: cv(mScreenDrops, "class"),
		findings: cv(mFindings, "detector"), verdicts: cv(mVerdicts, "verdict"),
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// overviewFixture is the API with a registry, a clock, a book, cases and
// actions in effect.
type overviewFixture struct {
	srv   *httptest.Server
	m     *pipelineMetrics
	clock *fakeClock
	h     http.Handler
}

func newOverviewFixture(t *testing.T, deps Deps) *overviewFixture {
	t.Helper()
	reg := prometheus.NewRegistry()
	f := &overviewFixture{m: newPipelineMetrics(reg), clock: &fakeClock{t: tc0}}
	book := detect.NewBook(100, nil)
	k, _ := detect.ParseKey("198.51.100.7")
	book.Add(detect.Finding{Addr: k.Addr, Bits: k.Bits, Role: detect.RoleC2,
		Evidence: detect.Evidence{Detector: "beacon", Score: 0.9, Reason: "test", First: tc0, Last: tc0}})
	svc := casestest.New()
	svc.Put(caseIn(t, "c-1", cases.StateRequested, false))
	svc.Put(caseIn(t, "c-2", cases.StateActive, false))
	svc.Put(caseIn(t, "c-3", cases.StateActive, false))
	deps.Auth, deps.Gatherer, deps.Now, deps.Book, deps.Cases = tokenAuth{}, reg, f.clock.now, book, svc
	if deps.InEffect == nil {
		deps.InEffect = func(context.Context) ([]enforce.Item, error) {
			return []enforce.Item{{Case: cases.Case{ID: "c-2"}}, {Case: cases.Case{ID: "c-3"}}}, nil
		}
	}
	f.h = New(deps)
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *overviewFixture) get(t *testing.T, role string) Overview {
	t.Helper()
	status, body, _ := sendRequest(t, f.srv, http.MethodGet, "/api/v1/overview", "tok-"+role, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/overview as %s: %d %s", role, status, body)
	}
	var ov Overview
	if err := json.Unmarshal(body, &ov); err != nil {
		t.Fatal(err)
	}
	return ov
}

// TestOverviewRates takes snapshots as the counters move and checks the
// totals, the rates over the interval and the state parts.
func TestOverviewRates(t *testing.T) {
	f := newOverviewFixture(t, Deps{})
	m := f.m
	m.records.WithLabelValues("192.0.2.10", "ipfix").Add(1000)
	m.packets.WithLabelValues("192.0.2.10", "ipfix").Add(10)
	m.screenIn.WithLabelValues("inbound").Add(800)
	m.screenIn.WithLabelValues("domestic").Add(200)
	m.screenDropped.WithLabelValues("domestic").Add(200)
	m.verdicts.WithLabelValues("effective").Add(2)
	m.findings.WithLabelValues("scan").Add(5)

	first := f.get(t, "analyst")
	want := Overview{Time: tc0, IntervalS: 0,
		Ingest:       []IngestRow{{Exporter: "192.0.2.10", Format: "ipfix", RecordsTotal: 1000, PacketsTotal: 10}},
		RecordsTotal: 1000, ErrorsByKind: map[string]float64{}, Screened: map[string]float64{"inbound": 0, "domestic": 0},
		ScreenedOutShare: 0.2, FindingsPerMin: map[string]float64{"scan": 0}, Suspects: 1, ActionsActive: 2,
		CasesByState: map[string]int{"requested": 1, "active": 2}, Verdicts: map[string]float64{"effective": 2}}
	if diff := cmp.Diff(first, want); diff != "" {
		t.Errorf("first snapshot (-got, +want):\n%s", diff)
	}

	// Within minSnapshotAge the same snapshot is answered.
	m.records.WithLabelValues("192.0.2.10", "ipfix").Add(1)
	f.clock.add(minSnapshotAge / 2)
	if again := f.get(t, "operator"); again.RecordsTotal != 1000 || !again.Time.Equal(tc0) {
		t.Errorf("a second GET within %v: records_total %v at %v, want the same snapshot", minSnapshotAge, again.RecordsTotal, again.Time)
	}

	f.clock.add(2*time.Second - minSnapshotAge/2)
	m.records.WithLabelValues("192.0.2.10", "ipfix").Add(199) // 200 in 2 s
	m.records.WithLabelValues("192.0.2.11", "netflow-v9").Add(40)
	m.packets.WithLabelValues("192.0.2.10", "ipfix").Add(4)
	m.errors.WithLabelValues("192.0.2.10", "ipfix", "short").Add(6)
	m.sockDrops.WithLabelValues("0.0.0.0:2055").Add(2)
	m.qDrops.WithLabelValues("0.0.0.0:2055").Add(2)
	m.screenIn.WithLabelValues("inbound").Add(150)
	m.screenIn.WithLabelValues("domestic").Add(50)
	m.screenDropped.WithLabelValues("domestic").Add(50)
	m.findings.WithLabelValues("scan").Add(1)
	second := f.get(t, "auditor")
	want = Overview{Time: tc0.Add(2 * time.Second), IntervalS: 2,
		Ingest: []IngestRow{
			{Exporter: "192.0.2.10", Format: "ipfix", RecordsPerS: 100, PacketsPerS: 2, RecordsTotal: 1200, PacketsTotal: 14},
			{Exporter: "192.0.2.11", Format: "netflow-v9", RecordsPerS: 20, RecordsTotal: 40},
		},
		RecordsPerS: 120, RecordsTotal: 1240, DropsPerS: 2, DropsTotal: 4, DecodeErrorsPerS: 3, DecodeErrorsTotal: 6,
		ErrorsByKind: map[string]float64{"short": 3}, Screened: map[string]float64{"inbound": 75, "domestic": 25},
		ScreenedOutShare: 0.25, FindingsPerMin: map[string]float64{"scan": 30}, Suspects: 1, ActionsActive: 2,
		CasesByState: map[string]int{"requested": 1, "active": 2}, Verdicts: map[string]float64{"effective": 2}}
	if diff := cmp.Diff(second, want); diff != "" {
		t.Errorf("second snapshot (-got, +want):\n%s", diff)
	}

	// Nothing moved: rates 0, the share falls back to the totals.
	f.clock.add(5 * time.Second)
	third := f.get(t, "admin")
	if third.RecordsPerS != 0 || third.IntervalS != 5 || third.ScreenedOutShare != 250.0/1200 {
		t.Errorf("idle snapshot: records_per_s %v interval_s %v share %v", third.RecordsPerS, third.IntervalS, third.ScreenedOutShare)
	}
}

// TestOverviewAccess checks the roles, parameters and missing parts.
func TestOverviewAccess(t *testing.T) {
	f := newOverviewFixture(t, Deps{InEffect: func(context.Context) ([]enforce.Item, error) {
		return nil, errors.New("store closed")
	}})
	bare := httptest.NewServer(New(Deps{Auth: tokenAuth{}}))
	t.Cleanup(bare.Close)
	for _, tt := range []struct {
		name       string
		srv        *httptest.Server
		path, role string
		want       int
	}{
		{"analyst", f.srv, "/api/v1/overview", "analyst", http.StatusOK},
		{"commissioner", f.srv, "/api/v1/overview", "commissioner", http.StatusOK},
		{"partner", f.srv, "/api/v1/overview", "partner", http.StatusForbidden},
		{"reporting operator", f.srv, "/api/v1/overview", "reporting-operator", http.StatusForbidden},
		{"stream partner", f.srv, "/api/v1/overview/stream", "partner", http.StatusForbidden},
		{"no credentials", f.srv, "/api/v1/overview", "", http.StatusUnauthorized},
		{"parameter", f.srv, "/api/v1/overview?x=1", "analyst", http.StatusBadRequest},
		{"stream parameter", f.srv, "/api/v1/overview/stream?x=1", "analyst", http.StatusBadRequest},
		{"no registry", bare, "/api/v1/overview", "analyst", http.StatusServiceUnavailable},
		{"stream without registry", bare, "/api/v1/overview/stream", "analyst", http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := ""
			if tt.role != "" {
				tok = "tok-" + tt.role
			}
			status, body, _ := sendRequest(t, tt.srv, http.MethodGet, tt.path, tok, nil)
			if status != tt.want {
				t.Errorf("status %d, want %d (%s)", status, tt.want, body)
			}
		})
	}
	// A failing part leaves the rest: no actions counted.
	if ov := f.get(t, "analyst"); ov.ActionsActive != 0 || ov.Suspects != 1 {
		t.Errorf("with InEffect failing: actions_active %d suspects %d", ov.ActionsActive, ov.Suspects)
	}
}

// openStream opens the overview stream as role; the caller closes the
// body.
func openStream(t *testing.T, srv *httptest.Server, role string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/overview/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tok-"+role)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// sseEvent reads the next event (skipping comments and retry) from r.
func sseEvent(t *testing.T, r *bufio.Reader) (name, data string) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && name != "":
			return name, data
		}
	}
}

// TestOverviewStream reads events from the stream, checks its headers,
// the limit on streams, and that CloseStreams ends it.
func TestOverviewStream(t *testing.T) {
	f := newOverviewFixture(t, Deps{OverviewEvery: 10 * time.Millisecond, MaxStreams: 1})
	f.m.records.WithLabelValues("192.0.2.10", "ipfix").Add(7)
	resp := openStream(t, f.srv, "operator")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for h, want := range map[string]string{"Content-Type": "text/event-stream", "X-Accel-Buffering": "no", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	r := bufio.NewReader(resp.Body)
	for i := range 3 { // the first at once, then by the ticker
		f.clock.add(time.Second)
		name, data := sseEvent(t, r)
		var ov Overview
		if name != "overview" || json.Unmarshal([]byte(data), &ov) != nil || ov.RecordsTotal != 7 {
			t.Fatalf("event %d: %q %q", i, name, data)
		}
	}
	// The one stream allowed is open: another is refused.
	if status, body, _ := sendRequest(t, f.srv, http.MethodGet, "/api/v1/overview/stream", "tok-analyst", nil); status != http.StatusServiceUnavailable {
		t.Errorf("second stream: %d %s, want 503", status, body)
	}
	f.h.(StreamCloser).CloseStreams()
	if _, err := r.ReadString(0); err == nil {
		t.Error("the stream did not end after CloseStreams")
	}
	if status, _, _ := sendRequest(t, f.srv, http.MethodGet, "/api/v1/overview/stream", "tok-analyst", nil); status != http.StatusServiceUnavailable {
		t.Errorf("stream after CloseStreams: %d, want 503", status)
	}
}

// TestOverviewStreamClientGoes checks that a stream whose client goes
// frees its slot.
func TestOverviewStreamClientGoes(t *testing.T) {
	f := newOverviewFixture(t, Deps{OverviewEvery: 10 * time.Millisecond, MaxStreams: 1})
	resp := openStream(t, f.srv, "admin")
	if _, data := sseEvent(t, bufio.NewReader(resp.Body)); data == "" {
		t.Fatal("no first event")
	}
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		next := openStream(t, f.srv, "admin")
		status := next.StatusCode
		next.Body.Close()
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot was not freed after the client left: %d", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
