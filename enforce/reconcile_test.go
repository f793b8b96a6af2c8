package enforce

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// memSyncer is equipment in memory: the entries it holds, by item key.
type memSyncer struct {
	name string
	err  error

	mu    sync.Mutex
	held  map[string]string // item key → target
	syncs int
}

func newMemSyncer(name string) *memSyncer { return &memSyncer{name: name, held: map[string]string{}} }

func (m *memSyncer) Name() string { return m.name }
func (m *memSyncer) Apply(_ context.Context, c cases.Case, a cases.Action) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range c.Actions {
		if c.Actions[i].Target == a.Target {
			m.held[ItemKey(c.ID, i)] = a.Target.String()
		}
	}
	return nil
}
func (m *memSyncer) Withdraw(_ context.Context, c cases.Case, a cases.Action) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range c.Actions {
		if c.Actions[i].Target == a.Target {
			delete(m.held, ItemKey(c.ID, i))
		}
	}
	return nil
}
func (m *memSyncer) Sync(_ context.Context, desired []Item) (Drift, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncs++
	if m.err != nil {
		return Drift{}, m.err
	}
	var d Drift
	want := map[string]string{}
	for _, it := range desired {
		want[it.Key()] = it.Action.Target.String()
	}
	for k, v := range want {
		switch got, ok := m.held[k]; {
		case !ok:
			d.Missing++
			d.Details = append(d.Details, "missing "+k)
		case got != v:
			d.Changed++
		}
		m.held[k] = v
	}
	for k := range m.held {
		if _, ok := want[k]; !ok {
			d.Extra++
			delete(m.held, k)
		}
	}
	return d, nil
}

func items(n int, typ cases.ActionType) []Item {
	out := make([]Item, n)
	for i := range out {
		c := cases.Case{ID: fmt.Sprintf("case-%05d", i)}
		a := cases.Action{Type: typ, Target: cases.MustTarget(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}).String())}
		c.Actions = []cases.Action{a}
		out[i] = Item{Case: c, Index: 0, Action: a}
	}
	return out
}

func TestReconcileRepairsDrift(t *testing.T) {
	fw, bgp, mail := newMemSyncer("fw"), newMemSyncer("bgp"), &Recorder{Label: "mail"}
	desired := append(items(3, cases.ActionBlock), items(2, cases.ActionRTBH)...)
	for i := range desired[3:] {
		desired[3+i].Case.ID = fmt.Sprintf("rtbh-%d", i)
	}
	desired = append(desired, items(1, cases.ActionAbuseReport)...)
	var retracted []string
	rails := DefaultRails()
	reg := prometheus.NewRegistry()
	r := &Reconciler{
		Desired:  func(context.Context) ([]Item, error) { return desired, nil },
		Adapters: map[ActionType]Adapter{cases.ActionBlock: fw, cases.ActionRTBH: bgp, cases.ActionFlowSpec: bgp, cases.ActionAbuseReport: mail},
		Rails:    &rails,
		Retract: func(_ context.Context, it Item, why string) error {
			retracted = append(retracted, it.Key()+": "+why)
			return nil
		},
		Registerer: reg,
	}
	ctx := context.Background()
	// First run after a restart: everything is missing, an old entry is extra.
	fw.held["gone/0"] = "203.0.113.1"
	rep := r.Run(ctx)
	if rep.Err != nil {
		t.Fatal(rep.Err)
	}
	got := map[string]Drift{}
	for _, a := range rep.Adapters {
		got[a.Adapter] = a.Drift
	}
	if d := got["fw"]; d.Desired != 3 || d.Missing != 3 || d.Extra != 1 {
		t.Errorf("fw drift = %+v", d)
	}
	if d := got["bgp"]; d.Desired != 2 || d.Missing != 2 {
		t.Errorf("bgp drift = %+v (one adapter for two types must be synced once with both)", d)
	}
	if bgp.syncs != 1 || len(mail.Calls()) != 0 {
		t.Errorf("bgp synced %d times, one-shot adapter called %v", bgp.syncs, mail.Calls())
	}
	// Steady state: no drift.
	for _, a := range r.Run(ctx).Adapters {
		if a.Drift.Total() != 0 {
			t.Errorf("second run: %s drift %+v", a.Adapter, a.Drift)
		}
	}
	// A rule removed by hand comes back and is counted.
	delete(fw.held, "case-00001/0")
	if d := r.Run(ctx).Adapters; d[1].Adapter != "fw" || d[1].Drift.Missing != 1 {
		t.Errorf("after a removal by hand: %+v", d)
	}
	if v := testutil.ToFloat64(r.metrics.drift.WithLabelValues("fw", "missing")); v != 4 {
		t.Errorf("drift metric = %v, want 4", v)
	}
	// An allow-list grows over an active block: it is retracted and no
	// longer desired.
	rails.Dynamic = func() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("198.18.0.2/32")} }
	rep = r.Run(ctx)
	if len(rep.Retracted) != 1 || rep.Retracted[0] != "case-00002/0" || len(retracted) != 1 || !strings.Contains(retracted[0], "never-act") {
		t.Fatalf("retracted = %v / %v", rep.Retracted, retracted)
	}
	if _, ok := fw.held["case-00002/0"]; ok {
		t.Error("the retracted block is still held")
	}
	st, last := r.Status()
	if last.IsZero() || len(st) != 3 || st[0].Adapter != "bgp" || len(st[0].Types) != 2 || st[2].Syncs != false || st[1].Repaired != 6 {
		t.Errorf("status = %+v", st)
	}
}

func TestReconcileErrorsAndDryRun(t *testing.T) {
	bad, good := newMemSyncer("bad"), newMemSyncer("good")
	bad.err = errors.New("router unreachable")
	rails := DefaultRails()
	r := &Reconciler{
		Desired:  func(context.Context) ([]Item, error) { return items(2, cases.ActionBlock), nil },
		Adapters: map[ActionType]Adapter{cases.ActionBlock: good, cases.ActionRTBH: bad},
		Rails:    &rails,
	}
	rep := r.Run(context.Background())
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), "router unreachable") || len(good.held) != 2 {
		t.Fatalf("a failing adapter must not stop the others: %v, good holds %d", rep.Err, len(good.held))
	}
	st, _ := r.Status()
	if st[0].LastErr == "" || !st[0].LastOK.IsZero() || st[1].LastOK.IsZero() {
		t.Errorf("status = %+v", st)
	}
	rails.DryRun = true
	good.held = map[string]string{}
	if rep := r.Run(context.Background()); rep.Err != nil || len(good.held) != 0 || rep.Desired != 2 {
		t.Errorf("dry run touched the equipment: %v, %d held", rep.Err, len(good.held))
	}
	r2 := &Reconciler{Desired: func(context.Context) ([]Item, error) { return nil, errors.New("store closed") }}
	if rep := r2.Run(context.Background()); rep.Err == nil {
		t.Error("a desired-state error is not reported")
	}
}

func TestReconcilerStartStop(t *testing.T) {
	runs := make(chan Report, 10)
	fw := newMemSyncer("fw")
	r := &Reconciler{
		Desired:  func(context.Context) ([]Item, error) { return items(1, cases.ActionBlock), nil },
		Adapters: map[ActionType]Adapter{cases.ActionBlock: fw},
		Every:    time.Hour,
		OnRun:    func(rep Report) { runs <- rep },
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-runs // at start
	r.Kick()
	select {
	case <-runs:
	case <-time.After(20 * time.Second):
		t.Fatal("Kick did not run the reconciler")
	}
	r.Stop()
}

// BenchmarkReconcile10k reconciles 10,000 actions in effect with an
// in-memory syncer: the reconciler's own cost per run (rails for every
// item, grouping, sorting) when nothing drifted.
func BenchmarkReconcile10k(b *testing.B) {
	desired := items(10000, cases.ActionBlock)
	fw := newMemSyncer("fw")
	rails := DefaultRails()
	r := &Reconciler{
		Desired:  func(context.Context) ([]Item, error) { return desired, nil },
		Adapters: map[ActionType]Adapter{cases.ActionBlock: fw},
		Rails:    &rails,
	}
	r.Run(context.Background())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep := r.Run(context.Background())
		if rep.Adapters[0].Drift.Total() != 0 {
			b.Fatalf("drift %+v", rep.Adapters[0].Drift)
		}
	}
}

func TestFanout(t *testing.T) {
	a, b := newMemSyncer("a"), newMemSyncer("b")
	rec := &Recorder{Label: "c", Err: errors.New("down")}
	f := Fanout{a, b}
	if f.Name() != "a+b" {
		t.Errorf("name %q", f.Name())
	}
	its := items(2, cases.ActionBlock)
	ctx := context.Background()
	if err := f.Apply(ctx, its[0].Case, its[0].Action); err != nil || len(a.held) != 1 || len(b.held) != 1 {
		t.Fatalf("apply: %v %v %v", err, a.held, b.held)
	}
	// A failing member: the others are undone.
	g := Fanout{a, rec}
	if err := g.Apply(ctx, its[1].Case, its[1].Action); err == nil || len(a.held) != 1 {
		t.Fatalf("partial apply: %v, a holds %v", err, a.held)
	}
	delete(b.held, its[0].Key())
	d, err := f.Sync(ctx, its)
	if err != nil || d.Desired != 2 || d.Missing != 3 || !strings.HasPrefix(d.Details[0], "a: ") && !strings.HasPrefix(d.Details[0], "b: ") {
		t.Fatalf("sync: %+v %v", d, err)
	}
	if err := f.Withdraw(ctx, its[0].Case, its[0].Action); err != nil || len(a.held) != 1 || len(b.held) != 1 {
		t.Fatalf("withdraw: %v %v %v", err, a.held, b.held)
	}
}
