package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/casestest"
	"github.com/acd-org/acd/enforce/reidentify"

	"github.com/acd-org/acd/store"
)

type fakeEnforcement struct{}

func (fakeEnforcement) EnforcementStatus(context.Context) (any, error) {
	return map[string]any{"adapters": []map[string]any{{"adapter": "bgp", "desired": 3}}}, nil
}

func TestEnforcementStatus(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		role store.Role
		want int
	}{
		{store.RoleOperator, http.StatusOK}, {store.RoleAnalyst, http.StatusOK}, {store.RoleAuditor, http.StatusOK},
		{store.RolePartner, http.StatusForbidden}, {store.RoleReportingOperator, http.StatusForbidden},
	} {
		resp, body := f.do(t, http.MethodGet, "/api/v1/enforcement", f.tokens[tt.role])
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.role, resp.StatusCode, tt.want)
		}
		if tt.want == http.StatusOK {
			ads, _ := body["adapters"].([]any)
			if len(ads) != 1 || ads[0].(map[string]any)["adapter"] != "bgp" {
				t.Errorf("%s: body %v", tt.role, body)
			}
		}
	}
	if resp, _ := f.do(t, http.MethodGet, "/api/v1/enforcement", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", resp.StatusCode)
	}
}

func TestReidentifiedRoles(t *testing.T) {
	f := newFixture(t) // no cases service: allowed roles get 503
	for role, want := range map[store.Role]int{
		store.RoleAnalyst: http.StatusServiceUnavailable, store.RoleAdmin: http.StatusServiceUnavailable,
		store.RoleAuditor: http.StatusForbidden, store.RoleCommissioner: http.StatusForbidden, store.RolePartner: http.StatusForbidden,
	} {
		if resp, _ := f.do(t, http.MethodGet, "/api/v1/cases/c-1/reidentified", f.tokens[role]); resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", role, resp.StatusCode, want)
		}
	}
}

// reidFake is a cases service that also answers re-identifications.
type reidFake struct{ *casestest.Fake }

func (reidFake) Reidentified(context.Context, string, string) ([]reidentify.Result, error) {
	return []reidentify.Result{{Action: 0}}, nil
}

func TestReidentifiedRequesterOnly(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	tok := map[string]string{}
	for name, role := range map[string]store.Role{"ann": store.RoleAnalyst, "bea": store.RoleAnalyst, "root": store.RoleAdmin} {
		var err error
		if tok[name], err = db.CreateToken(ctx, name, role); err != nil {
			t.Fatal(err)
		}
	}
	svc := casestest.New()
	c := cases.New("c-1", "ann", time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	svc.Put(c)
	mux := http.NewServeMux()
	mux.Handle("/api/", New(Deps{Auth: db, Cases: reidFake{svc}}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for who, want := range map[string]int{"ann": http.StatusOK, "bea": http.StatusForbidden, "root": http.StatusOK} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/cases/c-1/reidentified", nil)
		req.Header.Set("Authorization", "Bearer "+tok[who])
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", who, resp.StatusCode, want)
		}
	}
}
