package scan

import (
	"errors"
	"fmt"
	"time"
)

// Name is the detector's name (metrics, evidence, configuration key
// detect.scan).
const Name = "scan"

// maxDistinct is the largest distinct count a threshold may ask for: the
// 256-bit sketches estimate up to about 1400 distinct values.
const maxDistinct = 1000

// Config configures the scan detector (YAML section detect.scan).
type Config struct {
	// Enabled turns the detector on (default true).
	Enabled bool `yaml:"enabled"`
	// MaxKeys bounds the sources tracked; beyond it the source seen least
	// recently (sources already reported last) is evicted.
	MaxKeys int `yaml:"max_keys"`
	// Window is the short window fast scans are counted in.
	Window time.Duration `yaml:"window"`
	// MinHosts: a source probing this many distinct hosts within Window
	// is a (horizontal) scanner. 0 disables the rule.
	MinHosts int `yaml:"min_hosts"`
	// MinPorts: a source probing this many distinct (host, port) pairs
	// beyond one port per host within Window is a (vertical) scanner.
	// 0 disables the rule.
	MinPorts int `yaml:"min_ports"`
	// MinFailedShare is the smallest share of failed probes among all the
	// source's flows in Window for the fast rules.
	MinFailedShare float64 `yaml:"min_failed_share"`
	// SlowWindow is the long window slow scans are counted in (a multiple
	// of Window).
	SlowWindow time.Duration `yaml:"slow_window"`
	// SlowMinHosts is MinHosts for SlowWindow (0 disables the rule).
	SlowMinHosts int `yaml:"slow_min_hosts"`
	// SlowMinPorts is MinPorts for SlowWindow (0 disables the rule).
	SlowMinPorts int `yaml:"slow_min_ports"`
	// SlowMinFailedShare is MinFailedShare for SlowWindow: higher, since
	// few distinct targets must be backed by a clear failure pattern.
	SlowMinFailedShare float64 `yaml:"slow_min_failed_share"`
	// MaxProbePackets is the most packets (as reported, unscaled) a flow
	// may hold to be a probe: a SYN and its retransmissions.
	MaxProbePackets int `yaml:"max_probe_packets"`
	// MaxProbeBytes is the largest average packet size (bytes, IP header
	// included) of a probe: probes carry no or little payload.
	MaxProbeBytes int `yaml:"max_probe_bytes"`
	// UnknownWeight is how much a probe whose outcome the flow does not
	// show (UDP, ICMP echo, TCP without flags) counts as failed, in
	// [0,1]; an ICMP unreachable answer to the source adds the rest.
	UnknownWeight float64 `yaml:"unknown_weight"`
	// UDP counts small UDP datagrams as probes.
	UDP bool `yaml:"udp"`
	// ICMP counts ICMP echo requests as probes (ping sweeps).
	ICMP bool `yaml:"icmp"`
}

// DefaultConfig returns the defaults: 50 hosts or 50 extra ports per
// minute with half the flows failed, or 24 hosts or ports per hour with
// 80 % failed.
func DefaultConfig() Config {
	return Config{
		Enabled:            true,
		MaxKeys:            200_000,
		Window:             time.Minute,
		MinHosts:           50,
		MinPorts:           50,
		MinFailedShare:     0.5,
		SlowWindow:         time.Hour,
		SlowMinHosts:       24,
		SlowMinPorts:       24,
		SlowMinFailedShare: 0.8,
		MaxProbePackets:    3,
		MaxProbeBytes:      160,
		UnknownWeight:      0.5,
		UDP:                true,
		ICMP:               true,
	}
}

// Validate checks c; every problem is reported, each naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("detect.scan."+key+": "+format, args...))
	}
	if c.MaxKeys < 1 {
		bad("max_keys", "%d must be at least 1", c.MaxKeys)
	}
	if c.Window < time.Second {
		bad("window", "%v must be at least 1s", c.Window)
	}
	if c.SlowWindow < c.Window || c.Window > 0 && c.SlowWindow%c.Window != 0 {
		bad("slow_window", "%v must be a multiple of window (%v)", c.SlowWindow, c.Window)
	}
	if c.SlowWindow/time.Millisecond > 1<<32-1 {
		bad("slow_window", "%v is too long (at most about 49 days)", c.SlowWindow)
	}
	for _, t := range []struct {
		key string
		v   int
	}{{"min_hosts", c.MinHosts}, {"min_ports", c.MinPorts}, {"slow_min_hosts", c.SlowMinHosts}, {"slow_min_ports", c.SlowMinPorts}} {
		if t.v < 0 || t.v > maxDistinct {
			bad(t.key, "%d must be in [0, %d] (0 disables the rule)", t.v, maxDistinct)
		}
	}
	if c.MinHosts == 0 && c.MinPorts == 0 && c.SlowMinHosts == 0 && c.SlowMinPorts == 0 {
		bad("min_hosts", "every rule is disabled (min_hosts, min_ports, slow_min_hosts, slow_min_ports are 0)")
	}
	for _, t := range []struct {
		key string
		v   float64
	}{{"min_failed_share", c.MinFailedShare}, {"slow_min_failed_share", c.SlowMinFailedShare}, {"unknown_weight", c.UnknownWeight}} {
		if !(t.v >= 0 && t.v <= 1) {
			bad(t.key, "%v must be in [0, 1]", t.v)
		}
	}
	if c.MaxProbePackets < 1 {
		bad("max_probe_packets", "%d must be at least 1", c.MaxProbePackets)
	}
	if c.MaxProbeBytes < 40 {
		bad("max_probe_bytes", "%d must be at least 40 (an IPv4 TCP header)", c.MaxProbeBytes)
	}
	return errors.Join(errs...)
}
