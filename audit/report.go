package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Oversight is what an oversight commission reports for a period: how
// many approvals were requested, granted and refused (per legal route),
// emergency actions and their reviews, re-identifications, and actions
// carried out by type. It counts audit entries; the route and type come
// from the entries' Data (keys DataRoute and DataType).
type Oversight struct {
	// From and To bound the period: From <= time < To.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Entries is the number of entries in the period.
	Entries int64 `json:"entries"`

	Requests          int64 `json:"approval_requests"`
	Approvals         int64 `json:"approvals"`
	Rejections        int64 `json:"rejections"`
	Withdrawals       int64 `json:"withdrawals"`
	Emergencies       int64 `json:"emergency_actions"`
	Reviews           int64 `json:"emergency_reviews"`
	Rollbacks         int64 `json:"emergency_rollbacks"`
	Reidentifications int64 `json:"reidentifications"`
	Executions        int64 `json:"actions_executed"`
	Revocations       int64 `json:"actions_revoked"`
	Refusals          int64 `json:"gate_refusals"`
	Shares            int64 `json:"shares"`

	// ByAction counts every action; ByRoute the case decisions per route;
	// ByType the executed and emergency actions per type.
	ByAction []Count `json:"by_action"`
	ByRoute  []Count `json:"by_route"`
	ByType   []Count `json:"by_type"`
}

// Count is one row of a breakdown: Key is the route or type (empty for
// ByAction), "-" when the entry did not say.
type Count struct {
	Action string `json:"action"`
	Key    string `json:"key,omitempty"`
	Count  int64  `json:"count"`
}

// routed are the actions counted per route.
var routed = []string{ActionCaseRequest, ActionCaseApprove, ActionCaseReject, ActionCaseEmergency, ActionCaseReview}

// typed are the actions counted per type.
var typed = []string{ActionCaseExecute, ActionCaseEmergency, ActionCaseRevoke, ActionCaseRollback, ActionGateRefuse}

// OversightBuilder accumulates an Oversight from entries.
type OversightBuilder struct {
	o        Oversight
	byAction map[string]int64
	byRoute  map[[2]string]int64
	byType   map[[2]string]int64
}

// NewOversightBuilder starts a report for [from, to).
func NewOversightBuilder(from, to time.Time) *OversightBuilder {
	return &OversightBuilder{o: Oversight{From: from.UTC(), To: to.UTC()},
		byAction: map[string]int64{}, byRoute: map[[2]string]int64{}, byType: map[[2]string]int64{}}
}

// Add counts e if it falls in the period.
func (b *OversightBuilder) Add(e Entry) {
	if e.Time.Before(b.o.From) || !e.Time.Before(b.o.To) {
		return
	}
	b.o.Entries++
	b.byAction[e.Action]++
	if c := b.counter(e.Action); c != nil {
		*c++
	}
	if !slices.Contains(routed, e.Action) && !slices.Contains(typed, e.Action) {
		return
	}
	var d map[string]any
	_ = json.Unmarshal(e.Data, &d) // not an object: counted under "-"
	str := func(k string) string {
		if s, ok := d[k].(string); ok && s != "" {
			return s
		}
		return "-"
	}
	if slices.Contains(routed, e.Action) {
		b.byRoute[[2]string{e.Action, str(DataRoute)}]++
	}
	if slices.Contains(typed, e.Action) {
		b.byType[[2]string{e.Action, str(DataType)}]++
	}
}

// counter returns the headline counter of an action, if it has one.
func (b *OversightBuilder) counter(action string) *int64 {
	o := &b.o
	switch action {
	case ActionCaseRequest:
		return &o.Requests
	case ActionCaseApprove:
		return &o.Approvals
	case ActionCaseReject:
		return &o.Rejections
	case ActionCaseWithdraw:
		return &o.Withdrawals
	case ActionCaseEmergency:
		return &o.Emergencies
	case ActionCaseReview:
		return &o.Reviews
	case ActionCaseRollback:
		return &o.Rollbacks
	case ActionReidentify:
		return &o.Reidentifications
	case ActionCaseExecute:
		return &o.Executions
	case ActionCaseRevoke:
		return &o.Revocations
	case ActionGateRefuse:
		return &o.Refusals
	case ActionShare:
		return &o.Shares
	}
	return nil
}

// Report returns the counts, breakdowns sorted by action then key.
func (b *OversightBuilder) Report() Oversight {
	o := b.o
	o.ByAction, o.ByRoute, o.ByType = []Count{}, []Count{}, []Count{}
	for a, n := range b.byAction {
		o.ByAction = append(o.ByAction, Count{Action: a, Count: n})
	}
	for k, n := range b.byRoute {
		o.ByRoute = append(o.ByRoute, Count{Action: k[0], Key: k[1], Count: n})
	}
	for k, n := range b.byType {
		o.ByType = append(o.ByType, Count{Action: k[0], Key: k[1], Count: n})
	}
	for _, s := range [][]Count{o.ByAction, o.ByRoute, o.ByType} {
		slices.SortFunc(s, func(x, y Count) int {
			if c := strings.Compare(x.Action, y.Action); c != 0 {
				return c
			}
			return strings.Compare(x.Key, y.Key)
		})
	}
	return o
}

// OversightDB counts the entries in q with from <= time < to.
func OversightDB(ctx context.Context, q Querier, from, to time.Time) (Oversight, error) {
	if !from.Before(to) {
		return Oversight{}, fmt.Errorf("audit: report period: from %v is not before to %v", from, to)
	}
	b := NewOversightBuilder(from, to)
	rows, err := q.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_entries WHERE time >= ? AND time < ? ORDER BY seq`, from.UnixNano(), to.UnixNano())
	if err != nil {
		return Oversight{}, fmt.Errorf("audit: unable to read entries: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return Oversight{}, fmt.Errorf("audit: unable to read entries: %w", err)
		}
		b.Add(e)
	}
	if err := rows.Err(); err != nil {
		return Oversight{}, fmt.Errorf("audit: unable to read entries: %w", err)
	}
	return b.Report(), nil
}

// WriteTable writes o for a person: the headline counts, then the
// breakdowns.
func (o Oversight) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Oversight report %s to %s (%d audit entries)\n\n", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339), o.Entries)
	for _, r := range []struct {
		name string
		n    int64
	}{
		{"approval requests", o.Requests}, {"approvals", o.Approvals}, {"rejections", o.Rejections},
		{"withdrawals", o.Withdrawals}, {"emergency actions", o.Emergencies}, {"emergency reviews", o.Reviews},
		{"emergency rollbacks", o.Rollbacks}, {"re-identifications", o.Reidentifications},
		{"actions executed", o.Executions}, {"actions revoked", o.Revocations}, {"refused at the gate", o.Refusals},
		{"shares", o.Shares},
	} {
		fmt.Fprintf(tw, "%s\t%d\n", r.name, r.n)
	}
	section := func(title, key string, cs []Count) {
		fmt.Fprintf(tw, "\n%s\n", title)
		if len(cs) == 0 {
			fmt.Fprintln(tw, "  (none)")
			return
		}
		if key == "" {
			fmt.Fprintln(tw, "  ACTION\tCOUNT")
		} else {
			fmt.Fprintf(tw, "  ACTION\t%s\tCOUNT\n", key)
		}
		for _, c := range cs {
			if key == "" {
				fmt.Fprintf(tw, "  %s\t%d\n", c.Action, c.Count)
			} else {
				fmt.Fprintf(tw, "  %s\t%s\t%d\n", c.Action, c.Key, c.Count)
			}
		}
	}
	section("Decisions by route", "ROUTE", o.ByRoute)
	section("Actions by type", "TYPE", o.ByType)
	section("All entries by action", "", o.ByAction)
	return tw.Flush()
}
