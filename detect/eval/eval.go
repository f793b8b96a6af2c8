// Package eval measures the detectors against ground truth: it streams a
// flowgen/scenario scenario through the real screening stage and the
// detection engine, then compares the suspects with the scenario's labels.
// It reports, per role and overall, precision, recall and F1, the time to
// detect (event time from an attacker's first record to its first finding;
// wall time from the batch that crossed the threshold to the finding), and
// the memory per tracked key. acd eval and the detectors' tests use it.
package eval

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen/scenario"
	"github.com/acd-org/acd/minimize"
)

// Options tune a run.
type Options struct {
	Engine    detect.Config // default detect.DefaultConfig()
	BatchSize int           // records per batch (default 1024)
	// Progress, when set, is called now and then with the share of the
	// scenario done (0..1, by event time).
	Progress func(done float64)
}

// roleOf maps a label role to the suspect role it expects; c2-client
// (the infected internal hosts) is evidence of a C2 server, not a suspect
// role of its own, and is not scored.
func roleOf(l string) (detect.Role, bool) {
	switch l {
	case scenario.RoleScanner:
		return detect.RoleScanner, true
	case scenario.RoleBruteforce:
		return detect.RoleBruteforce, true
	case scenario.RoleDDoSSource:
		return detect.RoleDDoSSource, true
	case scenario.RoleDDoSVictim:
		return detect.RoleDDoSVictim, true
	case scenario.RoleReflector:
		return detect.RoleReflector, true
	case scenario.RoleC2:
		return detect.RoleC2, true
	}
	return "", false
}

// Result is the outcome of one scenario.
type Result struct {
	Scenario string                  `json:"scenario"`
	Records  uint64                  `json:"records"` // records the detectors received (after screening)
	Wall     time.Duration           `json:"wall_ns"` // wall time of the run
	Scores   []Score                 `json:"scores"`  // per role, roles with labels or findings only
	Attacks  []AttackScore           `json:"attacks"` // per attack and role: how many labelled addresses were found, how fast
	Stats    map[string]detect.Stats `json:"stats"`   // per detector, before the final flush
	Misses   []Item                  `json:"misses,omitempty"`
	False    []Item                  `json:"false_positives,omitempty"`
	Suspects []detect.Suspect        `json:"-"`
}

// Item is one missed label or one false finding.
type Item struct {
	Address string      `json:"address"`
	Role    detect.Role `json:"role"`
	Attack  int         `json:"attack"` // -1 for false positives
	Kind    string      `json:"kind,omitempty"`
	Score   float64     `json:"score,omitempty"`
}

// Score counts one role's outcome.
type Score struct {
	Role      detect.Role `json:"role"`
	TP        int         `json:"tp"`
	FP        int         `json:"fp"`
	FN        int         `json:"fn"`
	Precision float64     `json:"precision"`
	Recall    float64     `json:"recall"`
	F1        float64     `json:"f1"`
	// Event time from a labelled address's first record in its attack to
	// its first finding in that role (true positives): median and max.
	EventMedian time.Duration `json:"event_latency_median_ns"`
	EventMax    time.Duration `json:"event_latency_max_ns"`
	// Wall time from the batch that made the finding to the finding.
	WallMax time.Duration `json:"wall_latency_max_ns"`
	events  []time.Duration
}

// AttackScore is one attack's outcome for one role.
type AttackScore struct {
	Attack      int           `json:"attack"` // index into the scenario's attacks (0 for a capture)
	Kind        string        `json:"kind"`   // attack kind, or the capture's name
	Role        detect.Role   `json:"role"`
	Labels      int           `json:"labels"` // labelled addresses
	Found       int           `json:"found"`
	EventMedian time.Duration `json:"event_latency_median_ns"`
	EventMax    time.Duration `json:"event_latency_max_ns"`
	events      []time.Duration
}

type key struct {
	k    detect.Key
	role detect.Role
}

type firstFinding struct {
	event int64
	wall  time.Duration
}

// Run streams scenario cfg through screening and the detectors made by
// build (a fresh set per run) and scores the suspects.
func Run(ctx context.Context, cfg scenario.Config, build func() ([]detect.Detector, error), opt Options) (*Result, error) {
	gen, err := scenario.New(cfg)
	if err != nil {
		return nil, err
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = flow.DefaultBatchSize
	}
	src := func(ctx context.Context, sink flow.Sink) error {
		pool := flow.NewBatchPool(opt.BatchSize)
		begin, span := gen.Config().Start.UnixMilli(), float64(gen.Config().Duration.Milliseconds())
		for n := 0; ; n++ {
			if n%64 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			b := pool.Get()
			b.Records = b.Records[:cap(b.Records)]
			k := gen.Next(b.Records, time.Time{})
			b.Records = b.Records[:k]
			if k == 0 {
				b.Release()
				return nil
			}
			at := b.Records[k-1].Start
			sink.Consume(b)
			if opt.Progress != nil && n%256 == 0 {
				opt.Progress(float64(at-begin) / span)
			}
		}
	}
	return run(ctx, cfg.Name, src, gen.Labels(), scenario.InternalPrefixes(), build, opt)
}

// source feeds unscreened batches to sink.
type source func(ctx context.Context, sink flow.Sink) error

// run is the pipeline shared by scenarios and labelled captures:
// source → screening (domestic space; an ephemeral key) → engine, then
// scoring against labels.
func run(ctx context.Context, name string, src source, labels []scenario.Label, domestic []netip.Prefix, build func() ([]detect.Detector, error), opt Options) (*Result, error) {
	if opt.Engine.MaxSuspects == 0 {
		opt.Engine = detect.DefaultConfig()
	}
	dets, err := build()
	if err != nil {
		return nil, err
	}
	first := map[key]firstFinding{}
	bw := &batchWall{}
	eng, err := detect.New(opt.Engine, dets, detect.Deps{OnFinding: func(f *detect.Finding, event int64, wall time.Time) {
		k := key{detect.Key{Addr: f.Addr, Bits: f.Bits, Pseudo: f.Pseudo}, f.Role}
		if f.Pseudo {
			k.k.KeyEpoch = f.KeyEpoch
		}
		if _, ok := first[k]; !ok {
			first[k] = firstFinding{event: event, wall: wall.Sub(bw.t)}
		}
	}})
	if err != nil {
		return nil, err
	}
	sw := &switchSink{next: eng}
	scfg := minimize.DefaultConfig()
	for _, p := range domestic {
		scfg.Domestic.Add = append(scfg.Domestic.Add, p.String())
	}
	screen, err := minimize.New(scfg, minimize.Deps{Next: sw, EphemeralKey: true})
	if err != nil {
		return nil, err
	}
	if err := screen.Start(ctx); err != nil {
		return nil, err
	}
	defer screen.Stop()
	pseudo := pseudonyms(screen, sw, labels, domestic)

	start := time.Now()
	bw.next = screen
	if err := src(ctx, bw); err != nil {
		return nil, err
	}
	stats := eng.Stats()
	eng.Flush()
	res := &Result{Scenario: name, Records: eng.Records(), Wall: time.Since(start), Stats: stats}
	res.Suspects, _ = eng.Book().Query(detect.Filter{})
	res.score(labels, pseudo, first, domestic)
	return res, nil
}

// batchWall notes the wall time each batch enters the pipeline.
type batchWall struct {
	t    time.Time
	next flow.Sink
}

func (b *batchWall) Consume(batch *flow.Batch) {
	b.t = time.Now()
	b.next.Consume(batch)
}

// switchSink sends batches to next, or captures them while capturing.
type switchSink struct {
	next      flow.Sink
	capturing bool
	captured  []flow.Record
}

func (s *switchSink) Consume(b *flow.Batch) {
	if s.capturing {
		s.captured = append(s.captured, b.Records...)
		b.Release()
		return
	}
	s.next.Consume(b)
}

// pseudonyms maps each internal labelled address to its pseudonym (and
// key epoch) by screening one synthetic record per label through the
// run's own screening stage: detectors only ever see the pseudonyms.
func pseudonyms(screen *minimize.Screen, sw *switchSink, labels []scenario.Label, domestic []netip.Prefix) map[int]detect.Key {
	out := map[int]detect.Key{}
	// A documentation address (RFC 5737, RFC 3849) as the other end:
	// outside any sensible domestic space.
	ext4, ext6 := flow.AddrFromNetip(netip.MustParseAddr("192.0.2.1")), flow.AddrFromNetip(netip.MustParseAddr("2001:db8:ffff::1"))
	sw.capturing = true
	defer func() { sw.capturing = false }()
	for i, l := range labels {
		if !internal(l.Addr, domestic) {
			continue
		}
		sw.captured = sw.captured[:0]
		r := flow.Record{Start: l.First.UnixMilli(), End: l.First.UnixMilli(), SrcAddr: ext4, DstAddr: l.Addr, Proto: 6, Packets: 1, Bytes: 40}
		if !l.Addr.Is4() {
			r.SrcAddr = ext6
		}
		screen.Consume(&flow.Batch{Records: []flow.Record{r}})
		if len(sw.captured) == 1 && sw.captured[0].Pseudo&flow.PseudoDst != 0 {
			c := sw.captured[0]
			out[i] = detect.Key{Addr: c.DstAddr, Pseudo: true, KeyEpoch: c.KeyEpoch}
		}
	}
	return out
}

func internal(a flow.Addr, domestic []netip.Prefix) bool {
	ip := a.Netip()
	for _, p := range domestic {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (r *Result) score(labels []scenario.Label, pseudo map[int]detect.Key, first map[key]firstFinding, domestic []netip.Prefix) {
	want := map[key]scenario.Label{}
	for i, l := range labels {
		role, ok := roleOf(l.Role)
		if !ok {
			continue
		}
		k := detect.Key{Addr: l.Addr}
		if pk, ok := pseudo[i]; ok {
			k = pk
		} else if internal(l.Addr, domestic) {
			continue // could not be mapped; cannot be scored
		}
		kk := key{k, role}
		if old, dup := want[kk]; dup && old.First.Before(l.First) {
			continue
		}
		want[kk] = l
	}
	scores := map[detect.Role]*Score{}
	get := func(role detect.Role) *Score {
		s := scores[role]
		if s == nil {
			s = &Score{Role: role}
			scores[role] = s
		}
		return s
	}
	got := map[key]float64{}
	for _, s := range r.Suspects {
		for _, e := range s.Evidence {
			kk := key{s.Key, e.Role}
			got[kk] = max(got[kk], e.Score)
		}
	}
	type akey struct {
		attack int
		role   detect.Role
	}
	attacks := map[akey]*AttackScore{}
	for kk, l := range want {
		ak := akey{l.Attack, kk.role}
		a := attacks[ak]
		if a == nil {
			a = &AttackScore{Attack: l.Attack, Kind: l.Kind, Role: kk.role}
			attacks[ak] = a
		}
		a.Labels++
		if _, ok := got[kk]; !ok {
			continue
		}
		a.Found++
		if ff, ok := first[kk]; ok {
			a.events = append(a.events, max(time.Duration(ff.event-l.First.UnixMilli())*time.Millisecond, 0))
		}
	}
	for _, a := range attacks {
		if len(a.events) > 0 {
			slices.Sort(a.events)
			a.EventMedian, a.EventMax = a.events[len(a.events)/2], a.events[len(a.events)-1]
		}
		r.Attacks = append(r.Attacks, *a)
	}
	slices.SortFunc(r.Attacks, func(a, b AttackScore) int {
		if a.Attack != b.Attack {
			return a.Attack - b.Attack
		}
		return strings.Compare(string(a.Role), string(b.Role))
	})
	for kk, score := range got {
		s := get(kk.role)
		l, ok := want[kk]
		if !ok {
			s.FP++
			r.False = append(r.False, Item{Address: kk.k.String(), Role: kk.role, Attack: -1, Score: score})
			continue
		}
		s.TP++
		if ff, ok := first[kk]; ok {
			lat := time.Duration(ff.event-l.First.UnixMilli()) * time.Millisecond
			s.events = append(s.events, max(lat, 0))
			s.WallMax = max(s.WallMax, ff.wall)
		}
	}
	for kk, l := range want {
		if _, ok := got[kk]; !ok {
			get(kk.role).FN++
			r.Misses = append(r.Misses, Item{Address: kk.k.String(), Role: kk.role, Attack: l.Attack, Kind: l.Kind})
		}
	}
	for _, role := range detect.Roles() {
		if s, ok := scores[role]; ok {
			s.finish()
			r.Scores = append(r.Scores, *s)
		}
	}
	sortItems(r.Misses)
	sortItems(r.False)
}

func sortItems(items []Item) {
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if a.Role != b.Role {
			return a.Role < b.Role
		}
		if a.Attack != b.Attack {
			return a.Attack < b.Attack
		}
		return a.Address < b.Address
	})
}

func (s *Score) finish() {
	s.Precision, s.Recall, s.F1 = prf(s.TP, s.FP, s.FN)
	if len(s.events) > 0 {
		slices.Sort(s.events)
		s.EventMedian = s.events[len(s.events)/2]
		s.EventMax = s.events[len(s.events)-1]
	}
}

// prf returns precision, recall and F1; an empty denominator counts as
// perfect (no findings: precision 1; nothing to find: recall 1).
func prf(tp, fp, fn int) (p, r, f float64) {
	p, r = 1, 1
	if tp+fp > 0 {
		p = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r = float64(tp) / float64(tp+fn)
	}
	if p+r > 0 {
		f = 2 * p * r / (p + r)
	}
	return round(p), round(r), round(f)
}

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// Total sums scores over roles (and over results), recomputing the ratios.
func Total(scores ...Score) Score {
	t := Score{Role: "all"}
	for _, s := range scores {
		t.TP += s.TP
		t.FP += s.FP
		t.FN += s.FN
		t.EventMax = max(t.EventMax, s.EventMax)
		t.WallMax = max(t.WallMax, s.WallMax)
		t.events = append(t.events, s.events...)
	}
	t.finish()
	return t
}

// String summarizes a score on one line.
func (s Score) String() string {
	return fmt.Sprintf("%-12s tp %5d fp %4d fn %4d  precision %.4f recall %.4f f1 %.4f  latency median %v max %v",
		s.Role, s.TP, s.FP, s.FN, s.Precision, s.Recall, s.F1, s.EventMedian, s.EventMax)
}
