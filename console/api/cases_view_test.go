package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/casestest"
	"github.com/acd-org/acd/enforce"
)

func TestActionViews(t *testing.T) {
	now := tc0.Add(10 * time.Hour)
	win := func(from, to time.Duration) cases.Action {
		a := testAction()
		a.NotBefore, a.NotAfter = tc0.Add(from), tc0.Add(to)
		return a
	}
	c := cases.Case{ID: "c-1", State: cases.StateActive, Actions: []cases.Action{
		win(0, 24*time.Hour),            // 0: in effect
		win(12*time.Hour, 24*time.Hour), // 1: scheduled
		win(0, 24*time.Hour),            // 2: open
		win(0, 10*time.Hour),            // 3: over (not_after is exclusive)
	}, Verdicts: []cases.Verdict{{Action: 0, Verdict: cases.VerdictEffective, At: now}}}
	since := map[int]time.Time{0: tc0.Add(time.Hour)}
	type row struct {
		State   string
		Since   time.Time
		Verdict string
	}
	summary := func(vs []actionView) []row {
		var out []row
		for i, v := range vs {
			if v.Index != i {
				t.Errorf("action %d has index %d", i, v.Index)
			}
			r := row{State: v.State, Since: v.Since}
			if v.Verdict != nil {
				r.Verdict = v.Verdict.Verdict
			}
			out = append(out, r)
		}
		return out
	}
	for _, tt := range []struct {
		name  string
		state cases.State
		since map[int]time.Time
		want  []row
	}{
		{"active", cases.StateActive, since, []row{{actionInEffect, tc0.Add(time.Hour), "effective"}, {State: actionScheduled}, {State: actionOpen}, {State: actionOver}}},
		{"approved", cases.StateApproved, nil, []row{{State: actionOpen, Verdict: "effective"}, {State: actionScheduled}, {State: actionOpen}, {State: actionOver}}},
		{"revoked", cases.StateRevoked, nil, []row{{State: actionOver, Verdict: "effective"}, {State: actionOver}, {State: actionOver}, {State: actionOver}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c.State = tt.state
			if diff := cmp.Diff(summary(actionViews(c, tt.since, now)), tt.want); diff != "" {
				t.Errorf("(-got, +want):\n%s", diff)
			}
		})
	}
}

func TestTally(t *testing.T) {
	c := cases.Case{ID: "c-1", Version: 2}
	a := func(who string, d cases.Decision, version int, at time.Duration) cases.Approval {
		return cases.Approval{Case: "c-1", Version: version, Commissioner: who, Decision: d, SignedAt: tc0.Add(at)}
	}
	for _, tt := range []struct {
		name string
		as   []cases.Approval
		want tallyView
	}{
		{"none", nil, tallyView{Approvers: []string{}, Rejecters: []string{}}},
		{"two approve", []cases.Approval{a("carol", cases.DecisionApprove, 2, 0), a("bob", cases.DecisionApprove, 2, time.Minute)},
			tallyView{Approvals: 2, Approvers: []string{"bob", "carol"}, Rejecters: []string{}}},
		{"old version ignored", []cases.Approval{a("carol", cases.DecisionApprove, 1, 0)},
			tallyView{Approvers: []string{}, Rejecters: []string{}}},
		{"latest decision counts", []cases.Approval{a("carol", cases.DecisionApprove, 2, 0), a("carol", cases.DecisionReject, 2, time.Minute)},
			tallyView{Rejections: 1, Approvers: []string{}, Rejecters: []string{"carol"}}},
		{"reject wins a tie", []cases.Approval{a("carol", cases.DecisionReject, 2, 0), a("carol", cases.DecisionApprove, 2, 0)},
			tallyView{Rejections: 1, Approvers: []string{}, Rejecters: []string{"carol"}}},
		{"other case ignored", []cases.Approval{{Case: "c-2", Version: 2, Commissioner: "x", Decision: cases.DecisionApprove}},
			tallyView{Approvers: []string{}, Rejecters: []string{}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tally(c, tt.as), tt.want); diff != "" {
				t.Errorf("(-got, +want):\n%s", diff)
			}
		})
	}
}

// TestCaseDetail checks what GET /api/v1/cases/{id} adds for the
// console, next to the cases.Record's own fields.
func TestCaseDetail(t *testing.T) {
	svc := casestest.New()
	c := caseIn(t, "c-1", cases.StateActive, false)
	svc.Put(c)
	policy := &cases.Policy{Quorum: 2, Commissioners: []string{"k1", "k2", "k3"}}
	srv := httptest.NewServer(New(Deps{Auth: tokenAuth{}, Cases: svc, Policy: policy, VerifyWindow: 5 * time.Minute, Now: func() time.Time { return tc0.Add(time.Hour) },
		InEffect: func(context.Context) ([]enforce.Item, error) {
			return []enforce.Item{{Case: cases.Case{ID: "c-1"}, Index: 0, Since: tc0}, {Case: cases.Case{ID: "c-9"}, Index: 0}}, nil
		}}))
	t.Cleanup(srv.Close)
	status, body, _ := sendRequest(t, srv, http.MethodGet, "/api/v1/cases/c-1", "tok-auditor", nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var got struct {
		Case      cases.Case       `json:"case"`
		Approvals []cases.Approval `json:"approvals"`
		Payload   json.RawMessage  `json:"payload"`
		Policy    *policyView      `json:"policy"`
		Verify    *verifyView      `json:"verify"`
		Tally     *tallyView       `json:"tally"`
		Actions   []struct {
			Index     int       `json:"index"`
			Type      string    `json:"type"`
			NotBefore time.Time `json:"not_before"`
			NotAfter  time.Time `json:"not_after"`
			State     string    `json:"state"`
			Since     time.Time `json:"since"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Case.ID != "c-1" || got.Case.State != cases.StateActive || got.Approvals == nil || len(got.Payload) == 0 {
		t.Errorf("the record's fields: %s", body)
	}
	if got.Policy == nil || *got.Policy != (policyView{Quorum: 2, Commissioners: 3}) || got.Tally == nil {
		t.Errorf("policy %+v tally %+v", got.Policy, got.Tally)
	}
	if got.Verify == nil || got.Verify.WindowS != 300 {
		t.Errorf("verify %+v, want window_s 300", got.Verify)
	}
	if len(got.Actions) != 1 || got.Actions[0].Type != "block" || got.Actions[0].State != actionInEffect ||
		!got.Actions[0].Since.Equal(tc0) || !got.Actions[0].NotAfter.Equal(c.Actions[0].NotAfter) {
		t.Errorf("actions %+v", got.Actions)
	}
}
