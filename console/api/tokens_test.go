package api

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/store"
)

func TestTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var created newToken
	f.admin(t, "POST", "/api/v1/tokens", map[string]string{"name": "grafana", "role": "auditor"}, 201, &created)
	if created.Token.Name != "grafana" || created.Token.Role != store.RoleAuditor || created.Token.Created.IsZero() ||
		!strings.HasPrefix(created.Secret, store.TokenPrefix) {
		t.Fatalf("created %+v", created)
	}
	// The secret works, with the role asked for.
	if status, data := f.send(t, "GET", "/api/v1/audit?limit=1", created.Secret, nil); status != 200 {
		t.Errorf("the new auditor token: %d %s", status, data)
	}
	if status, _ := f.send(t, "GET", "/api/v1/tokens", created.Secret, nil); status != 403 {
		t.Errorf("the new auditor token listed tokens: %d", status)
	}
	// The listing has it and no secret or hash.
	_, raw := f.send(t, "GET", "/api/v1/tokens", f.tokens[store.RoleAdmin], nil)
	secretPart := strings.TrimPrefix(created.Secret, store.TokenPrefix)
	if bytes.Contains(raw, []byte(secretPart)) || bytes.Contains(raw, []byte("hash")) {
		t.Errorf("GET /api/v1/tokens shows a secret or hash: %s", raw)
	}
	var list tokenList
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list.Tokens, func(tk store.Token) bool { return tk.Name == "grafana" })
	if i < 0 || len(list.Tokens) != len(store.Roles())+1 {
		t.Fatalf("tokens %+v", list.Tokens)
	}
	// A valid token's name is taken.
	status, data := f.send(t, "POST", "/api/v1/tokens", f.tokens[store.RoleAdmin], map[string]string{"name": "grafana", "role": "analyst"})
	if status != 409 || !strings.Contains(string(data), "revoke it first") {
		t.Errorf("duplicate token: %d %s", status, data)
	}
	// Revoked, the secret no longer works; revoking twice is no error.
	var tk store.Token
	f.admin(t, "DELETE", "/api/v1/tokens/grafana", nil, 200, &tk)
	if tk.RevokedAt.IsZero() {
		t.Errorf("revoked token %+v", tk)
	}
	f.admin(t, "DELETE", "/api/v1/tokens/grafana", nil, 200, nil)
	if status, _ := f.send(t, "GET", "/api/v1/audit", created.Secret, nil); status != 401 {
		t.Errorf("a revoked token: %d", status)
	}
	// A revoked name may be reused.
	f.admin(t, "POST", "/api/v1/tokens", map[string]string{"name": "grafana", "role": "analyst"}, 201, &created)
	// Every change is audited under the admin token, never with the secret.
	es, err := f.db.ListAudit(ctx, audit.Filter{Object: "token:grafana"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Actor+" "+e.Action)
		if strings.Contains(string(e.Data), secretPart) {
			t.Errorf("audit entry %d holds the secret", e.Seq)
		}
	}
	want := []string{"token:t-admin token.create", "token:t-admin token.revoke", "token:t-admin token.create"}
	if !slices.Equal(got, want) {
		t.Errorf("audit of token:grafana %v, want %v", got, want)
	}
}

func TestTokensBadInput(t *testing.T) {
	f := newFixture(t)
	f.refuses(t, []badInput{
		{"POST", "/api/v1/tokens", "", 400, "body: empty"},
		{"POST", "/api/v1/tokens", `{"name":"x"}`, 400, "role: empty"},
		{"POST", "/api/v1/tokens", `{"name":"x","role":"root"}`, 400, "role: unknown role"},
		{"POST", "/api/v1/tokens", `{"name":"x y","role":"analyst"}`, 400, "name: invalid token name"},
		{"POST", "/api/v1/tokens", `{"name":"x","role":"analyst","roles":["admin"]}`, 400, "roles: unknown field"},
		{"POST", "/api/v1/tokens", `{"name":"x","role":["analyst"]}`, 400, "role: a JSON array"},
		{"POST", "/api/v1/tokens", `not json`, 400, "body: not JSON"},
		{"DELETE", "/api/v1/tokens/nobody", nil, 404, `token "nobody": not found`},
		{"DELETE", "/api/v1/tokens/nobody?force=1", nil, 400, "force: unknown parameter"},
		{"GET", "/api/v1/tokens/t-admin", nil, 405, "method GET not allowed"},
		{"PATCH", "/api/v1/tokens", nil, 405, "method PATCH not allowed"},
	})
}
