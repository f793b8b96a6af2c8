package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/intel/report"
	"github.com/acd-org/acd/intel/stix"
)

func incidentReport(operator string) report.Report {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	return report.Report{Operator: operator, Organization: "Tokyo Example Power Co.", Type: report.TypeDDoS,
		Title: "Volumetric attack on the customer portal", AffectedSystems: []string{"198.51.100.7"},
		Start: t0, End: t0.Add(40 * time.Minute), Detected: t0.Add(4 * time.Minute),
		Volumes: report.Volumes{PeakBps: 38e9, PeakPps: 9.5e6}, Vectors: []string{"ntp-reflection"},
		Indicators: []string{"203.0.113.5"}, TLP: stix.TLPAmber, Status: report.StatusReceived, Received: t0.Add(time.Hour)}
}

func TestIncidents(t *testing.T) {
	ctx := context.Background()
	db, _ := auditStore(t, 4)
	a1, r1, err := db.AddIncident(ctx, incidentReport("op-power"))
	if err != nil {
		t.Fatal(err)
	}
	a2, _, err := db.AddIncident(ctx, incidentReport("op-rail"))
	if err != nil {
		t.Fatal(err)
	}
	if a1.ID == a2.ID || a1.Status != report.StatusAcknowledged || r1.ID != a1.ID {
		t.Fatalf("acks %+v %+v", a1, a2)
	}
	bad := incidentReport("op-power")
	bad.Type = "meteor"
	if _, _, err := db.AddIncident(ctx, bad); err == nil {
		t.Error("an invalid report was filed")
	}
	all, err := db.Incidents(ctx, "", 0)
	if err != nil || len(all) != 2 || all[0].ID != a2.ID {
		t.Fatalf("all = %v, %v", len(all), err)
	}
	own, _ := db.Incidents(ctx, "op-power", 0)
	if len(own) != 1 || own[0].Operator != "op-power" {
		t.Fatalf("own = %+v", own)
	}
	if got, err := db.Incident(ctx, a1.ID); err != nil || got.Title != r1.Title {
		t.Fatalf("incident: %+v %v", got, err)
	}
	if _, err := db.Incident(ctx, "IR-1999-000001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if es, _ := db.ListAudit(ctx, audit.Filter{Action: "incident.report"}); len(es) != 2 {
		t.Errorf("audit entries %d", len(es))
	}
	shared, err := db.ShareIncident(ctx, a1.ID, "ana")
	if err != nil || shared.Status != report.StatusShared {
		t.Fatalf("share: %+v %v", shared.Status, err)
	}
	if got, _ := db.Incident(ctx, a1.ID); got.Status != report.StatusShared {
		t.Errorf("stored status %s", got.Status)
	}
	if _, err := db.ShareIncident(ctx, "IR-1999-000001", "ana"); !errors.Is(err, ErrNotFound) {
		t.Errorf("share unknown: %v", err)
	}
}
