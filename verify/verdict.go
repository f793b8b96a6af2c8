package verify

import (
	"fmt"
	"time"

	"github.com/acd-org/acd/cases"
)

// Verdict is the outcome of a judgement.
type Verdict string

// Verdicts.
const (
	// Effective: the traffic fell by at least the configured reduction
	// (or stopped entirely) against a real baseline.
	Effective Verdict = "effective"
	// Ineffective: there was a baseline and the traffic did not fall
	// enough.
	Ineffective Verdict = "ineffective"
	// Unmeasurable: flows cannot tell (a domain, a request to a third
	// party) or there was nothing to compare with.
	Unmeasurable Verdict = "unmeasurable"
)

// Span is a time range [From, To).
type Span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Baseline sources, in Result.Baseline.
const (
	BaselineMeasured = "measured" // counted in the before window
	BaselineHint     = "hint"     // the hint given to Watch
)

// Result is one verdict about one executed action.
type Result struct {
	Key     string           `json:"key"` // enforce.ItemKey(CaseID, Index)
	CaseID  string           `json:"case_id"`
	Index   int              `json:"index"`
	Type    cases.ActionType `json:"type"`
	Target  string           `json:"target"`
	Verdict Verdict          `json:"verdict"`
	// Before and After are the matching traffic of the two windows, per
	// minute; Baseline says where Before came from ("" when none).
	Before   Rate   `json:"before"`
	After    Rate   `json:"after"`
	Baseline string `json:"baseline,omitempty"`
	// ActiveAt is when the action was executed; BeforeWindow and
	// AfterWindow are the windows compared (zero for types flows cannot
	// show); Window is their configured length.
	ActiveAt     time.Time     `json:"active_at"`
	BeforeWindow Span          `json:"before_window,omitzero"`
	AfterWindow  Span          `json:"after_window,omitzero"`
	Window       time.Duration `json:"window"`
	// Reason says why, with the figures.
	Reason string `json:"reason"`
}

// WatchStatus is what Status reports about one followed target.
type WatchStatus struct {
	Key      string           `json:"key"`
	CaseID   string           `json:"case_id"`
	Index    int              `json:"index"`
	Type     cases.ActionType `json:"type"`
	Target   string           `json:"target"`
	State    State            `json:"state"`
	ActiveAt time.Time        `json:"active_at,omitzero"`
	// Before and After are the counts so far (for a prewatch, Before is
	// the last window observed).
	Before       Rate    `json:"before"`
	After        Rate    `json:"after"`
	BeforeWindow Span    `json:"before_window,omitzero"`
	AfterWindow  Span    `json:"after_window,omitzero"`
	Result       *Result `json:"result,omitempty"`
}

func minuteTime(m int64) time.Time { return time.UnixMilli(m * 60_000).UTC() }

func (w *watch) base() Result {
	r := Result{Key: w.key, CaseID: w.caseID, Index: w.index, Type: w.spec.typ, Target: w.spec.target.String(),
		ActiveAt: w.active}
	if measurable(w.spec.typ) && w.pfx.IsValid() {
		r.BeforeWindow = Span{minuteTime(w.b0), minuteTime(w.b1)}
		r.AfterWindow = Span{minuteTime(w.a0), minuteTime(w.a1)}
	}
	return r
}

// judge gives w's verdict (see the package documentation for the rules).
func (v *Verifier) judge(w *watch) Result {
	r := w.base()
	r.Window = v.cfg.Window
	if !measurable(w.spec.typ) || !w.pfx.IsValid() {
		r.Verdict = Unmeasurable
		r.Reason = fmt.Sprintf("a %s action on %s cannot be seen in flow records", w.spec.typ, w.spec.target)
		return r
	}
	bs, as := w.sums()
	r.Before, r.After = bs.rate(), as.rate()
	need := v.cfg.MinBeforeFlows
	winMin := v.cfg.Window.Minutes()
	switch {
	case bs.minutes > 0 && bs.flows >= need:
		r.Baseline = BaselineMeasured
	case w.hint != nil && w.hint.Flows*winMin >= need:
		r.Baseline, r.Before = BaselineHint, *w.hint
	default:
		r.Verdict = Unmeasurable
		r.Reason = fmt.Sprintf("no baseline: %.0f flows in %d observed minutes before activation (min_before_flows %g) and no usable hint",
			bs.flows, bs.minutes, need)
		return r
	}
	red := v.cfg.Reduction
	b, a := r.Before, r.After
	if rate := w.spec.rate; rate > 0 {
		// A rate limit is judged on bytes: at most rate_bps, +10 % for
		// sampling error and export granularity.
		limit := float64(rate) * 60 * 1.1
		r.Verdict = Ineffective
		if a.Bytes <= limit {
			r.Verdict = Effective
		}
		r.Reason = fmt.Sprintf("rate limit %d B/s: after %.0f B/s (before %.0f B/s, %s baseline)",
			rate, a.Bytes/60, b.Bytes/60, r.Baseline)
		return r
	}
	flowsOK := a.Flows <= (1-red)*b.Flows
	pktsOK := b.Packets == 0 || a.Packets <= (1-red)*b.Packets
	r.Verdict = Ineffective
	if a.Flows == 0 || flowsOK && pktsOK {
		r.Verdict = Effective
	}
	r.Reason = fmt.Sprintf("flows %.1f→%.1f/min (%s), packets %.1f→%.1f/min (%s); %s needs −%.0f%% (%s baseline)",
		b.Flows, a.Flows, change(b.Flows, a.Flows), b.Packets, a.Packets, change(b.Packets, a.Packets),
		Effective, red*100, r.Baseline)
	return r
}

// change writes the relative change from b to a ("−97%", "+3%").
func change(b, a float64) string {
	if b == 0 {
		return "no baseline"
	}
	d := (a - b) / b * 100
	if d < 0 {
		return fmt.Sprintf("−%.0f%%", -d)
	}
	return fmt.Sprintf("+%.0f%%", d)
}

// status reports w; wmMin is the watermark's minute.
func (w *watch) status(cfg *Config, wmMin int64) WatchStatus {
	r := w.base()
	s := WatchStatus{Key: w.key, CaseID: w.caseID, Index: w.index, Type: w.spec.typ, Target: r.Target,
		State: w.state, ActiveAt: w.active, Result: w.result}
	if !measurable(w.spec.typ) || !w.pfx.IsValid() {
		return s
	}
	if w.result != nil {
		s.BeforeWindow, s.AfterWindow = r.BeforeWindow, r.AfterWindow
		s.Before, s.After = w.result.Before, w.result.After
		return s
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == StatePrewatch {
		from := max(w.from, wmMin-int64(cfg.Window/time.Minute))
		if from < wmMin {
			s.Before = sumRange(w.ring, from, wmMin).rate()
			s.BeforeWindow = Span{minuteTime(from), minuteTime(wmMin)}
		}
		return s
	}
	s.BeforeWindow, s.AfterWindow = r.BeforeWindow, r.AfterWindow
	s.Before = sumRange(w.ring, max(w.b0, w.from), w.b1).rate()
	if end := min(w.a1, wmMin); end > w.a0 {
		s.After = sumRange(w.ring, w.a0, end).rate()
	}
	return s
}
