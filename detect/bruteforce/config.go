package bruteforce

import (
	"errors"
	"fmt"
	"time"

	"github.com/acd-org/acd/flow"
)

// Name is the detector's name (metrics, evidence, configuration key
// detect.bruteforce).
const Name = "bruteforce"

// ringLen is the number of buckets a key keeps: the long window holds at
// most this many buckets.
const ringLen = 32

// Config configures the brute force detector (YAML section
// detect.bruteforce).
type Config struct {
	// Enabled turns the detector on (default true).
	Enabled bool `yaml:"enabled"`
	// MaxKeys bounds the (source, destination, service) keys tracked;
	// beyond it the key seen least recently (unflagged first) is evicted.
	MaxKeys int `yaml:"max_keys"`
	// Bucket is the counting interval and the detector's window: counts
	// are kept per bucket, findings are updated when a bucket closes.
	Bucket time.Duration `yaml:"bucket"`
	// LongWindow is the span of buckets the slow threshold sums over (a
	// multiple of Bucket, at most 32 buckets).
	LongWindow time.Duration `yaml:"long_window"`
	// Grace delays closing a bucket by this much beyond the engine's
	// watermark (which already allows detect.lateness), for exporters that
	// hold records back longer than the rest. Findings are emitted live
	// regardless; only the final update of a bucket waits.
	Grace time.Duration `yaml:"grace"`
	// FastAttempts: this many attempts by one source on one destination's
	// service within one bucket make a finding (0 disables the fast rule).
	FastAttempts int `yaml:"fast_attempts"`
	// SlowAttempts: this many attempts within LongWindow make a finding
	// (low and slow guessing; 0 disables the slow rule).
	SlowAttempts int `yaml:"slow_attempts"`
	// MinShare is the smallest share of attempts among the source's
	// connections to that service (its other connections and the
	// server's large replies count against it): a user whose sessions
	// are mostly real work is not guessing passwords.
	MinShare float64 `yaml:"min_share"`
	// MinPackets is the fewest packets (scaled) a client-to-server
	// record needs to be an attempt: a completed handshake plus data.
	MinPackets int `yaml:"min_packets"`
	// MaxDuration is the longest an attempt lasts (start to end of its
	// record); longer connections are sessions.
	MaxDuration time.Duration `yaml:"max_duration"`
	// SkipClasses lists record classes (inbound, outbound, transit,
	// unscreened) whose attempts are ignored, for instance outbound to
	// watch only foreign sources.
	SkipClasses []string `yaml:"skip_classes"`
	// Services are the authentication services watched, each with the
	// size of one login attempt (TCP only).
	Services []Service `yaml:"services"`
}

// Service is one authentication service and the profile of one login
// attempt on it: a connection within MaxPackets and MaxBytes (scaled, in
// each direction) is an attempt, a larger one is a session.
type Service struct {
	// Name labels the service in evidence ("ssh").
	Name string `yaml:"name"`
	// Ports are the TCP server ports of the service.
	Ports []uint16 `yaml:"ports"`
	// MaxPackets is the most packets one direction of an attempt holds.
	MaxPackets int `yaml:"max_packets"`
	// MaxBytes is the most bytes one direction of an attempt holds.
	MaxBytes int `yaml:"max_bytes"`
}

// DefaultServices returns the default service table. SMTP relay (25) is
// left out: mail servers legitimately deliver many short sessions to an
// MX; add it where no MX is watched.
func DefaultServices() []Service {
	return []Service{
		{Name: "ssh", Ports: []uint16{22}, MaxPackets: 40, MaxBytes: 16 << 10},
		{Name: "telnet", Ports: []uint16{23}, MaxPackets: 40, MaxBytes: 8 << 10},
		{Name: "ftp", Ports: []uint16{21}, MaxPackets: 30, MaxBytes: 8 << 10},
		{Name: "smtp-submission", Ports: []uint16{465, 587}, MaxPackets: 40, MaxBytes: 16 << 10},
		{Name: "pop3", Ports: []uint16{110, 995}, MaxPackets: 40, MaxBytes: 16 << 10},
		{Name: "imap", Ports: []uint16{143, 993}, MaxPackets: 40, MaxBytes: 16 << 10},
		{Name: "rdp", Ports: []uint16{3389}, MaxPackets: 80, MaxBytes: 64 << 10},
		{Name: "smb", Ports: []uint16{445}, MaxPackets: 60, MaxBytes: 32 << 10},
		{Name: "vnc", Ports: []uint16{5900, 5901, 5902, 5903}, MaxPackets: 30, MaxBytes: 8 << 10},
		{Name: "mssql", Ports: []uint16{1433}, MaxPackets: 40, MaxBytes: 16 << 10},
		{Name: "mysql", Ports: []uint16{3306}, MaxPackets: 30, MaxBytes: 8 << 10},
		{Name: "postgres", Ports: []uint16{5432}, MaxPackets: 30, MaxBytes: 8 << 10},
		{Name: "oracle", Ports: []uint16{1521}, MaxPackets: 40, MaxBytes: 16 << 10},
		{Name: "redis", Ports: []uint16{6379}, MaxPackets: 20, MaxBytes: 4 << 10},
		{Name: "mongodb", Ports: []uint16{27017}, MaxPackets: 30, MaxBytes: 16 << 10},
		{Name: "ldap", Ports: []uint16{389, 636}, MaxPackets: 30, MaxBytes: 16 << 10},
		{Name: "winrm", Ports: []uint16{5985, 5986}, MaxPackets: 60, MaxBytes: 32 << 10},
	}
}

// DefaultConfig returns the defaults: 1-minute buckets, 20 attempts in a
// minute or 40 in 30 minutes, 80 % of the connections being attempts.
func DefaultConfig() Config {
	return Config{
		Enabled:      true,
		MaxKeys:      100_000,
		Bucket:       time.Minute,
		LongWindow:   30 * time.Minute,
		Grace:        0,
		FastAttempts: 20,
		SlowAttempts: 40,
		MinShare:     0.8,
		MinPackets:   3,
		MaxDuration:  time.Minute,
		Services:     DefaultServices(),
	}
}

// classOf parses a class name.
func classOf(s string) (flow.Class, bool) {
	for c := flow.ClassUnscreened; c <= flow.ClassDomestic; c++ {
		if c.String() == s {
			return c, true
		}
	}
	return 0, false
}

// Validate checks c; every problem names its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("detect.bruteforce."+key+": "+format, args...))
	}
	if c.MaxKeys < 1 {
		bad("max_keys", "%d must be at least 1", c.MaxKeys)
	}
	switch {
	case c.Bucket < time.Second:
		bad("bucket", "%v must be at least 1s", c.Bucket)
	case c.Bucket%time.Millisecond != 0:
		bad("bucket", "%v must be a whole number of milliseconds", c.Bucket)
	case c.LongWindow < c.Bucket || c.LongWindow%c.Bucket != 0:
		bad("long_window", "%v must be a positive multiple of bucket (%v)", c.LongWindow, c.Bucket)
	case c.LongWindow/c.Bucket > ringLen:
		bad("long_window", "%v holds %d buckets of %v, at most %d", c.LongWindow, c.LongWindow/c.Bucket, c.Bucket, ringLen)
	}
	if c.Grace < 0 || c.Grace%time.Millisecond != 0 {
		bad("grace", "%v must be a non-negative whole number of milliseconds", c.Grace)
	}
	if c.FastAttempts < 0 || c.FastAttempts > 65535 {
		bad("fast_attempts", "%d not within 0..65535", c.FastAttempts)
	}
	if c.SlowAttempts < 0 {
		bad("slow_attempts", "%d is negative", c.SlowAttempts)
	}
	if c.FastAttempts == 0 && c.SlowAttempts == 0 {
		bad("slow_attempts", "fast_attempts and slow_attempts are both 0: nothing could be found")
	}
	if !(c.MinShare >= 0 && c.MinShare <= 1) {
		bad("min_share", "%v not within 0..1", c.MinShare)
	}
	if c.MinPackets < 1 {
		bad("min_packets", "%d must be at least 1", c.MinPackets)
	}
	if c.MaxDuration <= 0 {
		bad("max_duration", "%v must be positive", c.MaxDuration)
	}
	for i, s := range c.SkipClasses {
		if _, ok := classOf(s); !ok {
			bad(fmt.Sprintf("skip_classes[%d]", i), "unknown class %q (classes: inbound, outbound, transit, unscreened)", s)
		}
	}
	switch {
	case len(c.Services) == 0:
		bad("services", "no service configured")
	case len(c.Services) > 255:
		bad("services", "%d services, at most 255", len(c.Services))
	}
	names := map[string]bool{}
	owner := map[uint16]int{}
	for i, s := range c.Services {
		key := fmt.Sprintf("services[%d]", i)
		switch {
		case s.Name == "":
			bad(key+".name", "missing")
		case names[s.Name]:
			bad(key+".name", "%q appears twice", s.Name)
		}
		names[s.Name] = true
		if len(s.Ports) == 0 {
			bad(key+".ports", "no port")
		}
		for _, p := range s.Ports {
			if p == 0 {
				bad(key+".ports", "port 0")
				continue
			}
			if j, dup := owner[p]; dup {
				bad(key+".ports", "port %d is also in services[%d]", p, j)
				continue
			}
			owner[p] = i
		}
		if s.MaxPackets < c.MinPackets || s.MaxPackets < 1 {
			bad(key+".max_packets", "%d must be at least min_packets (%d)", s.MaxPackets, c.MinPackets)
		}
		if s.MaxBytes < 1 {
			bad(key+".max_bytes", "%d must be positive", s.MaxBytes)
		}
	}
	return errors.Join(errs...)
}
