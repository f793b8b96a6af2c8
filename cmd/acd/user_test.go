package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/acd-org/acd/store"
)

// runCmdIn is runCmd with stdin.
func runCmdIn(t *testing.T, environ []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, environ: func() []string { return environ }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

// userStore makes a store with a cheap login policy and returns its
// environment and a function that opens it (closed at cleanup).
func userStore(t *testing.T) ([]string, func() *store.DB) {
	t.Helper()
	cfg := store.DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "acd.db")
	open := func() *store.DB {
		db, err := store.Open(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	pol := store.DefaultLoginPolicy()
	pol.Argon2 = store.Argon2Params{Memory: 64, Time: 1, Threads: 1}
	db := open()
	if err := db.SetLoginPolicy(context.Background(), pol); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	return []string{"ACD_STORE_PATH=" + cfg.Path}, open
}

func TestUserCommands(t *testing.T) {
	ctx := context.Background()
	environ, open := userStore(t)

	// A generated password is printed alone on stdout, once.
	code, pw, errOut := runCmd(t, environ, "user", "add", "carol", "--role", "commissioner,analyst")
	if code != 0 {
		t.Fatalf("add: exit %d: %s", code, errOut)
	}
	pw = strings.TrimSpace(pw)
	if store.CheckPassword("carol", pw) != nil || strings.Contains(errOut, pw) || !strings.Contains(errOut, "will not be shown again") {
		t.Errorf("add printed %q, stderr %q", pw, errOut)
	}
	// A password from stdin is not echoed.
	code, out, errOut := runCmdIn(t, environ, "ann's long password\r\nignored\n", "user", "add", "--password-stdin", "--role", "analyst,auditor", "ann")
	if code != 0 || strings.Contains(out+errOut, "long password") || !strings.Contains(out, `user "ann"`) {
		t.Fatalf("add --password-stdin: exit %d: %q %q", code, out, errOut)
	}

	db := open()
	if p, err := db.AuthenticateUser(ctx, "carol", pw); err != nil || !p.HasRole(store.RoleCommissioner) {
		t.Errorf("carol: %+v, %v", p, err)
	}
	if p, err := db.AuthenticateUser(ctx, "ann", "ann's long password"); err != nil || strings.Join(p.Roles, ",") != "analyst,auditor" {
		t.Errorf("ann: %+v, %v", p, err)
	}

	code, out, _ = runCmd(t, environ, "user", "list")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "analyst,commissioner") || !strings.Contains(out, "active") || strings.Contains(out, "argon2") {
		t.Errorf("list: exit %d:\n%s", code, out)
	}

	if code, out, errOut := runCmd(t, environ, "user", "disable", "ann"); code != 0 || !strings.Contains(out, "disabled") {
		t.Errorf("disable: exit %d: %s %s", code, out, errOut)
	}
	if _, err := db.AuthenticateUser(ctx, "ann", "ann's long password"); !errors.Is(err, store.ErrUnauthenticated) {
		t.Errorf("disabled ann: %v", err)
	}
	code, out, _ = runCmd(t, environ, "user", "list", "--json")
	var us []store.User
	if err := json.Unmarshal([]byte(out), &us); code != 0 || err != nil || len(us) != 2 {
		t.Fatalf("list --json: exit %d, %v:\n%s", code, err, out)
	}
	if us[0].Name != "ann" || !us[0].Disabled || us[1].Name != "carol" || us[1].Disabled || us[1].LastLogin.IsZero() {
		t.Errorf("users = %+v", us)
	}
	if code, _, errOut := runCmd(t, environ, "user", "enable", "ann"); code != 0 {
		t.Errorf("enable: exit %d: %s", code, errOut)
	}

	// passwd, from stdin and generated.
	if code, _, errOut := runCmdIn(t, environ, "a brand new password\n", "user", "passwd", "ann", "--password-stdin"); code != 0 {
		t.Fatalf("passwd: exit %d: %s", code, errOut)
	}
	if _, err := db.AuthenticateUser(ctx, "ann", "a brand new password"); err != nil {
		t.Errorf("after passwd: %v", err)
	}
	code, pw2, _ := runCmd(t, environ, "user", "passwd", "ann")
	if _, err := db.AuthenticateUser(ctx, "ann", strings.TrimSpace(pw2)); code != 0 || err != nil {
		t.Errorf("generated passwd: exit %d, %v", code, err)
	}
}

func TestUserSigningKeys(t *testing.T) {
	environ, open := userStore(t)
	dir := t.TempDir()
	for _, u := range [][]string{{"carol", "commissioner"}, {"ann", "analyst"}} {
		if code, _, errOut := runCmd(t, environ, "user", "add", u[0], "--role", u[1]); code != 0 {
			t.Fatalf("add %s: %s", u[0], errOut)
		}
	}
	keyFile := filepath.Join(dir, "carol.key")
	code, pubOut, errOut := runCmd(t, nil, "user", "keygen", "--out", keyFile)
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	pubB64 := strings.TrimSpace(pubOut)
	pub, err := base64.StdEncoding.DecodeString(pubB64)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("keygen printed %q", pubOut)
	}
	keyID := store.KeyID(pub)
	if !strings.Contains(errOut, keyID) {
		t.Errorf("keygen stderr lacks the key id %s: %s", keyID, errOut)
	}
	// The private key is 0600, pairs with the public key, and is not
	// overwritten.
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, %v", fi, err)
	}
	priv, err := readSigningKey(keyFile)
	if err != nil || !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(pub)) {
		t.Fatalf("readSigningKey: %v", err)
	}
	if code, _, errOut := runCmd(t, nil, "user", "keygen", "--out", keyFile); code != 1 || !strings.Contains(errOut, "exists already") {
		t.Errorf("keygen over an existing file: exit %d: %s", code, errOut)
	}
	if again, _ := readSigningKey(keyFile); !again.Equal(priv) {
		t.Error("keygen overwrote the key")
	}

	if code, out, errOut := runCmd(t, environ, "user", "key", "add", "carol", "--pubkey", pubB64); code != 0 || strings.TrimSpace(out) != keyID {
		t.Fatalf("key add: exit %d: %q %s", code, out, errOut)
	}
	// A second key, from a PEM file.
	pub2, _, _ := ed25519.GenerateKey(nil)
	der, _ := x509.MarshalPKIXPublicKey(pub2)
	pemFile := filepath.Join(dir, "second.pub")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd(t, environ, "user", "key", "add", "--pubkey", pemFile, "carol"); code != 0 || strings.TrimSpace(out) != store.KeyID(pub2) {
		t.Fatalf("key add PEM: exit %d: %q %s", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, environ, "user", "key", "revoke", "carol", keyID); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("key revoke: exit %d: %s %s", code, out, errOut)
	}
	code, out, _ := runCmd(t, environ, "user", "key", "list", "--json", "carol")
	var ks []store.SigningKey
	if err := json.Unmarshal([]byte(out), &ks); code != 0 || err != nil || len(ks) != 2 {
		t.Fatalf("key list --json: exit %d, %v:\n%s", code, err, out)
	}
	if ks[0].KeyID != keyID || ks[0].RevokedAt == nil || !bytes.Equal(ks[0].Public, pub) || ks[1].RevokedAt != nil {
		t.Errorf("keys = %+v", ks)
	}
	code, out, _ = runCmd(t, environ, "user", "key", "list")
	if code != 0 || !strings.Contains(out, "KEY ID") || !strings.Contains(out, keyID) || !strings.Contains(out, store.KeyID(pub2)) {
		t.Errorf("key list: exit %d:\n%s", code, out)
	}
	db := open()
	if k, err := db.SigningKey(context.Background(), keyID); err != nil || k.User != "carol" || k.RevokedAt == nil {
		t.Errorf("store key = %+v, %v", k, err)
	}
}

func TestUserErrors(t *testing.T) {
	environ, _ := userStore(t)
	dir := t.TempDir()
	if code, _, errOut := runCmd(t, environ, "user", "add", "carol", "--role", "commissioner"); code != 0 {
		t.Fatalf("add: %s", errOut)
	}
	if code, _, errOut := runCmd(t, environ, "user", "add", "ann", "--role", "analyst"); code != 0 {
		t.Fatalf("add: %s", errOut)
	}
	privFile := filepath.Join(dir, "k.key")
	if code, _, errOut := runCmd(t, nil, "user", "keygen", "--out", privFile); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	_, pub, _ := runCmd(t, nil, "user", "keygen", "--out", filepath.Join(dir, "k2.key"))
	pub = strings.TrimSpace(pub)
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		out   string // substring of stdout
		err   string // substring of stderr
	}{
		{"no subcommand", []string{"user"}, "", 2, "", "expected add, list"},
		{"unknown subcommand", []string{"user", "remove"}, "", 2, "", `unknown subcommand "remove"`},
		{"help", []string{"user", "--help"}, "", 0, "", "Exit status"},
		{"help user", []string{"help", "user"}, "", 0, "acd user passwd admin", ""},
		{"add help", []string{"user", "add", "--help"}, "", 0, "", "Usage: acd user add"},
		{"add without role", []string{"user", "add", "x"}, "", 2, "", "--role is required"},
		{"add bad role", []string{"user", "add", "--role", "analyst,root", "x"}, "", 2, "", `unknown role "root"`},
		{"add bad name", []string{"user", "add", "--role", "admin", "a b"}, "", 2, "", "invalid user name"},
		{"add two names", []string{"user", "add", "--role", "admin", "a", "b"}, "", 2, "", "expected one NAME"},
		{"add taken", []string{"user", "add", "--role", "analyst", "Carol"}, "", 1, "", "already exists"},
		{"add short password", []string{"user", "add", "--role", "analyst", "--password-stdin", "x"}, "short\n", 1, "", "too short"},
		{"add name as password", []string{"user", "add", "--role", "analyst", "--password-stdin", "maximilian12"}, "Maximilian12\n", 1, "", "is the user name"},
		{"add empty stdin", []string{"user", "add", "--role", "analyst", "--password-stdin", "x"}, "", 1, "", "no password"},
		{"passwd unknown", []string{"user", "passwd", "nobody"}, "", 1, "", `no user named "nobody"`},
		{"disable unknown", []string{"user", "disable", "nobody"}, "", 1, "", `no user named "nobody"`},
		{"disable without name", []string{"user", "disable"}, "", 2, "", "expected one NAME"},
		{"list argument", []string{"user", "list", "x"}, "", 2, "", "no argument"},
		{"keygen without out", []string{"user", "keygen"}, "", 2, "", "--out FILE is required"},
		{"keygen bad dir", []string{"user", "keygen", "--out", filepath.Join(dir, "no", "k")}, "", 1, "", "unable to create"},
		{"key no subcommand", []string{"user", "key"}, "", 2, "", "expected key add"},
		{"key unknown", []string{"user", "key", "rotate"}, "", 2, "", `"key rotate"`},
		{"key add without pubkey", []string{"user", "key", "add", "carol"}, "", 2, "", "--pubkey is required"},
		{"key add not commissioner", []string{"user", "key", "add", "ann", "--pubkey", pub}, "", 1, "", "not a commissioner"},
		{"key add unknown user", []string{"user", "key", "add", "bob", "--pubkey", pub}, "", 1, "", `no user named "bob"`},
		{"key add private key", []string{"user", "key", "add", "carol", "--pubkey", privFile}, "", 1, "", "never give out the private one"},
		{"key add bad base64", []string{"user", "key", "add", "carol", "--pubkey", "AAAA"}, "", 1, "", "neither the base64"},
		{"key revoke bad id", []string{"user", "key", "revoke", "carol", "xyz"}, "", 2, "", "invalid key id"},
		{"key revoke unknown", []string{"user", "key", "revoke", "carol", "0123456789abcdef"}, "", 1, "", "has no signing key"},
		{"key list unknown", []string{"user", "key", "list", "bob"}, "", 1, "", `no user named "bob"`},
		{"key add help", []string{"user", "key", "add", "--help"}, "", 0, "", "Usage: acd user key add"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmdIn(t, environ, tt.stdin, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.err) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", code, out, errOut, tt.code, tt.out, tt.err)
			}
		})
	}
}

func TestReadPassword(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"secret\n", "secret", ""},
		{"secret\r\nmore\n", "secret", ""},
		{"no newline", "no newline", ""},
		{"  spaces kept  \n", "  spaces kept  ", ""},
		{"\nsecond line", "", "first line is empty"},
		{strings.Repeat("x", store.MaxPasswordBytes+5), "", "too long"},
	}
	for _, tt := range tests {
		got, err := readPassword(strings.NewReader(tt.in))
		if got != tt.want || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("readPassword(%.20q) = %q, %v; want %q, %q", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestUserRoles(t *testing.T) {
	dir := t.TempDir()
	environ := []string{"ACD_STORE_PATH=" + dir + "/acd.db"}
	if code, _, errOut := runCmd(t, environ, "user", "add", "ann", "--role", "analyst"); code != 0 {
		t.Fatal(errOut)
	}
	if code, out, errOut := runCmd(t, environ, "user", "roles", "ann", "--role", "analyst,auditor"); code != 0 || !strings.Contains(out, "analyst,auditor") {
		t.Fatalf("roles: %d %s %s", code, out, errOut)
	}
	if code, out, _ := runCmd(t, environ, "user", "list"); code != 0 || !strings.Contains(out, "analyst,auditor") {
		t.Fatalf("list after roles: %s", out)
	}
	if code, _, errOut := runCmd(t, environ, "user", "roles", "nobody", "--role", "analyst"); code != 1 || !strings.Contains(errOut, "acd user list") {
		t.Errorf("unknown user: %d %s", code, errOut)
	}
	if code, _, _ := runCmd(t, environ, "user", "roles", "ann", "--role", "wizard"); code != 2 {
		t.Errorf("bad role: exit %d", code)
	}
	if code, out, _ := runCmd(t, environ, "audit", "list", "--action", "user.roles"); code != 0 || !strings.Contains(out, "user:ann") {
		t.Errorf("audit: %s", out)
	}
}
