package api

import (
	"context"
	"net/http"
	"testing"

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
