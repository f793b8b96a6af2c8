package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/audit"
)

// openUsers opens a store with a cheap login policy and a clock the
// test moves (*now).
func openUsers(t *testing.T) (*DB, *time.Time) {
	t.Helper()
	db := openTest(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db.now = func() time.Time { return now }
	pol := DefaultLoginPolicy()
	pol.Argon2 = cheap
	if err := db.SetLoginPolicy(context.Background(), pol); err != nil {
		t.Fatal(err)
	}
	return db, &now
}

func TestLoginPolicy(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	p, err := db.LoginPolicy(ctx)
	if err != nil || p != DefaultLoginPolicy() {
		t.Errorf("new store's policy = %+v, %v; want the default %+v", p, err, DefaultLoginPolicy())
	}
	want := LoginPolicy{LockoutAfter: 3, LockoutFor: time.Hour, Argon2: Argon2Params{Memory: 256, Time: 2, Threads: 2}}
	if err := db.SetLoginPolicy(ctx, want); err != nil {
		t.Fatal(err)
	}
	if p, err := db.LoginPolicy(ctx); err != nil || p != want {
		t.Errorf("policy = %+v, %v; want %+v", p, err, want)
	}
	for _, bad := range []LoginPolicy{
		{LockoutAfter: 0, LockoutFor: time.Hour, Argon2: cheap},
		{LockoutAfter: 3, LockoutFor: 0, Argon2: cheap},
		{LockoutAfter: 3, LockoutFor: time.Hour, Argon2: Argon2Params{Memory: 8, Time: 1, Threads: 2}},
	} {
		if err := db.SetLoginPolicy(ctx, bad); err == nil || !strings.Contains(err.Error(), "login policy") {
			t.Errorf("SetLoginPolicy(%+v) = %v, want an error", bad, err)
		}
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	db, now := openUsers(t)
	if err := db.AddUser(ctx, "alice", []Role{RoleCommissioner, RoleAnalyst, RoleAnalyst}, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, password string
		roles                []Role
		want                 error
		wantSub              string
	}{
		{"taken", "alice", "another good password", []Role{RoleAdmin}, ErrExists, ""},
		{"taken other case", "ALICE", "another good password", []Role{RoleAdmin}, ErrExists, ""},
		{"bad name", "a b", "another good password", []Role{RoleAdmin}, nil, "invalid user name"},
		{"no role", "bob", "another good password", nil, nil, "at least one role"},
		{"unknown role", "bob", "another good password", []Role{"root"}, nil, `unknown role "root"`},
		{"short password", "bob", "short", []Role{RoleAdmin}, nil, "too short"},
		{"name as password", "bobbybobbybob", "BobbyBobbyBob", []Role{RoleAdmin}, nil, "user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.AddUser(ctx, tt.user, tt.roles, tt.password)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("AddUser = %v, want %v %q", err, tt.want, tt.wantSub)
			}
		})
	}
	// The hash, not the password, is stored, in PHC format.
	var hash string
	if err := db.r.QueryRowContext(ctx, `SELECT hash FROM users WHERE name = 'alice'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(hash, "correct horse") {
		t.Errorf("stored hash %q", hash)
	}

	p, err := db.AuthenticateUser(ctx, "alice", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "alice" || p.Kind != KindUser || !slices.Equal(p.Roles, []string{"analyst", "commissioner"}) {
		t.Errorf("principal = %+v", p)
	}
	// The name is case-insensitive; the principal has its stored form.
	if p, err := db.AuthenticateUser(ctx, "Alice", "correct horse battery"); err != nil || p.Name != "alice" {
		t.Errorf("case-insensitive name: %+v, %v", p, err)
	}
	us, err := db.ListUsers(ctx)
	if err != nil || len(us) != 1 {
		t.Fatalf("list = %+v, %v", us, err)
	}
	if u := us[0]; u.Name != "alice" || !u.Created.Equal(*now) || !u.LastLogin.Equal(*now) || u.Disabled || u.MustChange || !u.HasRole(RoleCommissioner) {
		t.Errorf("user = %+v", u)
	}

	// A new password replaces the old one.
	if err := db.SetPassword(ctx, "alice", "alice"); err == nil {
		t.Error("SetPassword accepted a bad password")
	}
	if err := db.SetPassword(ctx, "nobody", "another good password"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword unknown: %v", err)
	}
	if err := db.SetPassword(ctx, "alice", "another good password"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateUser(ctx, "alice", "correct horse battery"); !errors.Is(err, ErrLoginFailed) {
		t.Errorf("old password: %v", err)
	}
	if _, err := db.AuthenticateUser(ctx, "alice", "another good password"); err != nil {
		t.Errorf("new password: %v", err)
	}
}

func TestAuthenticateUserRefusals(t *testing.T) {
	ctx := context.Background()
	db, _ := openUsers(t)
	for _, name := range []string{"alice", "dora"} {
		if err := db.AddUser(ctx, name, []Role{RoleAnalyst}, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DisableUser(ctx, "dora"); err != nil {
		t.Fatal(err)
	}
	if err := db.DisableUser(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("disable unknown: %v", err)
	}
	tests := []struct{ name, user, password string }{
		{"wrong password", "alice", "correct horse batterY"},
		{"empty password", "alice", ""},
		{"unknown user", "bob", "correct horse battery"},
		{"empty user", "", "correct horse battery"},
		{"disabled", "dora", "correct horse battery"},
		{"disabled wrong password", "dora", "wrong wrong wrong"},
	}
	var msg string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.AuthenticateUser(ctx, tt.user, tt.password)
			if !errors.Is(err, ErrUnauthenticated) || !errors.Is(err, ErrLoginFailed) {
				t.Fatalf("AuthenticateUser = %v, want ErrLoginFailed wrapping ErrUnauthenticated", err)
			}
			// One message for every refusal: names cannot be probed.
			if msg == "" {
				msg = err.Error()
			} else if err.Error() != msg {
				t.Errorf("message %q differs from %q", err, msg)
			}
		})
	}
	if err := db.EnableUser(ctx, "dora"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateUser(ctx, "dora", "correct horse battery"); err != nil {
		t.Errorf("enabled again: %v", err)
	}
}

func TestLockout(t *testing.T) {
	ctx := context.Background()
	db, now := openUsers(t)
	pol, _ := db.LoginPolicy(ctx)
	pol.LockoutAfter, pol.LockoutFor = 3, 15*time.Minute
	if err := db.SetLoginPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	const good = "correct horse battery"
	if err := db.AddUser(ctx, "alice", []Role{RoleAnalyst}, good); err != nil {
		t.Fatal(err)
	}
	login := func(pw string) error { _, err := db.AuthenticateUser(ctx, "alice", pw); return err }
	user := func() User {
		u, err := db.User(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	// Two failures, then a success: the count starts over.
	_, _ = login("wrong"), login("wrong")
	if u := user(); u.FailedLogins != 2 || u.Locked(*now) {
		t.Errorf("after 2 failures: %+v", u)
	}
	if err := login(good); err != nil {
		t.Fatal(err)
	}
	if u := user(); u.FailedLogins != 0 {
		t.Errorf("success did not reset the count: %+v", u)
	}
	// Three failures in a row lock alice out, even with the right password.
	for range 3 {
		_ = login("wrong")
	}
	if u := user(); !u.Locked(*now) || !u.LockedUntil.Equal(now.Add(15*time.Minute)) {
		t.Fatalf("after 3 failures: %+v, want locked until %v", u, now.Add(15*time.Minute))
	}
	if err := login(good); !errors.Is(err, ErrLoginFailed) {
		t.Errorf("locked out, right password: %v", err)
	}
	// Failures while locked do not extend the lockout.
	*now = now.Add(14 * time.Minute)
	_ = login("wrong")
	if err := login(good); !errors.Is(err, ErrLoginFailed) {
		t.Errorf("after 14 minutes: %v", err)
	}
	*now = now.Add(time.Minute)
	if err := login(good); err != nil {
		t.Errorf("after the lockout: %v", err)
	}
	// SetPassword lifts a lockout.
	for range 3 {
		_ = login("wrong")
	}
	if err := db.SetPassword(ctx, "alice", "another good password"); err != nil {
		t.Fatal(err)
	}
	if err := login("another good password"); err != nil {
		t.Errorf("after SetPassword: %v", err)
	}
}

func TestLockoutConcurrent(t *testing.T) {
	ctx := context.Background()
	db, now := openUsers(t)
	if err := db.AddUser(ctx, "alice", []Role{RoleAnalyst}, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	// 10 concurrent failures lock alice out exactly once: the count is
	// updated atomically.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { _, _ = db.AuthenticateUser(ctx, "alice", "wrong") })
	}
	wg.Wait()
	if u, _ := db.User(ctx, "alice"); !u.Locked(*now) || u.FailedLogins != 0 {
		t.Errorf("after 10 concurrent failures: %+v", u)
	}
}

func TestRehash(t *testing.T) {
	ctx := context.Background()
	db, _ := openUsers(t)
	if err := db.AddUser(ctx, "alice", []Role{RoleAnalyst}, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	pol, _ := db.LoginPolicy(ctx)
	pol.Argon2 = Argon2Params{Memory: 128, Time: 2, Threads: 1}
	if err := db.SetLoginPolicy(ctx, pol); err != nil {
		t.Fatal(err)
	}
	hash := func() string {
		var h string
		if err := db.r.QueryRowContext(ctx, `SELECT hash FROM users`).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	// A failed login keeps the old hash; a success rehashes.
	_, _ = db.AuthenticateUser(ctx, "alice", "wrong")
	if h := hash(); !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("failed login changed the hash: %s", h)
	}
	if _, err := db.AuthenticateUser(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if h := hash(); !strings.HasPrefix(h, "$argon2id$v=19$m=128,t=2,p=1$") {
		t.Errorf("hash not raised to the policy: %s", h)
	}
	if _, err := db.AuthenticateUser(ctx, "alice", "correct horse battery"); err != nil {
		t.Errorf("login after rehash: %v", err)
	}
}

func TestEnsureAdmin(t *testing.T) {
	ctx := context.Background()
	db, _ := openUsers(t)
	logs := &bytes.Buffer{}
	db.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	name, pw, created, err := db.EnsureAdmin(ctx)
	if err != nil || !created || name != "admin" || CheckPassword(name, pw) != nil {
		t.Fatalf("EnsureAdmin = %q, %q, %v, %v", name, pw, created, err)
	}
	if strings.Contains(logs.String(), pw) || !strings.Contains(logs.String(), "one-time password") {
		t.Errorf("logs: %s", logs)
	}
	// Idempotent: a second call creates nothing and returns no password.
	if n, p, c, err := db.EnsureAdmin(ctx); err != nil || c || n != "" || p != "" {
		t.Errorf("second EnsureAdmin = %q, %q, %v, %v", n, p, c, err)
	}
	if us, _ := db.ListUsers(ctx); len(us) != 1 || !us[0].MustChange || !slices.Equal(us[0].Roles, []Role{RoleAdmin}) {
		t.Errorf("users = %+v", us)
	}
	// The one-time password must be changed before use; a wrong one is
	// refused as usual.
	if _, err := db.AuthenticateUser(ctx, "admin", pw); !errors.Is(err, ErrPasswordChange) || !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("one-time password: %v, want ErrPasswordChange", err)
	}
	if _, err := db.AuthenticateUser(ctx, "admin", pw+"x"); !errors.Is(err, ErrLoginFailed) {
		t.Errorf("wrong password: %v", err)
	}
	if err := db.SetPassword(ctx, "admin", "a long new admin password"); err != nil {
		t.Fatal(err)
	}
	if p, err := db.AuthenticateUser(ctx, "admin", "a long new admin password"); err != nil || !p.HasRole(RoleAdmin) {
		t.Errorf("after passwd: %+v, %v", p, err)
	}
	if strings.Contains(logs.String(), "a long new admin password") {
		t.Errorf("password in the logs: %s", logs)
	}
}

func TestEnsureAdminWithUsers(t *testing.T) {
	ctx := context.Background()
	db, _ := openUsers(t)
	if err := db.AddUser(ctx, "root", []Role{RoleAdmin}, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if _, _, created, err := db.EnsureAdmin(ctx); err != nil || created {
		t.Errorf("EnsureAdmin with a user: created %v, %v", created, err)
	}
}

func newKey(t *testing.T) ed25519.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestSigningKeys(t *testing.T) {
	ctx := context.Background()
	db, now := openUsers(t)
	for name, roles := range map[string][]Role{"carol": {RoleCommissioner}, "ann": {RoleAnalyst, RoleAdmin}, "dan": {RoleCommissioner}} {
		if err := db.AddUser(ctx, name, roles, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	_ = db.DisableUser(ctx, "dan")
	k1, k2 := newKey(t), newKey(t)
	added, err := db.AddSigningKey(ctx, "carol", k1)
	if err != nil {
		t.Fatal(err)
	}
	if added.KeyID != KeyID(k1) || len(added.KeyID) != 16 || ValidKeyID(added.KeyID) != nil || added.User != "carol" || !added.Added.Equal(*now) {
		t.Errorf("added = %+v", added)
	}
	tests := []struct {
		name, user string
		key        ed25519.PublicKey
		want       error
		wantSub    string
	}{
		{"not a commissioner", "ann", k2, nil, "not a commissioner"},
		{"disabled", "dan", k2, nil, "disabled"},
		{"unknown user", "bob", k2, ErrNotFound, ""},
		{"twice", "carol", k1, ErrExists, ""},
		{"another's key", "dan", k1, nil, "disabled"},
		{"short key", "carol", k2[:31], nil, "31 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.AddSigningKey(ctx, tt.user, tt.key)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("AddSigningKey = %v, want %v %q", err, tt.want, tt.wantSub)
			}
		})
	}
	*now = now.Add(time.Hour)
	if _, err := db.AddSigningKey(ctx, "Carol", k2); err != nil {
		t.Fatal(err)
	}

	// Revocation keeps the key, with its time.
	*now = now.Add(time.Hour)
	if err := db.RevokeSigningKey(ctx, "carol", KeyID(k1)); err != nil {
		t.Fatal(err)
	}
	revokedAt := *now
	*now = now.Add(time.Hour)
	if err := db.RevokeSigningKey(ctx, "carol", KeyID(k1)); err != nil {
		t.Errorf("second revoke: %v", err)
	}
	if err := db.RevokeSigningKey(ctx, "ann", KeyID(k2)); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking another user's key: %v", err)
	}
	k, err := db.SigningKey(ctx, KeyID(k1))
	if err != nil || k.RevokedAt == nil || !k.RevokedAt.Equal(revokedAt) || !bytes.Equal(k.Public, k1) || k.User != "carol" {
		t.Fatalf("revoked key = %+v, %v", k, err)
	}
	// A revoked key cannot be registered again.
	if _, err := db.AddSigningKey(ctx, "carol", k1); !errors.Is(err, ErrExists) {
		t.Errorf("re-adding a revoked key: %v", err)
	}
	ks, err := db.SigningKeys(ctx, "carol")
	if err != nil || len(ks) != 2 || ks[0].KeyID != KeyID(k1) || ks[0].RevokedAt == nil || ks[1].KeyID != KeyID(k2) || ks[1].RevokedAt != nil {
		t.Errorf("carol's keys = %+v, %v", ks, err)
	}
	if ks, err := db.SigningKeys(ctx, ""); err != nil || len(ks) != 2 {
		t.Errorf("all keys = %+v, %v", ks, err)
	}
	if ks, err := db.SigningKeys(ctx, "ann"); err != nil || len(ks) != 0 {
		t.Errorf("ann's keys = %+v, %v", ks, err)
	}
	if _, err := db.SigningKeys(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user's keys: %v", err)
	}
	if _, err := db.SigningKey(ctx, "0000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestUsersAudited(t *testing.T) {
	ctx := audit.WithActor(context.Background(), "root")
	db, now := openUsers(t)
	if _, _, _, err := db.EnsureAdmin(ctx); err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery"
	if err := db.AddUser(ctx, "carol", []Role{RoleCommissioner}, pw); err != nil {
		t.Fatal(err)
	}
	k := newKey(t)
	if _, err := db.AddSigningKey(ctx, "carol", k); err != nil {
		t.Fatal(err)
	}
	_ = db.RevokeSigningKey(ctx, "carol", KeyID(k))
	_ = db.RevokeSigningKey(ctx, "carol", KeyID(k)) // no change, no entry
	_, _ = db.AuthenticateUser(ctx, "carol", pw)
	_, _ = db.AuthenticateUser(ctx, "carol", pw) // within the minute: not again
	*now = now.Add(time.Minute)
	_, _ = db.AuthenticateUser(ctx, "carol", pw)
	_, _ = db.AuthenticateUser(ctx, "carol", "wrong password")
	_, _ = db.AuthenticateUser(ctx, "my secret password", pw) // the name is not kept
	_ = db.DisableUser(ctx, "carol")
	_, _ = db.AuthenticateUser(ctx, "carol", pw)
	_ = db.EnableUser(ctx, "carol")
	_ = db.SetPassword(ctx, "carol", "another good password")

	es, err := db.ListAudit(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if e.Action == actionLoginPolicy {
			continue // openUsers
		}
		got = append(got, e.Actor+" "+e.Action+" "+e.Object+" "+string(e.Data))
	}
	want := []string{
		`system user.add user:admin {"one_time_password":true,"roles":["admin"]}`,
		`root user.add user:carol {"roles":["commissioner"]}`,
		`root key.register key:` + KeyID(k) + ` {"public":"` + base64.StdEncoding.EncodeToString(k) + `","user":"carol"}`,
		`root key.revoke key:` + KeyID(k) + ` {"user":"carol"}`,
		`carol login user:carol {"must_change_password":false,"ok":true}`,
		`carol login user:carol {"must_change_password":false,"ok":true}`,
		`anonymous login.failed user:carol {"failures":1,"locked_out":false,"reason":"wrong password"}`,
		`anonymous login.failed  {"reason":"unknown user"}`,
		`root user.disable user:carol `,
		`anonymous login.failed user:carol {"reason":"disabled"}`,
		`root user.enable user:carol `,
		`root user.passwd user:carol `,
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("audit entries (-got, +want):\n%s", diff)
	}
	for _, e := range es {
		if strings.Contains(string(e.Data)+e.Object, "secret") || strings.Contains(string(e.Data), pw) {
			t.Errorf("audit entry %d holds a secret: %+v", e.Seq, e)
		}
	}
}
