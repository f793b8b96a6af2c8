package api

import (
	"context"
	"slices"
	"time"

	"github.com/acd-org/acd/cases"
)

// What GET /api/v1/cases/{id} adds to the cases.Record for the console:
// the policy's k of n, the decisions so far on the current version, and
// each action's state. The gate remains the authority on all of it;
// these are for people to read.

// caseDetail is GET /api/v1/cases/{id}'s answer.
type caseDetail struct {
	cases.Record
	Policy  *policyView  `json:"policy,omitempty"`
	Tally   tallyView    `json:"tally"`
	Actions []actionView `json:"actions"`
	Verify  *verifyView  `json:"verify,omitempty"`
}

// verifyView is what the console needs of the verify stage: its window
// (the whole minutes of the target's traffic it compares before and
// after an execution).
type verifyView struct {
	WindowS float64 `json:"window_s"`
}

// policyView is the policy's quorum: k of n commissioner keys.
type policyView struct {
	Quorum        int `json:"quorum"`
	Commissioners int `json:"commissioners"`
}

// tallyView counts the commissioners whose latest decision on the
// current version approves or rejects.
type tallyView struct {
	Approvals  int      `json:"approvals"`
	Rejections int      `json:"rejections"`
	Approvers  []string `json:"approvers"`
	Rejecters  []string `json:"rejecters"`
}

// Action states for the console.
const (
	actionInEffect  = "in_effect" // executed and not withdrawn
	actionScheduled = "scheduled" // its window has not opened
	actionOpen      = "open"      // in its window, not in effect
	actionOver      = "over"      // its window closed, or the case ended
)

// actionView is one action of a case with its state and verdict.
type actionView struct {
	Index int `json:"index"`
	cases.Action
	State   string         `json:"state"`
	Since   time.Time      `json:"since,omitzero"`
	Verdict *cases.Verdict `json:"verdict,omitempty"`
}

// detail builds the console's view of rec at now.
func (h *handler) detail(ctx context.Context, rec cases.Record) caseDetail {
	d := caseDetail{Record: rec, Tally: tally(rec.Case, rec.Approvals)}
	if p := h.deps.Policy; p != nil {
		d.Policy = &policyView{Quorum: p.Quorum, Commissioners: len(p.Commissioners)}
	}
	if w := h.deps.VerifyWindow; w > 0 {
		d.Verify = &verifyView{WindowS: w.Seconds()}
	}
	since := map[int]time.Time{}
	if h.deps.InEffect != nil {
		items, err := h.deps.InEffect(ctx)
		if err != nil {
			h.log.Warn("api: case without its actions in effect", "case", rec.Case.ID, "error", err)
		}
		for _, it := range items {
			if it.Case.ID == rec.Case.ID {
				since[it.Index] = it.Since
			}
		}
	}
	d.Actions = actionViews(rec.Case, since, h.now())
	return d
}

// ended are the states after which no action runs.
var ended = []cases.State{cases.StateRejected, cases.StateWithdrawn, cases.StateExpired, cases.StateRevoked, cases.StateClosed}

// actionViews gives each action of c its state at now; since holds the
// actions in effect and when they were executed.
func actionViews(c cases.Case, since map[int]time.Time, now time.Time) []actionView {
	out := make([]actionView, 0, len(c.Actions))
	for i, a := range c.Actions {
		v := actionView{Index: i, Action: a}
		t, in := since[i]
		switch {
		case in:
			v.State, v.Since = actionInEffect, t
		case slices.Contains(ended, c.State) || !now.Before(a.NotAfter):
			v.State = actionOver
		case now.Before(a.NotBefore):
			v.State = actionScheduled
		default:
			v.State = actionOpen
		}
		for j := range c.Verdicts {
			if c.Verdicts[j].Action == i {
				vd := c.Verdicts[j]
				v.Verdict = &vd
			}
		}
		out = append(out, v)
	}
	return out
}

// tally counts, per commissioner, the latest decision on c's current
// version (a rejection wins a tie), as the gate does; signatures are the
// gate's to check.
func tally(c cases.Case, as []cases.Approval) tallyView {
	latest := map[string]cases.Approval{}
	for _, a := range as {
		if a.Version != c.Version || a.Case != c.ID {
			continue
		}
		prev, ok := latest[a.Commissioner]
		if !ok || a.SignedAt.After(prev.SignedAt) || (a.SignedAt.Equal(prev.SignedAt) && a.Decision == cases.DecisionReject) {
			latest[a.Commissioner] = a
		}
	}
	t := tallyView{Approvers: []string{}, Rejecters: []string{}}
	for name, a := range latest {
		if a.Decision == cases.DecisionReject {
			t.Rejecters = append(t.Rejecters, name)
		} else if a.Decision == cases.DecisionApprove {
			t.Approvers = append(t.Approvers, name)
		}
	}
	slices.Sort(t.Approvers)
	slices.Sort(t.Rejecters)
	t.Approvals, t.Rejections = len(t.Approvers), len(t.Rejecters)
	return t
}
