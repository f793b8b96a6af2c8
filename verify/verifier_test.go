package verify

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/flow"
)

// activeAt is when every scenario's action is executed.
var activeAt = t0.Add(8 * time.Minute)

// end is where every scenario's stream stops.
var end = t0.Add(20 * time.Minute)

// until returns f restricted to [from, to).
func within(from, to time.Time, f func(at time.Time) []flow.Record) func(at time.Time) []flow.Record {
	return func(at time.Time) []flow.Record {
		if at.Before(from) || !at.Before(to) {
			return nil
		}
		return f(at)
	}
}

// n repeats f k times per call.
func n(k int, f func(at time.Time, i int) flow.Record) func(at time.Time) []flow.Record {
	return func(at time.Time) []flow.Record {
		out := make([]flow.Record, k)
		for i := range out {
			out[i] = f(at, i)
		}
		return out
	}
}

func flood(k int, src string, dport uint16) func(at time.Time) []flow.Record {
	return n(k, func(at time.Time, i int) flow.Record {
		return rec(at, src, "172.16.1."+itoa(i%200+1), 17, 1024+uint16(i), dport, 20)
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

// stream merges generators over [t0, end) with background traffic, in
// start order.
func stream(gens ...func(at time.Time) []flow.Record) []flow.Record {
	recs := background(t0, end)
	for _, g := range gens {
		recs = append(recs, every(t0, end, 10*time.Second, g)...)
	}
	slices.SortStableFunc(recs, func(a, b flow.Record) int { return cmp.Compare(a.Start, b.Start) })
	return recs
}

func pseudo(f func(at time.Time) []flow.Record, p flow.Pseudo) func(at time.Time) []flow.Record {
	return func(at time.Time) []flow.Record {
		out := f(at)
		for i := range out {
			out[i].Pseudo |= p
		}
		return out
	}
}

func sampled(rate uint32, f func(at time.Time) []flow.Record) func(at time.Time) []flow.Record {
	return func(at time.Time) []flow.Record {
		out := f(at)
		for i := range out {
			out[i].SamplingRate, out[i].SamplingSource = rate, flow.SamplingExporter
			out[i].Packets, out[i].Bytes = 1, 100
		}
		return out
	}
}

type scenario struct {
	name       string
	it         enforce.Item
	recs       []flow.Record
	noPrewatch bool  // Watch only at activation
	hint       *Rate // given to Watch
	want       Verdict
	baseline   string
	check      func(t *testing.T, r Result)
}

func scenarios() []scenario {
	c2, victim := "192.0.2.66", "10.0.0.5"
	stopAt := activeAt.Add(30 * time.Second)
	return []scenario{{
		name: "beacon to c2 stops after activation",
		it:   item("beacon", cases.ActionBlock, c2, cases.Scope{}),
		recs: stream(within(t0, stopAt, beacon(c2, victim))),
		want: Effective, baseline: BaselineMeasured,
		check: func(t *testing.T, r Result) {
			// Every 10 s, one flow each way: 12 flows, 42 packets a minute.
			want := Rate{Flows: 12, Packets: 42, Bytes: 4200, Peers: 1, Minutes: 5}
			if r.Before != want || r.After != (Rate{Minutes: 5}) {
				t.Errorf("before %+v after %+v, want before %+v and nothing after", r.Before, r.After, want)
			}
		},
	}, {
		name: "flood continues",
		it:   item("flood", cases.ActionBlock, "203.0.113.9", cases.Scope{}),
		recs: stream(flood(50, "203.0.113.9", 80)),
		want: Ineffective, baseline: BaselineMeasured,
		check: func(t *testing.T, r Result) {
			if r.Before.Flows != 300 || r.After.Flows != 300 || r.Before.Peers < 45 || r.Before.Peers > 55 {
				t.Errorf("before %+v after %+v, want 300 flows/min both and about 50 peers", r.Before, r.After)
			}
		},
	}, {
		name: "flood falls by 95 percent",
		it:   item("flood", cases.ActionBlock, "203.0.113.9", cases.Scope{}),
		recs: stream(within(t0, activeAt, flood(20, "203.0.113.9", 80)), within(activeAt, end, flood(1, "203.0.113.9", 80))),
		want: Effective, baseline: BaselineMeasured,
	}, {
		name: "flood falls by half",
		it:   item("flood", cases.ActionBlock, "203.0.113.9", cases.Scope{}),
		recs: stream(within(t0, activeAt, flood(20, "203.0.113.9", 80)), within(activeAt, end, flood(10, "203.0.113.9", 80))),
		want: Ineffective, baseline: BaselineMeasured,
	}, {
		name: "rtbh counts the destination only",
		it:   item("rtbh", cases.ActionRTBH, "198.51.100.7", cases.Scope{}),
		recs: stream(within(t0, activeAt, flood(5, "203.0.113.10", 80)), within(t0, activeAt, flood(5, "203.0.113.11", 80)),
			n(1, func(at time.Time, _ int) flow.Record { return rec(at, "198.51.100.7", "203.0.113.10", 6, 80, 40000, 2) }),
			within(t0, activeAt, n(5, func(at time.Time, i int) flow.Record {
				return rec(at, "203.0.113.10", "198.51.100.7", 6, 40000, 80, 2)
			}))),
		want: Effective, baseline: BaselineMeasured,
		check: func(t *testing.T, r Result) {
			if r.Before.Flows != 30 || r.Before.Peers != 1 {
				t.Errorf("before %+v: want the 30 inbound flows/min from one peer, not the outbound ones", r.Before)
			}
		},
	}, {
		name: "block of the same host counts both ways",
		it:   item("rtbh-as-block", cases.ActionBlock, "198.51.100.7", cases.Scope{}),
		recs: stream(n(1, func(at time.Time, _ int) flow.Record { return rec(at, "198.51.100.7", "203.0.113.10", 6, 80, 40000, 2) }),
			within(t0, activeAt, n(5, func(at time.Time, i int) flow.Record {
				return rec(at, "203.0.113.10", "198.51.100.7", 6, 40000, 80, 2)
			}))),
		want: Ineffective, baseline: BaselineMeasured,
	}, {
		name: "scope narrows to udp 53",
		it: item("scope", cases.ActionBlock, "203.0.113.53",
			cases.Scope{Protocol: 17, Ports: []cases.PortRange{{From: 53, To: 53}}}),
		recs: stream(within(t0, activeAt, flood(5, "203.0.113.53", 53)),
			within(t0, activeAt, n(2, func(at time.Time, i int) flow.Record {
				return rec(at, "172.16.1.1", "203.0.113.53", 17, 53, 1024, 1) // replies from port 53
			})),
			flood(5, "203.0.113.53", 123),
			n(5, func(at time.Time, i int) flow.Record { return rec(at, "203.0.113.53", "172.16.9.9", 6, 40000, 53, 3) })),
		want: Effective, baseline: BaselineMeasured,
		check: func(t *testing.T, r Result) {
			if r.Before.Flows != 42 {
				t.Errorf("before %.1f flows/min, want 42 (udp to and from port 53 only)", r.Before.Flows)
			}
		},
	}, {
		name: "without scope the same traffic goes on",
		it:   item("scope", cases.ActionBlock, "203.0.113.53", cases.Scope{}),
		recs: stream(within(t0, activeAt, flood(5, "203.0.113.53", 53)), flood(5, "203.0.113.53", 123)),
		want: Ineffective, baseline: BaselineMeasured,
	}, {
		name: "flowspec destination narrows",
		it: item("fs", cases.ActionFlowSpec, "203.0.113.77",
			cases.Scope{Destination: cases.MustTarget("172.16.1.0/24")}),
		recs: stream(within(t0, activeAt, flood(5, "203.0.113.77", 80)),
			n(5, func(at time.Time, i int) flow.Record { return rec(at, "203.0.113.77", "172.16.9.9", 17, 5000, 80, 3) })),
		want: Effective, baseline: BaselineMeasured,
	}, {
		name: "flowspec rate limit holds",
		it:   item("fs-rate", cases.ActionFlowSpec, "203.0.113.78", cases.Scope{RateBps: 1000}),
		recs: stream(within(t0, activeAt, flood(10, "203.0.113.78", 80)),
			within(activeAt, end, n(1, func(at time.Time, _ int) flow.Record { return rec(at, "203.0.113.78", "172.16.1.1", 17, 5000, 80, 50) }))),
		want: Effective, baseline: BaselineMeasured,
	}, {
		name: "flowspec rate limit exceeded",
		it:   item("fs-rate", cases.ActionFlowSpec, "203.0.113.78", cases.Scope{RateBps: 100}),
		recs: stream(within(t0, activeAt, flood(10, "203.0.113.78", 80)),
			within(activeAt, end, n(1, func(at time.Time, _ int) flow.Record { return rec(at, "203.0.113.78", "172.16.1.1", 17, 5000, 80, 50) }))),
		want: Ineffective, baseline: BaselineMeasured,
	}, {
		name: "prefix target",
		it:   item("pfx", cases.ActionBlock, "203.0.113.0/24", cases.Scope{}),
		recs: stream(within(t0, activeAt, n(10, func(at time.Time, i int) flow.Record {
			return rec(at, "203.0.113."+itoa(i+1), "172.16.1.1", 6, 40000, 22, 5)
		})), n(3, func(at time.Time, i int) flow.Record {
			return rec(at, "203.0.114."+itoa(i+1), "172.16.1.1", 6, 40000, 22, 5)
		})),
		want: Effective, baseline: BaselineMeasured,
		check: func(t *testing.T, r Result) {
			if r.Before.Flows != 60 || r.After.Flows != 0 {
				t.Errorf("before %+v after %+v: want 60 flows/min from the /24, none after", r.Before, r.After)
			}
		},
	}, {
		name: "sampled records are scaled",
		it:   item("sampled", cases.ActionBlock, "192.0.2.99", cases.Scope{}),
		recs: stream(within(t0, stopAt, sampled(100, beacon("192.0.2.99", victim)))),
		want: Effective, baseline: BaselineMeasured,
		check: func(t *testing.T, r Result) {
			// 12 records a minute of one packet sampled 1 in 100.
			if want := (Rate{Flows: 1200, Packets: 1200, Bytes: 120000, Peers: 1, Minutes: 5}); r.Before != want {
				t.Errorf("before %+v, want %+v", r.Before, want)
			}
		},
	}, {
		name: "no traffic before",
		it:   item("quiet", cases.ActionBlock, c2, cases.Scope{}),
		recs: stream(within(activeAt, end, beacon(c2, victim))),
		want: Unmeasurable,
	}, {
		name: "too little traffic before",
		it:   item("quiet", cases.ActionBlock, c2, cases.Scope{}),
		recs: stream(within(activeAt.Add(-30*time.Second), activeAt, beacon(c2, victim))),
		want: Unmeasurable,
	}, {
		name:       "not prewatched",
		it:         item("late", cases.ActionBlock, c2, cases.Scope{}),
		recs:       stream(within(t0, stopAt, beacon(c2, victim))),
		noPrewatch: true,
		want:       Unmeasurable,
	}, {
		name:       "not prewatched with a hint",
		it:         item("late", cases.ActionBlock, c2, cases.Scope{}),
		recs:       stream(within(t0, stopAt, beacon(c2, victim))),
		noPrewatch: true, hint: &Rate{Flows: 12, Packets: 42},
		want: Effective, baseline: BaselineHint,
	}, {
		name:       "not prewatched with a hint, traffic goes on",
		it:         item("late", cases.ActionBlock, c2, cases.Scope{}),
		recs:       stream(beacon(c2, victim)),
		noPrewatch: true, hint: &Rate{Flows: 12, Packets: 42},
		want: Ineffective, baseline: BaselineHint,
	}, {
		name:       "hint too small",
		it:         item("late", cases.ActionBlock, c2, cases.Scope{}),
		recs:       stream(within(t0, stopAt, beacon(c2, victim))),
		noPrewatch: true, hint: &Rate{Flows: 1},
		want: Unmeasurable,
	}, {
		name: "pseudonymized endpoints never match",
		it:   item("pseudo", cases.ActionBlock, c2, cases.Scope{}),
		recs: stream(pseudo(within(t0, stopAt, beacon(c2, victim)), flow.PseudoSrc|flow.PseudoDst)),
		want: Unmeasurable,
	}, {
		name: "sinkhole",
		it:   item("dns", cases.ActionSinkhole, "evil.example", cases.Scope{}),
		recs: stream(), want: Unmeasurable,
	}, {
		name: "police request",
		it:   item("police", cases.ActionPoliceRequest, c2, cases.Scope{Recipient: "npa"}),
		recs: stream(beacon(c2, victim)), want: Unmeasurable,
	}, {
		name: "reidentify",
		it:   item("reid", cases.ActionReidentify, "10.0.0.0/24", cases.Scope{}),
		recs: stream(), want: Unmeasurable,
	}}
}

// runScenario replays s: prewatch at the start, Watch when the stream
// reaches activeAt, and returns every verdict.
func runScenario(t *testing.T, s scenario, batch int) []Result {
	t.Helper()
	var got []Result
	v := newVerifier(t, DefaultConfig(), Deps{OnVerdict: func(r Result) { got = append(got, r) }})
	if !s.noPrewatch {
		if err := v.Prewatch(s.it, end.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	i, _ := slices.BinarySearchFunc(s.recs, activeAt.UnixMilli(), func(r flow.Record, ms int64) int { return cmp.Compare(r.Start, ms) })
	if early := feed(v, nil, s.recs[:i], batch); len(early) > 0 {
		t.Fatalf("verdict before activation: %+v", early)
	}
	if err := v.Watch(s.it, activeAt, s.hint); err != nil {
		t.Fatal(err)
	}
	feed(v, nil, s.recs[i:], batch)
	v.Evaluate(time.Time{})
	return got
}

func TestVerdicts(t *testing.T) {
	all := map[string]Result{}
	for _, s := range scenarios() {
		t.Run(s.name, func(t *testing.T) {
			got := runScenario(t, s, 64)
			if len(got) != 1 {
				t.Fatalf("got %d verdicts, want 1: %+v", len(got), got)
			}
			r := got[0]
			if r.Verdict != s.want || r.Baseline != s.baseline {
				t.Errorf("verdict %s (baseline %q), want %s (baseline %q): %s", r.Verdict, r.Baseline, s.want, s.baseline, r.Reason)
			}
			if r.Key != s.it.Key() || r.CaseID != s.it.Case.ID || r.Reason == "" {
				t.Errorf("result %+v does not name %s or has no reason", r, s.it.Key())
			}
			if s.check != nil {
				s.check(t, r)
			}
			all[s.name] = r
		})
	}
	if !t.Failed() {
		golden(t, "verdicts.json", all)
	}
}

// TestOutOfOrder: records shuffled within a lateness's reach give the
// same figures as in order.
func TestOutOfOrder(t *testing.T) {
	for _, s := range scenarios()[:3] {
		t.Run(s.name, func(t *testing.T) {
			want := runScenario(t, s, 64)
			rng := rand.New(rand.NewPCG(1, 2))
			recs := slices.Clone(s.recs)
			// Shuffle within chunks of 40 s (less than the minute of lateness).
			for lo := 0; lo < len(recs); {
				hi := lo
				for hi < len(recs) && recs[hi].Start < recs[lo].Start+40_000 {
					hi++
				}
				rng.Shuffle(hi-lo, func(i, j int) { recs[lo+i], recs[lo+j] = recs[lo+j], recs[lo+i] })
				lo = hi
			}
			s.recs = recs
			got := runScenario(t, s, 64)
			if len(got) != 1 || len(want) != 1 || got[0].Before != want[0].Before || got[0].After != want[0].After ||
				got[0].Verdict != want[0].Verdict {
				t.Errorf("shuffled: %+v\nordered: %+v", got, want)
			}
		})
	}
}
