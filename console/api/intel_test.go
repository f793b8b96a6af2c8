package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/acd-org/acd/store"
)

type fakeIntel struct{ revoked []string }

func (f *fakeIntel) Partners(context.Context) (any, error) {
	return []map[string]any{{"name": "us", "max_tlp": "amber"}}, nil
}

func (f *fakeIntel) SyncPartner(_ context.Context, name string) (any, error) {
	if name != "us" {
		return nil, fmt.Errorf("partner %q: %w", name, ErrNoPartner)
	}
	return map[string]int{"received": 3}, nil
}

func (f *fakeIntel) RevokeShared(_ context.Context, target, reason, by string) (int, error) {
	f.revoked = append(f.revoked, target+"|"+reason+"|"+by)
	return 4, nil
}

func TestIntelEndpoints(t *testing.T) {
	db := openStore(t)
	ctx := context.Background()
	tok := map[store.Role]string{}
	for _, r := range store.Roles() {
		var err error
		if tok[r], err = db.CreateToken(ctx, "t-"+string(r), r); err != nil {
			t.Fatal(err)
		}
	}
	fi := &fakeIntel{}
	mux := http.NewServeMux()
	mux.Handle("/api/", New(Deps{Auth: db, Intel: fi}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(method, path, token, body string) int {
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		method, path string
		role         store.Role
		body         string
		want         int
	}{
		{"GET", "/api/v1/partners", store.RoleAuditor, "", 200},
		{"GET", "/api/v1/partners", store.RolePartner, "", 403},
		{"POST", "/api/v1/partners/us/sync", store.RoleOperator, "", 200},
		{"POST", "/api/v1/partners/fr/sync", store.RoleOperator, "", 404},
		{"POST", "/api/v1/partners/us/sync", store.RoleAnalyst, "", 403},
		{"POST", "/api/v1/intel/revoke", store.RoleAnalyst, `{"target":"100.65.0.1","reason":"false positive"}`, 200},
		{"POST", "/api/v1/intel/revoke", store.RoleAnalyst, `{"target":"100.65.0.1"}`, 400},
		{"POST", "/api/v1/intel/revoke", store.RoleOperator, `{"target":"100.65.0.1","reason":"x"}`, 403},
	} {
		if got := do(tt.method, tt.path, tok[tt.role], tt.body); got != tt.want {
			t.Errorf("%s %s as %s: %d, want %d", tt.method, tt.path, tt.role, got, tt.want)
		}
	}
	if len(fi.revoked) != 1 || fi.revoked[0] != "100.65.0.1|false positive|t-analyst" {
		t.Errorf("revoked %v", fi.revoked)
	}
}
