package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestOversight(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	add := func(action string, at time.Duration, data json.RawMessage) {
		write(t, db, func(tx *sql.Tx) error {
			_, err := Append(ctx, tx, Entry{Actor: "x", Action: action, Time: t0.Add(at), Data: data})
			return err
		})
	}
	add(ActionCaseRequest, -time.Hour, Data(DataRoute, "art-21")) // before the period
	add(ActionCaseRequest, 0, Data(DataRoute, "art-21"))
	add(ActionCaseRequest, time.Minute, Data(DataRoute, "art-22"))
	add(ActionCaseApprove, 2*time.Minute, Data(DataRoute, "art-21"))
	add(ActionCaseApprove, 3*time.Minute, Data(DataRoute, "art-21"))
	add(ActionCaseReject, 4*time.Minute, Data(DataRoute, "art-22", "reason", "thin evidence"))
	add(ActionCaseEmergency, 5*time.Minute, Data(DataRoute, "urgent", DataType, "block"))
	add(ActionCaseReview, 6*time.Minute, nil)
	add(ActionCaseExecute, 7*time.Minute, Data(DataType, "rtbh"))
	add(ActionCaseExecute, 8*time.Minute, Data(DataType, "block"))
	add(ActionCaseExecute, 9*time.Minute, json.RawMessage(`[1]`)) // not an object
	add(ActionReidentify, 10*time.Minute, nil)
	add(ActionLogin, 11*time.Minute, nil)
	add(ActionCaseExecute, 24*time.Hour, Data(DataType, "block")) // at To: excluded

	o, err := OversightDB(ctx, db, t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if o.Entries != 12 || o.Requests != 2 || o.Approvals != 2 || o.Rejections != 1 || o.Emergencies != 1 ||
		o.Reviews != 1 || o.Executions != 3 || o.Reidentifications != 1 {
		t.Errorf("headline counts = %+v", o)
	}
	wantRoute := []Count{
		{ActionCaseApprove, "art-21", 2}, {ActionCaseEmergency, "urgent", 1}, {ActionCaseReject, "art-22", 1},
		{ActionCaseRequest, "art-21", 1}, {ActionCaseRequest, "art-22", 1}, {ActionCaseReview, "-", 1},
	}
	if !equalCounts(o.ByRoute, wantRoute) {
		t.Errorf("by route = %v, want %v", o.ByRoute, wantRoute)
	}
	wantType := []Count{{ActionCaseEmergency, "block", 1}, {ActionCaseExecute, "-", 1}, {ActionCaseExecute, "block", 1}, {ActionCaseExecute, "rtbh", 1}}
	if !equalCounts(o.ByType, wantType) {
		t.Errorf("by type = %v, want %v", o.ByType, wantType)
	}
	var tbl bytes.Buffer
	if err := o.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"approval requests", "art-22", "rtbh", "re-identifications"} {
		if !strings.Contains(tbl.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tbl.String())
		}
	}
	b, _ := json.Marshal(o)
	if !strings.Contains(string(b), `"approval_requests":2`) {
		t.Errorf("JSON = %s", b)
	}
	if _, err := OversightDB(ctx, db, t0, t0); err == nil {
		t.Error("an empty period was accepted")
	}
}

func equalCounts(a, b []Count) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
