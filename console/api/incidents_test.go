package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/store"
)

func TestIncidentEndpoints(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	tok := map[string]string{}
	for name, role := range map[string]store.Role{"op-power": store.RoleReportingOperator, "op-rail": store.RoleReportingOperator,
		"ana": store.RoleAnalyst, "pa": store.RolePartner} {
		var err error
		if tok[name], err = db.CreateToken(ctx, name, role); err != nil {
			t.Fatal(err)
		}
	}
	book := detect.NewBook(10, nil)
	k, _ := detect.ParseKey("203.0.113.5")
	book.Add(detect.Finding{Addr: k.Addr, Role: detect.RoleReflector, Evidence: detect.Evidence{Detector: "reflection", Score: 0.8, Reason: "ntp"}})
	mux := http.NewServeMux()
	mux.Handle("/api/", New(Deps{Auth: db, Book: book, Incidents: db,
		Domestic: func(a netip.Addr) bool { return netip.MustParsePrefix("198.51.100.0/24").Contains(a) }}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(method, path, who string, body any, out any) int {
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok[who])
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	rep := map[string]any{"organization": "Tokyo Example Power Co.", "type": "ddos", "title": "Portal flooded",
		"affected_systems": []string{"198.51.100.7"}, "start": "2026-11-26T09:00:00Z", "detected": "2026-11-26T09:04:00Z",
		"observed_volumes": map[string]any{"peak_bps": 38e9}, "vectors": []string{"ntp-reflection"},
		"indicators": []string{"203.0.113.5", "198.51.100.9"}, "tlp": "amber"}
	var filed struct {
		Ack struct {
			ID string `json:"id"`
		} `json:"ack"`
		Matches []map[string]any `json:"matches"`
	}
	var msg map[string]any
	if code := do("POST", "/api/v1/incidents", "op-power", rep, &msg); code != http.StatusCreated {
		t.Fatalf("file: %d %v", code, msg)
	}
	if code := do("POST", "/api/v1/incidents", "op-power", rep, &filed); code != http.StatusCreated || filed.Ack.ID == "" {
		t.Fatalf("file: %d %+v", code, filed)
	}
	if len(filed.Matches) == 0 {
		t.Error("the reflector in the indicators did not correlate with the suspect")
	}
	if code := do("POST", "/api/v1/incidents", "ana", rep, nil); code != http.StatusForbidden {
		t.Errorf("an analyst filing: %d", code)
	}
	bad := map[string]any{"type": "meteor"}
	if code := do("POST", "/api/v1/incidents", "op-power", bad, nil); code != http.StatusBadRequest {
		t.Errorf("an invalid report: %d", code)
	}
	var one map[string]any
	if code := do("GET", "/api/v1/incidents/"+filed.Ack.ID, "op-power", nil, &one); code != 200 || one["operator"] != "op-power" {
		t.Fatalf("own report: %d %v", code, one)
	}
	if code := do("GET", "/api/v1/incidents/"+filed.Ack.ID, "op-rail", nil, nil); code != http.StatusNotFound {
		t.Errorf("another operator's report: %d", code)
	}
	var list struct {
		Incidents []map[string]any `json:"incidents"`
	}
	if code := do("GET", "/api/v1/incidents", "op-rail", nil, &list); code != 200 || len(list.Incidents) != 0 {
		t.Errorf("another operator's list: %d %d", code, len(list.Incidents))
	}
	if code := do("GET", "/api/v1/incidents", "ana", nil, &list); code != 200 || len(list.Incidents) != 2 {
		t.Errorf("the analyst's list: %d %d", code, len(list.Incidents))
	}
	if code := do("GET", "/api/v1/incidents", "pa", nil, nil); code != http.StatusForbidden {
		t.Errorf("a partner: %d", code)
	}
	if code := do("GET", "/api/v1/incidents/ddos?victim=203.0.113.5&operator=op&organization=org", "ana", nil, nil); code != http.StatusNotFound {
		t.Errorf("a reflector is no DDoS victim: %d", code)
	}
}
