package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// approvedWindows returns a case approved by alice and bob whose block
// (action 0) and abuse report (action 1) end end0 and end1 after ct0.
func (e *caseEnv) approvedWindows(t *testing.T, end0, end1 time.Duration) cases.Case {
	t.Helper()
	ctx := context.Background()
	c := e.create(t, "ann", cases.RouteOrdinary)
	c, err := e.cs.AmendCase(ctx, c.ID, "ann", "windows", func(c *cases.Case) {
		c.Actions[0].NotAfter, c.Actions[1].NotAfter = ct0.Add(end0), ct0.Add(end1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.ChangeCase(ctx, c.ID, cases.Change{Event: cases.EventRequest, By: "ann", At: ct0}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if c, err = e.cs.AddApproval(ctx, c.ID, e.sign(t, c.ID, u, cases.DecisionApprove, ct0)); err != nil {
			t.Fatal(err)
		}
	}
	if c.State != cases.StateApproved {
		t.Fatalf("after two approvals: %s", c.State)
	}
	return c
}

// withdrawnIdx returns the indexes of case id's executions recorded as
// withdrawn.
func (e *caseEnv) withdrawnIdx(t *testing.T, id string) []int {
	t.Helper()
	rows, err := e.db.r.QueryContext(context.Background(), `SELECT idx FROM case_executions WHERE case_id = ? AND withdrawn IS NOT NULL ORDER BY idx`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []int
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			t.Fatal(err)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expireEntries splits case id's case.expire entries into those for an
// action (index → type) and those for the transition (their "from").
func (e *caseEnv) expireEntries(t *testing.T, id string) (actions map[int]string, transitions []string) {
	t.Helper()
	actions = map[int]string{}
	for _, en := range e.entries(t) {
		if en.Action != audit.ActionCaseExpire || en.Object != "case:"+id {
			continue
		}
		if en.Actor != systemActor {
			t.Errorf("expiry by %q", en.Actor)
		}
		var d struct {
			Action *int   `json:"action"`
			Type   string `json:"type"`
			From   string `json:"from"`
		}
		if err := json.Unmarshal(en.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Action != nil {
			if _, dup := actions[*d.Action]; dup {
				t.Errorf("action %d expired twice", *d.Action)
			}
			actions[*d.Action] = d.Type
		} else {
			transitions = append(transitions, d.From)
		}
	}
	return actions, transitions
}

func TestCaseExpireDue(t *testing.T) {
	type step struct {
		at        time.Duration      // after ct0
		withdrawn []cases.ActionType // the adapter's withdrawals in this step, in order
		state     cases.State        // the case's state after it
	}
	const ns = time.Nanosecond
	tests := []struct {
		name       string
		end0, end1 time.Duration // not_after of the block and the abuse report
		execute    []int         // executed at ct0+1h
		steps      []step
		withdrawn  []int // recorded withdrawn at the end
		from       cases.State
	}{
		{"an executed action expires exactly at its not_after", 24 * time.Hour, 24 * time.Hour, []int{0}, []step{
			{24*time.Hour - ns, nil, cases.StateActive},
			{24 * time.Hour, []cases.ActionType{cases.ActionBlock}, cases.StateExpired},
			{48 * time.Hour, nil, cases.StateExpired},
		}, []int{0}, cases.StateActive},
		{"two executed actions: the case expires when the second window ends", 12 * time.Hour, 24 * time.Hour, []int{0, 1}, []step{
			{12*time.Hour - ns, nil, cases.StateActive},
			{12 * time.Hour, []cases.ActionType{cases.ActionBlock}, cases.StateActive},
			{13 * time.Hour, nil, cases.StateActive},
			{24*time.Hour - ns, nil, cases.StateActive},
			{24 * time.Hour, []cases.ActionType{cases.ActionAbuseReport}, cases.StateExpired},
		}, []int{0, 1}, cases.StateActive},
		{"both windows end together", 12 * time.Hour, 12 * time.Hour, []int{1, 0}, []step{
			{12 * time.Hour, []cases.ActionType{cases.ActionBlock, cases.ActionAbuseReport}, cases.StateExpired},
		}, []int{0, 1}, cases.StateActive},
		{"an unexecuted action with an open window keeps the case", 12 * time.Hour, 24 * time.Hour, []int{0}, []step{
			{12 * time.Hour, []cases.ActionType{cases.ActionBlock}, cases.StateActive},
			{24*time.Hour - ns, nil, cases.StateActive},
			{24 * time.Hour, nil, cases.StateExpired},
		}, []int{0}, cases.StateActive},
		{"approved, never executed", 12 * time.Hour, 24 * time.Hour, nil, []step{
			{12 * time.Hour, nil, cases.StateApproved},
			{24*time.Hour - ns, nil, cases.StateApproved},
			{24 * time.Hour, nil, cases.StateExpired},
			{25 * time.Hour, nil, cases.StateExpired},
		}, nil, cases.StateApproved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newCaseEnv(t)
			c := e.approvedWindows(t, tt.end0, tt.end1)
			// A second case whose windows stay open throughout.
			other := e.approvedWindows(t, 7*24*time.Hour, 7*24*time.Hour)
			if _, err := e.cs.Execute(ctx, other.ID, 0, "otto", ct0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			for _, i := range tt.execute {
				if _, err := e.cs.Execute(ctx, c.ID, i, "otto", ct0.Add(time.Hour)); err != nil {
					t.Fatalf("execute %d: %v", i, err)
				}
			}
			prev := cases.StateApproved
			if len(tt.execute) > 0 {
				prev = cases.StateActive
			}
			for _, s := range tt.steps {
				at := ct0.Add(s.at)
				e.clk.Set(at)
				before := len(e.rec.Calls())
				ids, err := e.cs.ExpireDue(ctx, at)
				if err != nil {
					t.Fatalf("at +%s: %v", s.at, err)
				}
				var got []cases.ActionType
				for _, call := range e.rec.Calls()[before:] {
					if call.Op != "withdraw" || call.Case != c.ID {
						t.Fatalf("at +%s: unexpected adapter call %+v", s.at, call)
					}
					got = append(got, call.Action.Type)
				}
				if !slices.Equal(got, s.withdrawn) {
					t.Errorf("at +%s: withdrawn %v, want %v", s.at, got, s.withdrawn)
				}
				r, err := e.cs.Case(ctx, c.ID)
				if err != nil || r.Case.State != s.state {
					t.Fatalf("at +%s: state %s (%v), want %s", s.at, r.Case.State, err, s.state)
				}
				wantIDs := []string(nil)
				if s.state == cases.StateExpired && prev != cases.StateExpired {
					wantIDs = []string{c.ID}
				}
				if !slices.Equal(ids, wantIDs) {
					t.Errorf("at +%s: expired %v, want %v", s.at, ids, wantIDs)
				}
				prev = s.state
			}
			if got := e.withdrawnIdx(t, c.ID); !slices.Equal(got, tt.withdrawn) {
				t.Errorf("executions recorded withdrawn %v, want %v", got, tt.withdrawn)
			}
			acts, trans := e.expireEntries(t, c.ID)
			if len(acts) != len(tt.withdrawn) {
				t.Errorf("case.expire entries per action %v, want %v", acts, tt.withdrawn)
			}
			for _, i := range tt.withdrawn {
				if acts[i] != string(c.Actions[i].Type) {
					t.Errorf("case.expire of action %d has type %q, want %s", i, acts[i], c.Actions[i].Type)
				}
			}
			if len(trans) != 1 || trans[0] != string(tt.from) {
				t.Errorf("expire transitions from %v, want [%s]", trans, tt.from)
			}
			r, _ := e.cs.Case(ctx, c.ID)
			if h := r.Case.History[len(r.Case.History)-1]; h.Event != cases.EventExpire || h.By != systemActor || h.From != tt.from {
				t.Errorf("last history entry %+v", h)
			}
			// The other case is untouched.
			if r, _ := e.cs.Case(ctx, other.ID); r.Case.State != cases.StateActive || len(e.withdrawnIdx(t, other.ID)) != 0 {
				t.Errorf("the open case: %s, withdrawn %v", r.Case.State, e.withdrawnIdx(t, other.ID))
			}
			e.verify(t)
		})
	}
}

// TestCaseExpiredActionRefused: once its window ended an action cannot be
// executed again (the gate refuses on the window, audited), nor can any
// action of an expired case.
func TestCaseExpiredActionRefused(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	c := e.approvedWindows(t, 12*time.Hour, 24*time.Hour)
	for _, i := range []int{0, 1} {
		if _, err := e.cs.Execute(ctx, c.ID, i, "otto", ct0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	at := ct0.Add(12 * time.Hour)
	e.clk.Set(at)
	if _, err := e.cs.ExpireDue(ctx, at); err != nil {
		t.Fatal(err)
	}
	calls := len(e.rec.Calls())
	tests := []struct {
		name   string
		at     time.Time
		expire bool // run ExpireDue at at first
		want   error
		reason string
	}{
		{"the expired action, its case still active", at, false, cases.ErrWindow, "window"},
		{"the expired action, later", at.Add(time.Hour), false, cases.ErrWindow, "window"},
		{"an action of the expired case", ct0.Add(24 * time.Hour), true, cases.ErrState, "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clk.Set(tt.at)
			if tt.expire {
				if ids, err := e.cs.ExpireDue(ctx, tt.at); err != nil || len(ids) != 1 {
					t.Fatalf("expire: %v %v", ids, err)
				}
				calls++ // the abuse report's withdrawal
			}
			before := len(e.entries(t))
			if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("Execute = %v, want %v", err, tt.want)
			}
			if got := len(e.rec.Calls()); got != calls {
				t.Fatalf("adapter calls %d, want %d", got, calls)
			}
			es := e.entries(t)
			if len(es) != before+1 || es[before].Action != audit.ActionGateRefuse {
				t.Fatalf("entries after the refusal: %+v", es[before:])
			}
			var d map[string]any
			if err := json.Unmarshal(es[before].Data, &d); err != nil || d["reason"] != tt.reason {
				t.Errorf("refusal data %s, want reason %s", es[before].Data, tt.reason)
			}
		})
	}
	e.verify(t)
}

// TestCaseExpireWithdrawFails: a failed withdrawal leaves the case as it
// was, with nothing on record, and is retried on the next call.
func TestCaseExpireWithdrawFails(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	c := e.approvedWindows(t, 24*time.Hour, 24*time.Hour)
	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	at := ct0.Add(24 * time.Hour)
	e.clk.Set(at)
	before := e.entries(t)
	boom := errors.New("firewall unreachable")
	e.rec.Err = boom
	ids, err := e.cs.ExpireDue(ctx, at)
	if !errors.Is(err, boom) || len(ids) != 0 {
		t.Fatalf("ExpireDue = %v, %v; want %v", ids, err, boom)
	}
	if after := e.entries(t); len(after) != len(before) {
		t.Fatalf("entries after a failed expiry: %+v", after[len(before):])
	}
	if r, _ := e.cs.Case(ctx, c.ID); r.Case.State != cases.StateActive || len(e.withdrawnIdx(t, c.ID)) != 0 {
		t.Fatalf("after a failed expiry: %s, withdrawn %v", r.Case.State, e.withdrawnIdx(t, c.ID))
	}
	e.rec.Err = nil
	if ids, err := e.cs.ExpireDue(ctx, at.Add(time.Minute)); err != nil || !slices.Equal(ids, []string{c.ID}) {
		t.Fatalf("retry: %v %v", ids, err)
	}
	e.verify(t)
}

// TestReviewerExpires: the timer expires cases on the injected clock.
func TestReviewerExpires(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	c := e.approvedWindows(t, 24*time.Hour, 24*time.Hour)
	if _, err := e.cs.Execute(ctx, c.ID, 0, "otto", ct0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(ct0.Add(25 * time.Hour))
	type run struct{ rolledBack, expired []string }
	runs := make(chan run, 16)
	rv := &Reviewer{Cases: e.cs, Every: time.Millisecond, Now: e.clk.Now, OnRun: func(rb, ex []string, err error) {
		if err != nil {
			t.Error(err)
		}
		select {
		case runs <- run{rb, ex}:
		default:
		}
	}}
	if err := rv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first := <-runs
	rv.Stop()
	if len(first.rolledBack) != 0 || !slices.Equal(first.expired, []string{c.ID}) {
		t.Fatalf("first run %+v, want %s expired", first, c.ID)
	}
	calls := e.rec.Calls()
	if len(calls) != 2 || calls[1].Op != "withdraw" || calls[1].Action.Type != cases.ActionBlock {
		t.Fatalf("calls %+v", calls)
	}
	var withdrawEntries int
	for _, en := range e.entries(t) {
		if en.Action == enforce.ActionWithdraw && en.Object == "case:"+c.ID {
			withdrawEntries++
		}
	}
	if withdrawEntries != 1 {
		t.Errorf("%d %s entries, want 1", withdrawEntries, enforce.ActionWithdraw)
	}
	e.verify(t)
}
