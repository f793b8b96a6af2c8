package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db.now = func() time.Time { return now }

	secret, err := db.CreateToken(ctx, "ci", RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "acd_") || len(secret) != 4+43 {
		t.Errorf("secret %q: want acd_ and 43 base64url characters", secret)
	}
	if _, err := db.CreateToken(ctx, "ci", RoleAdmin); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate name: %v, want ErrExists", err)
	}
	p, err := db.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "ci" || p.Kind != KindToken || len(p.Roles) != 1 || p.Roles[0] != "analyst" || !p.HasRole(RoleAnalyst) || p.HasRole(RoleAdmin) {
		t.Errorf("principal = %+v", p)
	}
	// The hash, not the secret, is stored.
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens WHERE hash = ? OR hash = ?`, secret, []byte(secret)).Scan(&n); err != nil || n != 0 {
		t.Errorf("secret stored in clear (%d, %v)", n, err)
	}
	for _, bad := range []string{"", "acd_", secret[:len(secret)-1], "xyz" + secret[3:], secret + "A", "acd_" + strings.Repeat("A", 43)} {
		if _, err := db.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v, want ErrUnauthenticated", bad, err)
		}
	}

	ts, err := db.ListTokens(ctx)
	if err != nil || len(ts) != 1 {
		t.Fatalf("list = %v, %v", ts, err)
	}
	if ts[0].Name != "ci" || ts[0].Role != RoleAnalyst || !ts[0].Created.Equal(now) || !ts[0].LastUsed.Equal(now) || !ts[0].RevokedAt.IsZero() {
		t.Errorf("token = %+v", ts[0])
	}

	now = now.Add(time.Hour)
	if err := db.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeToken(ctx, "ci"); err != nil {
		t.Errorf("second revoke: %v", err)
	}
	if err := db.RevokeToken(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoke unknown: %v, want ErrNotFound", err)
	}
	if _, err := db.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked token: %v", err)
	}
	ts, _ = db.ListTokens(ctx)
	if !ts[0].RevokedAt.Equal(now) {
		t.Errorf("revoked_at = %v, want %v", ts[0].RevokedAt, now)
	}
	// A revoked name can be reused; the old secret stays dead.
	s2, err := db.CreateToken(ctx, "ci", RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := db.Authenticate(ctx, s2); err != nil || p.Roles[0] != "operator" {
		t.Errorf("new token: %+v, %v", p, err)
	}
	if _, err := db.Authenticate(ctx, secret); err == nil {
		t.Error("old secret authenticates after its name was reused")
	}
}

func TestCreateTokenValidates(t *testing.T) {
	db := openTest(t)
	for _, tt := range []struct {
		name string
		role Role
		want string
	}{
		{"", RoleAnalyst, "invalid token name"},
		{"-x", RoleAnalyst, "invalid token name"},
		{"a b", RoleAnalyst, "invalid token name"},
		{strings.Repeat("a", 65), RoleAnalyst, "invalid token name"},
		{"ok", "root", `unknown role "root"`},
	} {
		if _, err := db.CreateToken(context.Background(), tt.name, tt.role); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CreateToken(%q, %q) = %v, want %q", tt.name, tt.role, err, tt.want)
		}
	}
}

func TestLastUsedThrottled(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db.now = func() time.Time { return now }
	secret, _ := db.CreateToken(ctx, "ci", RoleAnalyst)
	used := func() time.Time {
		ts, _ := db.ListTokens(ctx)
		return ts[0].LastUsed
	}
	if !used().IsZero() {
		t.Error("last used before any use")
	}
	first := now
	_, _ = db.Authenticate(ctx, secret)
	now = now.Add(30 * time.Second)
	_, _ = db.Authenticate(ctx, secret)
	if !used().Equal(first) {
		t.Errorf("last used = %v, want %v (updated at most once a minute)", used(), first)
	}
	now = now.Add(time.Minute)
	_, _ = db.Authenticate(ctx, secret)
	if !used().Equal(now) {
		t.Errorf("last used = %v, want %v", used(), now)
	}
}
