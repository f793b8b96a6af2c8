package detect

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/acd-org/acd/flow"
)

// probe is a detector that records what the engine tells it and emits a
// finding for every record whose source port is 666.
type probe struct {
	name     string
	observed int
	wms      []int64 // watermarks passed to Observe
	advances []int64
	flushed  int
}

func (p *probe) Name() string { return p.name }
func (p *probe) Observe(recs []flow.Record, wm int64, emit Emit) {
	p.observed += len(recs)
	p.wms = append(p.wms, wm)
	for i := range recs {
		if recs[i].SrcPort == 666 {
			emit(Finding{Addr: recs[i].SrcAddr, Role: RoleScanner, Evidence: Evidence{Score: 0.5, First: Millis(recs[i].Start), Last: Millis(recs[i].End)}})
		}
	}
}
func (p *probe) Advance(wm int64, _ Emit) { p.advances = append(p.advances, wm) }
func (p *probe) Flush(Emit)               { p.flushed++ }
func (p *probe) Stats() Stats             { return Stats{Keys: 1, MaxKeys: 10} }

func rec(src string, sport uint16, start, end int64) flow.Record {
	return flow.Record{SrcAddr: addr(src), DstAddr: addr("198.51.100.1"), SrcPort: sport, Start: start, End: end}
}

func TestEngineWatermark(t *testing.T) {
	p := &probe{name: "probe"}
	cfg := DefaultConfig()
	cfg.Lateness = 10 * time.Second
	e, err := New(cfg, []Detector{p}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	base := t0.UnixMilli()
	// The stream's position is the latest start (a long flow's end is
	// ahead of it).
	e.Observe([]flow.Record{rec("192.0.2.1", 1, base, base+400_000), rec("192.0.2.2", 1, base+20_000, base+20_000)})
	if got := e.Watermark(); got != base+10_000 {
		t.Fatalf("watermark %d, want latest start - lateness = %d", got, base+10_000)
	}
	// An older batch does not move it back.
	e.Observe([]flow.Record{rec("192.0.2.3", 1, base, base+1000)})
	e.Observe([]flow.Record{rec("192.0.2.3", 1, base+40_000, base+41_000)})
	if got := e.Watermark(); got != base+30_000 {
		t.Fatalf("watermark %d, want %d", got, base+30_000)
	}
	if len(p.advances) != 2 || p.advances[0] != base+10_000 || p.advances[1] != base+30_000 {
		t.Errorf("advances %v", p.advances)
	}
	if p.wms[0] != math.MinInt64 || p.wms[2] != base+10_000 {
		t.Errorf("Observe watermarks %v", p.wms)
	}
	e.Flush()
	if p.flushed != 1 || p.observed != 4 || e.Records() != 4 {
		t.Errorf("flushed %d observed %d records %d", p.flushed, p.observed, e.Records())
	}
}

func TestEngineAllowList(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Allow = []AllowRule{{Prefix: "192.0.2.0/28", Detectors: []string{"probe"}}, {Prefix: "2001:db8::1"}}
	reg := prometheus.NewRegistry()
	e, err := New(cfg, []Detector{&probe{name: "probe"}, &probe{name: "other"}}, Deps{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	e.Observe([]flow.Record{rec("192.0.2.1", 666, 0, 0), rec("192.0.2.200", 666, 0, 0), rec("2001:db8::1", 666, 0, 0)})
	var got []string
	ss, _ := e.Book().Query(Filter{})
	for _, s := range ss {
		got = append(got, s.Key.String()+"/"+s.Evidence[0].Detector)
	}
	// 192.0.2.1 is allowed for "probe" only; 2001:db8::1 for every detector.
	want := "192.0.2.1/other 192.0.2.200/other 192.0.2.200/probe"
	if len(ss) != 2 || len(ss[0].Evidence)+len(ss[1].Evidence) != 3 {
		t.Errorf("suspects %v (evidence per suspect), want %s", got, want)
	}
	if n := testutil.ToFloat64(e.m.suppressed.WithLabelValues("probe")); n != 2 {
		t.Errorf("suppressed{probe} = %v, want 2", n)
	}
	if n := testutil.ToFloat64(e.m.findings.WithLabelValues("probe")); n != 1 {
		t.Errorf("findings{probe} = %v, want 1", n)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP acd_detect_suspects Suspects held.
# TYPE acd_detect_suspects gauge
acd_detect_suspects 2
`), "acd_detect_suspects"); err != nil {
		t.Error(err)
	}
}

func TestEngineLive(t *testing.T) {
	now := t0
	p := &probe{name: "probe"}
	cfg := DefaultConfig()
	cfg.Lateness = 0
	e, err := New(cfg, []Detector{p}, Deps{Live: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	base := t0.UnixMilli()
	// A record from an exporter whose clock is a day ahead is used but
	// does not move event time.
	e.Observe([]flow.Record{rec("192.0.2.1", 1, base, base), rec("192.0.2.1", 1, base+86_400_000, base+86_400_000)})
	if got := e.Watermark(); got != base {
		t.Fatalf("watermark %d, want %d (future record ignored)", got, base)
	}
	if n := testutil.ToFloat64(e.m.future); n != 1 {
		t.Errorf("future records %v, want 1", n)
	}
	now = now.Add(5 * time.Second)
	e.Tick(now)
	if got := e.Watermark(); got != base {
		t.Errorf("watermark moved after 5 s idle (idle_advance 10 s): %d", got)
	}
	now = now.Add(10 * time.Second)
	e.Tick(now)
	if got := e.Watermark(); got != base+15_000 {
		t.Errorf("watermark %d after 15 s idle, want %d", got, base+15_000)
	}
}

func TestEngineConfigErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Lateness = -time.Second
	cfg.MaxSuspects = 0
	cfg.Allow = []AllowRule{{Prefix: "not-a-prefix"}, {Prefix: "192.0.2.0/24", Detectors: []string{"nope"}}}
	_, err := New(cfg, []Detector{&probe{name: "probe"}}, Deps{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"detect.lateness", "detect.max_suspects", "detect.allow[0].prefix", `detect.allow[1].detectors: unknown detector "nope"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := New(DefaultConfig(), []Detector{&probe{name: "x"}, &probe{name: "x"}}, Deps{}); err == nil {
		t.Error("two detectors with one name accepted")
	}
}
