package session

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Config is the console sessions' configuration.
type Config struct {
	// CookieName is the session cookie's name.
	CookieName string `yaml:"cookie_name"`
	// TTL is a session's absolute lifetime from its login.
	TTL time.Duration `yaml:"ttl"`
	// IdleTimeout ends a session unused for that long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Secure marks the cookie Secure (sent over HTTPS only) and sends
	// Strict-Transport-Security. Turn it off only on loopback HTTP.
	Secure bool `yaml:"secure"`
	// MaxSessions bounds the sessions kept in memory; a login beyond it
	// ends the oldest session.
	MaxSessions int `yaml:"max_sessions"`
	// LoginFailures failed logins from one client address (IPv4
	// address, IPv6 /64) within LoginWindow make further logins from it
	// answer 429 until the window has passed.
	LoginFailures int `yaml:"login_failures"`
	// LoginWindow is the window LoginFailures are counted over.
	LoginWindow time.Duration `yaml:"login_window"`
}

// DefaultConfig returns the defaults: cookie acd_session, Secure, 8 h
// sessions ending after 30 min idle, at most 10000 of them, 10 failed
// logins a minute per client.
func DefaultConfig() Config {
	return Config{
		CookieName:    "acd_session",
		TTL:           8 * time.Hour,
		IdleTimeout:   30 * time.Minute,
		Secure:        true,
		MaxSessions:   10000,
		LoginFailures: 10,
		LoginWindow:   time.Minute,
	}
}

// Validate checks c.
func (c Config) Validate() error {
	var errs []error
	if c.CookieName == "" || !validCookieName(c.CookieName) {
		errs = append(errs, fmt.Errorf("session.cookie_name: %q is not a valid cookie name", c.CookieName))
	}
	if c.TTL < time.Minute || c.TTL > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("session.ttl: %v: want 1m to 720h", c.TTL))
	}
	if c.IdleTimeout < time.Minute || c.IdleTimeout > c.TTL {
		errs = append(errs, fmt.Errorf("session.idle_timeout: %v: want 1m to the ttl (%v)", c.IdleTimeout, c.TTL))
	}
	if c.MaxSessions < 1 || c.MaxSessions > 1_000_000 {
		errs = append(errs, fmt.Errorf("session.max_sessions: %d: want 1 to 1000000", c.MaxSessions))
	}
	if c.LoginFailures < 1 || c.LoginFailures > 10000 {
		errs = append(errs, fmt.Errorf("session.login_failures: %d: want 1 to 10000", c.LoginFailures))
	}
	if c.LoginWindow < time.Second || c.LoginWindow > 24*time.Hour {
		errs = append(errs, fmt.Errorf("session.login_window: %v: want 1s to 24h", c.LoginWindow))
	}
	return errors.Join(errs...)
}

// validCookieName reports whether name is a cookie name net/http sends.
func validCookieName(name string) bool {
	return (&http.Cookie{Name: name, Value: "x"}).Valid() == nil
}
