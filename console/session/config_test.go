package session

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if !DefaultConfig().Secure {
		t.Error("defaults are not Secure")
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		err  string
	}{
		{"cookie name", func(c *Config) { c.CookieName = "a b" }, "cookie_name"},
		{"no cookie name", func(c *Config) { c.CookieName = "" }, "cookie_name"},
		{"ttl", func(c *Config) { c.TTL = time.Second }, "session.ttl"},
		{"idle over ttl", func(c *Config) { c.IdleTimeout = 9 * time.Hour }, "idle_timeout"},
		{"max sessions", func(c *Config) { c.MaxSessions = 0 }, "max_sessions"},
		{"login failures", func(c *Config) { c.LoginFailures = 0 }, "login_failures"},
		{"login window", func(c *Config) { c.LoginWindow = 0 }, "login_window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Validate = %v, want an error about %s", err, tc.err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	m := New(Config{}, Deps{Users: newFakeUsers()})
	want := DefaultConfig()
	want.Secure = false // a zero Secure stays off
	if got := m.Config(); got != want {
		t.Errorf("New(Config{}).Config() = %+v, want %+v", got, want)
	}
	if err := m.Config().Validate(); err != nil {
		t.Error(err)
	}
}
