package cases

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTransitionMatrix tries every event in every state against a table
// written out by hand from the issue (not derived from transitions()).
func TestTransitionMatrix(t *testing.T) {
	const (
		D, Q, A, RJ, W, AC, E, I, X, RV, C = StateDraft, StateRequested, StateApproved, StateRejected, StateWithdrawn,
			StateActive, StateEffective, StateIneffective, StateExpired, StateRevoked, StateClosed
	)
	// want[event][from] = to; absent means refused.
	want := map[Event]map[State]State{
		EventAmend:       {D: D, Q: Q},
		EventRequest:     {D: Q},
		EventApprove:     {Q: A},
		EventReject:      {Q: RJ},
		EventWithdraw:    {D: W, Q: W, A: W},
		EventActivate:    {A: AC},
		EventEmergency:   {Q: AC},
		EventReview:      {AC: AC, E: E, I: I, X: X},
		EventEffective:   {AC: E, I: E},
		EventIneffective: {AC: I, E: I},
		EventExpire:      {A: X, AC: X, E: X, I: X},
		EventRevoke:      {A: RV, AC: RV, E: RV, I: RV},
		EventRollback:    {AC: RV, E: RV, I: RV},
		EventClose:       {RJ: C, W: C, X: C, RV: C},
	}
	if len(want) != len(Events()) {
		t.Fatalf("the matrix covers %d events, the package has %d", len(want), len(Events()))
	}
	for _, ev := range Events() {
		for _, s := range States() {
			t.Run(fmt.Sprintf("%s/%s", s, ev), func(t *testing.T) {
				c := caseIn(s)
				to, allowed := want[ev][s]
				var err error
				if ev == EventAmend {
					err = c.Update("ann", t0, "edit", func(c *Case) { c.LegalBasis += " (amended)" })
				} else {
					err = c.Apply(changeFor(ev))
				}
				if !allowed {
					if err == nil || !errors.Is(err, ErrState) {
						t.Fatalf("got %v (state %s), want an ErrState refusal", err, c.State)
					}
					if !strings.Contains(err.Error(), string(s)) {
						t.Errorf("refusal %q does not name the state", err)
					}
					if c.State != s || len(c.History) != 1 {
						t.Errorf("a refused transition changed the case: state %s, %d history entries", c.State, len(c.History))
					}
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.State != to {
					t.Errorf("state %s, want %s", c.State, to)
				}
				last := c.History[len(c.History)-1]
				if last.Event != ev || last.From != s || last.To != to || last.By == "" || !last.At.Equal(t0) {
					t.Errorf("history entry %+v does not record %s %s→%s by whom and when", last, ev, s, to)
				}
			})
		}
	}
}

// caseIn returns a valid case in state s, an unreviewed urgent emergency
// where the state can be one (so that review and rollback are possible).
func caseIn(s State) Case {
	c := testCase()
	c.Route = RouteUrgent
	c.State = s
	c.History = c.History[:1]
	if slices.Contains([]State{StateActive, StateEffective, StateIneffective, StateExpired}, s) {
		c.Flags = Flags{Emergency: true, EmergencyBy: "oscar", EmergencyAt: t0.Add(-time.Hour), ReviewBy: t0.Add(time.Hour)}
	}
	return c
}

func changeFor(ev Event) Change {
	return Change{Event: ev, By: "someone", At: t0, Reason: "because", ReviewBy: t0.Add(24 * time.Hour)}
}

func TestApplyPreconditions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*Case) Change
		want  string
	}{
		{"request without evidence", func(c *Case) Change {
			c.State, c.EvidenceHash = StateDraft, ""
			return changeFor(EventRequest)
		}, "evidence is not frozen"},
		{"reject without reason", func(c *Case) Change {
			ch := changeFor(EventReject)
			ch.Reason = " "
			return ch
		}, "needs a reason"},
		{"withdraw without reason", func(c *Case) Change {
			ch := changeFor(EventWithdraw)
			ch.Reason = ""
			return ch
		}, "needs a reason"},
		{"revoke without reason", func(c *Case) Change {
			c.State = StateActive
			ch := changeFor(EventRevoke)
			ch.Reason = ""
			return ch
		}, "needs a reason"},
		{"emergency on an ordinary case", func(c *Case) Change { return changeFor(EventEmergency) }, "only an urgent case"},
		{"emergency without deadline", func(c *Case) Change {
			c.Route = RouteUrgent
			ch := changeFor(EventEmergency)
			ch.ReviewBy = time.Time{}
			return ch
		}, "review deadline"},
		{"review of a non-emergency", func(c *Case) Change { c.State = StateActive; return changeFor(EventReview) }, "not an unreviewed emergency"},
		{"rollback of a reviewed emergency", func(c *Case) Change {
			c.State = StateActive
			c.Flags = Flags{Emergency: true, Reviewed: true}
			return changeFor(EventRollback)
		}, "not an unreviewed emergency"},
		{"nobody", func(c *Case) Change { ch := changeFor(EventApprove); ch.By = ""; return ch }, "who (by) and when (at)"},
		{"amend through Apply", func(c *Case) Change { return changeFor(EventAmend) }, "amend through Update"},
		{"unknown event", func(c *Case) Change { return changeFor("explode") }, `unknown case event "explode"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCase()
			ch := tc.setup(&c)
			before := c.Clone()
			err := c.Apply(ch)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if c.State != before.State || len(c.History) != len(before.History) || c.Flags != before.Flags {
				t.Error("a refused change altered the case")
			}
		})
	}
}

func TestUpdateVersion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Case)
		bumps bool
	}{
		{"nothing", func(*Case) {}, false},
		{"legal basis", func(c *Case) { c.LegalBasis = "other" }, true},
		{"longer window", func(c *Case) { c.Actions[0].NotAfter = c.Actions[0].NotAfter.Add(time.Second) }, true},
		{"same instant in another zone", func(c *Case) {
			c.Actions[0].NotAfter = c.Actions[0].NotAfter.In(time.FixedZone("JST", 9*3600))
		}, false},
		{"wider target", func(c *Case) { c.Actions[0].Target = MustTarget("198.51.100.0/24") }, true},
		{"params", func(c *Case) { c.Actions[0].Params["table"] = "acd" }, true},
		{"new suspect", func(c *Case) { c.Suspects = append(c.Suspects, "198.51.100.8") }, true},
		{"evidence", func(c *Case) { c.EvidenceHash = strings.Repeat("0", 64) }, true},
		{"protected fields are kept", func(c *Case) {
			c.ID, c.Version, c.State, c.Flags.Emergency, c.History = "other", 99, StateApproved, true, nil
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCase()
			orig := c.Clone()
			if err := c.Update("ann", t0, "edit", tc.edit); err != nil {
				t.Fatal(err)
			}
			wantV := 1
			if tc.bumps {
				wantV = 2
			}
			if c.Version != wantV {
				t.Errorf("version %d, want %d", c.Version, wantV)
			}
			if c.ID != orig.ID || c.State != orig.State || c.Flags != orig.Flags || len(c.History) != len(orig.History)+1 {
				t.Errorf("protected fields changed: %+v", c)
			}
			if last := c.History[len(c.History)-1]; last.Event != EventAmend || last.Version != wantV || last.Reason != "edit" {
				t.Errorf("history entry %+v", last)
			}
			if len(orig.Actions[0].Params) != 1 {
				t.Error("Update edited the caller's maps in place")
			}
		})
	}
}

func TestStateHelpers(t *testing.T) {
	for _, s := range States() {
		got, err := ParseState(string(s))
		if err != nil || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseState("done"); err == nil {
		t.Error("unknown state accepted")
	}
	var exec []State
	for _, s := range States() {
		if s.Executable() {
			exec = append(exec, s)
		}
	}
	if want := []State{StateApproved, StateActive, StateEffective, StateIneffective}; !slices.Equal(exec, want) {
		t.Errorf("executable states %v, want %v", exec, want)
	}
}

func TestSetVerdict(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		state State
		prior []Verdict
		v     Verdict
		want  Event
	}{
		{"effective on active", StateActive, nil, Verdict{Action: 0, Verdict: VerdictEffective}, EventEffective},
		{"ineffective on active", StateActive, nil, Verdict{Action: 0, Verdict: VerdictIneffective}, EventIneffective},
		{"unmeasurable", StateActive, nil, Verdict{Action: 0, Verdict: VerdictUnmeasurable}, ""},
		{"effective again", StateEffective, []Verdict{{Action: 0, Verdict: VerdictEffective}}, Verdict{Action: 0, Verdict: VerdictEffective}, ""},
		{"another action ineffective keeps it ineffective", StateIneffective, []Verdict{{Action: 1, Verdict: VerdictIneffective}},
			Verdict{Action: 0, Verdict: VerdictEffective}, ""},
		{"the ineffective action recovers", StateIneffective, []Verdict{{Action: 1, Verdict: VerdictIneffective}},
			Verdict{Action: 1, Verdict: VerdictEffective}, EventEffective},
		{"effective turns ineffective", StateEffective, []Verdict{{Action: 0, Verdict: VerdictEffective}},
			Verdict{Action: 1, Verdict: VerdictIneffective}, EventIneffective},
		{"expired case: no event", StateExpired, nil, Verdict{Action: 0, Verdict: VerdictIneffective}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Case{State: tt.state, Verdicts: slices.Clone(tt.prior)}
			tt.v.At = at
			if got := c.SetVerdict(tt.v); got != tt.want {
				t.Errorf("SetVerdict = %q, want %q", got, tt.want)
			}
			if n := len(c.Verdicts); n < 1 || n > 2 {
				t.Errorf("verdicts = %+v", c.Verdicts)
			}
		})
	}
}
