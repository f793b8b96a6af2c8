package verify

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/flow"
)

// State is where a watch stands.
type State string

// Watch states. A prewatch becomes watching when Watch is called for its
// key; watching becomes judged once its verdict is out. Unwatch removes a
// watch in any state; a prewatch never watched is dropped once event time
// passes its until.
const (
	StatePrewatch State = "prewatch" // counting for a baseline, not active yet
	StateWatching State = "watching" // active; waiting for the after window to close
	StateJudged   State = "judged"   // verdict out; no longer counting
)

// spec is what a watch matches: the action's type, target and scope.
type spec struct {
	typ     cases.ActionType
	target  cases.Target
	dstOnly bool         // rtbh: the target is the destination only
	proto   uint8        // 0: any
	ports   string       // the ranges, as text, for comparison
	dest    netip.Prefix // flowspec scope.destination; invalid: any
	rate    uint64       // flowspec rate_bps
}

// measurable reports whether flows can show the action's effect at all.
func measurable(t cases.ActionType) bool {
	switch t {
	case cases.ActionBlock, cases.ActionFlowSpec, cases.ActionRTBH, cases.ActionAbuseReport:
		return true
	}
	return false
}

// watch is the verifier's state for one item. The fields above mu are
// set under Verifier.mu (write-locked) and read under it (read-locked);
// mu guards ring.
type watch struct {
	key    string
	caseID string
	index  int
	spec   spec
	pfx    netip.Prefix // spec.target.Prefix(), masked; invalid for a domain
	ports  []cases.PortRange
	seq    uint64 // creation order, for eviction
	state  State
	hint   *Rate
	from   int64 // first minute fully observed
	until  int64 // prewatch: dropped when event time (ms) passes it
	active time.Time
	// Windows, in minute numbers, set by Watch: before [b0, b1), after
	// [a0, a1).
	b0, b1, a0, a1 int64
	result         *Result
	indexed        bool

	mu   sync.Mutex
	ring []bucket
}

func newSpec(a cases.Action) spec {
	s := spec{typ: a.Type, target: a.Target, dstOnly: a.Type == cases.ActionRTBH,
		proto: a.Scope.Protocol, rate: a.Scope.RateBps}
	if a.Type == cases.ActionFlowSpec && !a.Scope.Destination.IsZero() {
		s.dest = a.Scope.Destination.Prefix()
	}
	if len(a.Scope.Ports) > 0 {
		s.ports = fmt.Sprint(a.Scope.Ports)
	}
	return s
}

func newWatch(it enforce.Item, ringLen int, from int64, seq uint64) *watch {
	w := &watch{key: it.Key(), caseID: it.Case.ID, index: it.Index, spec: newSpec(it.Action),
		ports: slices.Clone(it.Action.Scope.Ports), seq: seq, from: from, ring: make([]bucket, ringLen)}
	if p := it.Action.Target.Prefix(); p.IsValid() {
		w.pfx = p.Masked()
	}
	for i := range w.ring {
		w.ring[i].min = math.MinInt64
	}
	return w
}

// matches reports whether r counts for w, given that the target matched
// r's source (atSrc) or its destination, and returns the far endpoint.
func (w *watch) matches(r *flow.Record, atSrc bool) (peer flow.Addr, ok bool) {
	s := &w.spec
	if s.dstOnly && atSrc {
		return peer, false
	}
	if s.proto != 0 && r.Proto != s.proto {
		return peer, false
	}
	// The far side: the port the scope names is the destination port of
	// traffic from the target, the source port of replies to it.
	peer, port, peerPseudo := r.DstAddr, r.DstPort, r.Pseudo&flow.PseudoDst != 0
	if !atSrc {
		peer, port, peerPseudo = r.SrcAddr, r.SrcPort, r.Pseudo&flow.PseudoSrc != 0
	}
	if len(w.ports) > 0 && !inPorts(w.ports, port) {
		return peer, false
	}
	if s.dest.IsValid() && (peerPseudo || !s.dest.Contains(peer.Netip())) {
		return peer, false
	}
	return peer, true
}

func inPorts(rs []cases.PortRange, p uint16) bool {
	for _, r := range rs {
		if p >= r.From && p <= r.To {
			return true
		}
	}
	return false
}

// contains reports whether the clear address a lies in w's target.
func (w *watch) contains(a flow.Addr) bool {
	return w.pfx.IsValid() && w.pfx.Contains(a.Netip())
}

// add counts r in the bucket of its start minute. Records before the
// first fully observed minute, outside the windows of an active watch,
// or older than the ring are ignored; it reports whether r was counted.
func (w *watch) add(r *flow.Record, min int64, peer flow.Addr) bool {
	if min < w.from {
		return false
	}
	if w.state == StateWatching && (min < w.b0 || min >= w.a1 || (min >= w.b1 && min < w.a0)) {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	b := &w.ring[uint64(min)%uint64(len(w.ring))]
	if b.min != min {
		if b.min > min {
			return false // the slot already holds a later minute: too late
		}
		*b = bucket{min: min}
	}
	b.add(r, peer)
	return true
}

// sums returns the before and after sums of an active watch.
func (w *watch) sums() (before, after sum) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return sumRange(w.ring, max(w.b0, w.from), w.b1), sumRange(w.ring, w.a0, w.a1)
}

// minuteOf returns the minute number of ms (floor division).
func minuteOf(ms int64) int64 {
	m := ms / 60_000
	if ms%60_000 < 0 {
		m--
	}
	return m
}

// setWindows places the before and after windows around activation at:
// before is the cfg.Window whole minutes before the minute of at; after
// starts at the first whole minute once grace has passed, or at the first
// minute observed if that is later (a restart), and lasts cfg.Window.
func (w *watch) setWindows(cfg *Config, at time.Time) {
	wm := int64(cfg.Window / time.Minute)
	am := minuteOf(at.UnixMilli())
	w.b0, w.b1 = am-wm, am
	w.a0 = max(-minuteOf(-at.Add(cfg.Grace).UnixMilli()), w.from) // ceiling
	w.a1 = w.a0 + wm
	w.active = at
}
