package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/taxii"
	"github.com/acd-org/acd/store"
)

// indicatorJSON is a minimal STIX indicator n marked with tlp (none: no
// marking).
func indicatorJSON(n int, tlp stix.TLP) []byte {
	marking := ""
	if tlp.Valid() {
		marking = fmt.Sprintf(`,"object_marking_refs":[%q]`, tlp.MarkingID())
	}
	return fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-0000-4000-8000-000000000000",`+
		`"created":"2026-03-01T12:00:00.000Z","modified":"2026-03-01T12:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.%d']",`+
		`"pattern_type":"stix","valid_from":"2026-03-01T12:00:00Z"%s}`, n, n, marking)
}

// sharingFixture is the API over a store with partners, their outgoing
// objects, and the exchange's metrics.
func sharingFixture(t *testing.T) (*httptest.Server, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db := openStore(t)
	for _, p := range []struct {
		name, out string
		tlp       stix.TLP
	}{{"allied", "out-allied", stix.TLPGreen}, {"quiet", "out-quiet", stix.TLPClear}} {
		a := share.DefaultAgreement()
		a.Partner, a.Outgoing.Collections, a.Outgoing.MaxTLP, a.Outgoing.Delay = p.name, []string{p.out}, p.tlp, time.Hour
		a.Incoming.Collections = []string{"in-" + p.name}
		if _, err := db.AddPartner(ctx, store.Partner{Name: p.name, Agreement: a, URL: "https://user:secret@taxii." + p.name + ".example/"}); err != nil {
			t.Fatal(err)
		}
	}
	var objs []taxii.Object
	for i, tlp := range []stix.TLP{stix.TLPClear, stix.TLPClear, stix.TLPGreen, 0} {
		o, err := taxii.ParseObject(indicatorJSON(i+1, tlp))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	ident, err := taxii.ParseObject([]byte(`{"type":"identity","spec_version":"2.1","id":"identity--00000000-0000-4000-8000-000000000001",` +
		`"created":"2026-03-01T12:00:00.000Z","modified":"2026-03-01T12:00:00.000Z","name":"acd"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.TAXII().AddObjects(ctx, "out-allied", append(objs, ident)); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	gv := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: mLastSync, Help: "h"}, []string{"partner"})
	cv := func(name string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "h"}, labels)
		reg.MustRegister(c)
		return c
	}
	reg.MustRegister(gv)
	gv.WithLabelValues("allied").Set(float64(tc0.Unix()))
	syncs := cv(mSyncs, "partner", "result")
	syncs.WithLabelValues("allied", "ok").Add(3)
	syncs.WithLabelValues("allied", "error").Add(1)
	out := cv(mOutgoing, "partner", "reason")
	out.WithLabelValues("allied", "ok").Add(3)
	out.WithLabelValues("allied", "tlp").Add(2)
	cv(mPublished, "partner").WithLabelValues("allied").Add(3)
	cv(mReceived, "partner").WithLabelValues("allied").Add(10)
	in := cv(mIncoming, "partner", "reason")
	in.WithLabelValues("allied", "ok").Add(7)
	in.WithLabelValues("allied", "revoked-ok").Add(1)
	in.WithLabelValues("allied", "age").Add(2)
	cv(mInSuspect, "partner", "op").WithLabelValues("allied", "added").Add(5)
	// The ledger: what the gates let in, by TLP (an object taken twice
	// counts once; a refused one not at all).
	for _, e := range []share.Entry{
		{ObjectID: "indicator--a", TLP: "green", Allowed: true, Reason: share.ReasonOK},
		{ObjectID: "indicator--a", TLP: "green", Allowed: true, Reason: share.ReasonUpdateOK},
		{ObjectID: "indicator--b", TLP: "amber", Allowed: true, Reason: share.ReasonOK},
		{ObjectID: "indicator--c", TLP: "clear", Allowed: false, Reason: "age"},
		{ObjectID: "indicator--d", Allowed: true, Reason: share.ReasonOK},
	} {
		e.Partner, e.Direction, e.At = "allied", share.In, tc0
		if err := db.ShareLedger().Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(New(Deps{Auth: tokenAuth{}, Sharing: db, Gatherer: reg}))
	t.Cleanup(srv.Close)
	return srv, db
}

func TestSharing(t *testing.T) {
	srv, _ := sharingFixture(t)
	status, body, _ := sendRequest(t, srv, http.MethodGet, "/api/v1/sharing", "tok-analyst", nil)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var rep sharingReport
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Running || len(rep.Partners) != 2 {
		t.Fatalf("running %v, %d partners", rep.Running, len(rep.Partners))
	}
	allied, quiet := rep.Partners[0], rep.Partners[1]
	if allied.Name != "allied" || quiet.Name != "quiet" {
		t.Fatalf("partners %s, %s", allied.Name, quiet.Name)
	}
	if allied.URL != "https://taxii.allied.example/" {
		t.Errorf("url %q: the user info must not be shown", allied.URL)
	}
	ag := allied.Agreement
	if ag.Outgoing.MaxTLP != "green" || ag.Outgoing.DelayS != 3600 || ag.Outgoing.Collections[0] != "out-allied" ||
		ag.Incoming.Trust != 50 || ag.Incoming.Collections[0] != "in-allied" {
		t.Errorf("agreement %+v", ag)
	}
	if !allied.LastPoll.Equal(tc0) {
		t.Errorf("last_poll %v, want %v", allied.LastPoll, tc0)
	}
	if diff := cmp.Diff(allied.Polls, map[string]int{"ok": 3, "error": 1}); diff != "" {
		t.Errorf("polls (-got, +want):\n%s", diff)
	}
	wantOut := objectsOut{Total: 4, ByTLP: map[string]int{"clear": 2, "green": 1, "none": 1}, Published: 3, Refused: 2,
		RefusedBy: map[string]int{"tlp": 2}}
	if diff := cmp.Diff(allied.ObjectsOut, wantOut); diff != "" {
		t.Errorf("allied objects_out (-got, +want):\n%s", diff)
	}
	wantIn := objectsIn{ByTLP: map[string]int{"green": 1, "amber": 1, "none": 1}, Received: 10, Accepted: 8, Refused: 2, RefusedBy: map[string]int{"age": 2}, SuspectsAdded: 5}
	if diff := cmp.Diff(allied.ObjectsIn, wantIn); diff != "" {
		t.Errorf("allied objects_in (-got, +want):\n%s", diff)
	}
	if quiet.ObjectsOut.Total != 0 || !quiet.LastPoll.IsZero() || len(quiet.Polls) != 0 {
		t.Errorf("quiet partner: %+v", quiet)
	}
	if rep.Totals.Partners != 2 || rep.Totals.ObjectsOut.Total != 4 || rep.Totals.ObjectsIn.Accepted != 8 ||
		rep.Totals.ObjectsOut.ByTLP["clear"] != 2 {
		t.Errorf("totals %+v", rep.Totals)
	}
}

func TestSharingAccess(t *testing.T) {
	srv, _ := sharingFixture(t)
	bare := httptest.NewServer(New(Deps{Auth: tokenAuth{}}))
	t.Cleanup(bare.Close)
	for _, tt := range []struct {
		name, role, path string
		srv              *httptest.Server
		want             int
	}{
		{"analyst", "analyst", "/api/v1/sharing", srv, http.StatusOK},
		{"commissioner", "commissioner", "/api/v1/sharing", srv, http.StatusOK},
		{"operator", "operator", "/api/v1/sharing", srv, http.StatusOK},
		{"auditor", "auditor", "/api/v1/sharing", srv, http.StatusOK},
		{"admin", "admin", "/api/v1/sharing", srv, http.StatusOK},
		{"partner", "partner", "/api/v1/sharing", srv, http.StatusForbidden},
		{"reporting operator", "reporting-operator", "/api/v1/sharing", srv, http.StatusForbidden},
		{"parameter", "analyst", "/api/v1/sharing?partner=x", srv, http.StatusBadRequest},
		{"no store", "analyst", "/api/v1/sharing", bare, http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, body, _ := sendRequest(t, tt.srv, http.MethodGet, tt.path, "tok-"+tt.role, nil); status != tt.want {
				t.Errorf("status %d, want %d (%s)", status, tt.want, body)
			}
		})
	}
}

func TestTLPOf(t *testing.T) {
	for _, tt := range []struct {
		name, raw, want string
	}{
		{"none", `{}`, "none"},
		{"not json", `{`, "none"},
		{"green", fmt.Sprintf(`{"object_marking_refs":[%q]}`, stix.TLPGreen.MarkingID()), "green"},
		{"highest wins", fmt.Sprintf(`{"object_marking_refs":[%q,%q]}`, stix.TLPClear.MarkingID(), stix.TLPAmber.MarkingID()), "amber"},
		{"other marking", `{"object_marking_refs":["marking-definition--00000000-0000-4000-8000-000000000000"]}`, "none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tlpOf(json.RawMessage(tt.raw)); got != tt.want {
				t.Errorf("tlpOf(%s) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}
