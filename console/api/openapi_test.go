package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/acd-org/acd/store"
)

// TestOpenAPIMatchesHandler checks the document against the handler:
// every documented operation, called by every role (and without
// credentials), answers with a status the document lists for it, and the
// document is served at /api/v1/openapi.json.
func TestOpenAPIMatchesHandler(t *testing.T) {
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Paths) == 0 {
		t.Fatalf("openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	f := newFixture(t)
	samples := map[string]string{"address": "192.0.2.1", "id": "c-1", "name": "nobody", "key_id": "0123456789abcdef"}
	principals := map[string]string{"none": ""}
	for _, r := range store.Roles() {
		principals[string(r)] = f.tokens[r]
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			url := path
			for _, p := range op.Parameters {
				if p.In == "path" {
					url = strings.ReplaceAll(url, "{"+p.Name+"}", samples[p.Name])
				}
			}
			for who, tok := range principals {
				req, _ := http.NewRequest(strings.ToUpper(method), f.srv.URL+url, nil)
				if tok != "" {
					req.Header.Set("Authorization", "Bearer "+tok)
				}
				resp, err := f.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if _, ok := op.Responses[strconv.Itoa(resp.StatusCode)]; !ok {
					t.Errorf("%s %s as %s: status %d is not documented", method, path, who, resp.StatusCode)
				}
			}
		}
	}
	resp, _ := f.do(t, http.MethodGet, "/api/v1/openapi.json", f.tokens[store.RolePartner])
	if resp.StatusCode != http.StatusOK {
		t.Errorf("openapi.json: status %d", resp.StatusCode)
	}
}
