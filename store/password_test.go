package store

import (
	"strings"
	"testing"
)

// cheap are argon2id parameters fast enough for tests.
var cheap = Argon2Params{Memory: 64, Time: 1, Threads: 1}

func TestHashRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		password string
		params   Argon2Params
	}{
		{"cheap", "correct horse battery", cheap},
		{"two lanes", "naïve-passwörd-ünïcode", Argon2Params{Memory: 128, Time: 2, Threads: 2}},
		{"default", "0123456789ab", DefaultArgon2Params()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := hashPassword(tt.password, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(enc, "$argon2id$v=19$m=") || strings.Contains(enc, tt.password) {
				t.Errorf("hash %q", enc)
			}
			h, err := parsePHC(enc)
			if err != nil || h.params != tt.params || len(h.salt) != saltBytes || len(h.key) != keyBytes {
				t.Fatalf("parse %q = %+v, %v", enc, h, err)
			}
			if h.String() != enc {
				t.Errorf("format(parse) = %q, want %q", h.String(), enc)
			}
			ok, p, err := verifyPassword(tt.password, enc)
			if !ok || err != nil || p != tt.params {
				t.Errorf("verify right password = %v, %+v, %v", ok, p, err)
			}
			for _, wrong := range []string{tt.password + "x", tt.password[1:], strings.ToUpper(tt.password), ""} {
				if ok, _, err := verifyPassword(wrong, enc); ok || err != nil {
					t.Errorf("verify %q = %v, %v; want false", wrong, ok, err)
				}
			}
			// Two hashes of one password differ (random salt).
			if enc2, _ := hashPassword(tt.password, tt.params); enc2 == enc {
				t.Error("same hash twice: salt not random")
			}
		})
	}
}

func TestHashKnownVectors(t *testing.T) {
	// Made with the reference implementation (libargon2,
	// argon2id_hash_encoded; for the first, the CLI equivalent is
	// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e).
	tests := []struct {
		password, enc string
		params        Argon2Params
	}{
		{"password", "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo", Argon2Params{Memory: 65536, Time: 2, Threads: 4}},
		{"correct horse battery", "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$/ur5fLELUb1eXkT9oKHqq6gHGZ9Phwgbj4qyIcCNaYc", cheap},
	}
	for _, tt := range tests {
		ok, p, err := verifyPassword(tt.password, tt.enc)
		if err != nil || !ok || p != tt.params {
			t.Errorf("reference vector %s: %v, %+v, %v", tt.enc, ok, p, err)
		}
		if ok, _, _ := verifyPassword(tt.password+"!", tt.enc); ok {
			t.Errorf("reference vector %s verifies a wrong password", tt.enc)
		}
	}
}

func TestParsePHCErrors(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"
	tests := []struct{ name, in, want string }{
		{"empty", "", "not 5 fields"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key, "not argon2id"},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key, "not v=19"},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key, "not 5 fields"},
		{"order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key, `"t=1"`},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key, `"m=064"`},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key, `"m=+64"`},
		{"two params", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key, "three parameters"},
		{"p 256", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + key, "over 255"},
		{"p 0", "$argon2id$v=19$m=64,t=0,p=0$" + salt + "$" + key, "threads 0"},
		{"t 0", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key, "time 0"},
		{"t huge", "$argon2id$v=19$m=64,t=65,p=1$" + salt + "$" + key, "time 65"},
		{"m too small", "$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key, "memory 7"},
		{"m huge", "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key, "memory 4294967295"},
		{"m overflow", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key, `"m=4294967296"`},
		{"salt padded", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$" + key, "salt"},
		{"salt short", "$argon2id$v=19$m=64,t=1,p=1$c29t$" + key, "salt"},
		{"key short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$c29tZXNhbHQ", "hash is not"},
		{"key url alphabet", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.ReplaceAll(key, "/", "_"), "hash is not"},
		{"trailing field", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$", "not 5 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePHC(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parsePHC(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$/ur5fLELUb1eXkT9oKHqq6gHGZ9Phwgbj4qyIcCNaYc")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$c29tZXNhbHRzb21lc2FsdA")
	f.Add("$argon2id$v=19$m=064,t=1,p=1$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			return
		}
		if h.String() != s {
			t.Fatalf("parsePHC(%q) formats back as %q", s, h.String())
		}
		if h.params.Validate() != nil || len(h.salt) < 8 || len(h.key) < minHashBytes || len(h.key) > maxHashBytes {
			t.Fatalf("parsePHC(%q) accepted out-of-bounds %+v", s, h)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, user, password, want string
	}{
		{"ok", "alice", "correct horse battery", ""},
		{"ok 12 runes", "alice", "ääääääääääää", ""},
		{"short", "alice", "elevenchars", "too short: 11 characters"},
		{"empty", "alice", "", "too short: 0"},
		{"user name", "administrator", "Administrator", "is the user name"},
		{"long", "alice", strings.Repeat("x", MaxPasswordBytes+1), "too long"},
		{"newline", "alice", "correct horse\n", "control character"},
		{"invalid utf-8", "alice", "correct horse \xff", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPassword(tt.user, tt.password)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckPassword = %v, want %q", err, tt.want)
			}
			if err != nil && tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	if p := NewPassword(); CheckPassword("admin", p) != nil || NewPassword() == p {
		t.Errorf("NewPassword %q fails the policy or repeats", p)
	}
}
