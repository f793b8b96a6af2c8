// Package scenario generates realistic flow records with ground truth, for
// evaluating the detectors and for demos.
//
// A Config describes a scenario: a background of ordinary traffic (many
// clients; web, DNS, NTP, CDN and cloud services, update traffic, and
// periodic benign jobs that look like beacons) plus injected attacks (scans,
// brute force, DDoS, reflection, C2 beacons). A Generator streams the
// scenario's flow records in event time, in non-decreasing Start order, and
// its Labels are the ground truth: every address a perfect detector reports,
// with its role. The output is a pure function of the Config: the same seed
// gives the same records and labels.
//
// The generator merges per-actor generators (one for the background
// Poisson process, one per periodic job, one per attack) with a heap, so
// memory stays bounded whatever the duration.
package scenario

import (
	"fmt"
	"time"

	"github.com/acd-org/acd/flow"
)

// Config is one scenario.
type Config struct {
	Name       string           `yaml:"name"`
	Seed       uint64           `yaml:"seed"`
	Start      time.Time        `yaml:"start"`    // event time of the first record (default 2025-01-01T00:00:00Z)
	Duration   time.Duration    `yaml:"duration"` // required
	Background BackgroundConfig `yaml:"background"`
	Attacks    []Attack         `yaml:"attacks"`
}

// BackgroundConfig shapes the benign traffic. Zero values take defaults;
// negative counts mean none.
type BackgroundConfig struct {
	Clients        int     `yaml:"clients"`          // internal clients (default 500, at most 65535)
	Servers        int     `yaml:"servers"`          // external servers (default 2000, 32..32767)
	FlowsPerSecond float64 `yaml:"flows_per_second"` // client sessions per second, each one or two records (default 200; negative: none)
	IPv6           float64 `yaml:"ipv6"`             // share of IPv6 sessions, 0..1
	// Periodic benign jobs, the hard negatives for beacon detection:
	// NTP polls every 64 s, telemetry every 5 min ±10%, update checks
	// every 30 min ±20%. Counts of clients running each (defaults: all
	// clients, a third, a half).
	NTPClients       int `yaml:"ntp_clients"`
	TelemetryClients int `yaml:"telemetry_clients"`
	UpdateClients    int `yaml:"update_clients"`
}

// Attack kinds.
const (
	KindScanHorizontal  = "scan-horizontal"
	KindScanVertical    = "scan-vertical"
	KindScanSlow        = "scan-slow"
	KindScanDistributed = "scan-distributed"
	KindBruteforce      = "bruteforce"
	KindDDoSSYN         = "ddos-syn"
	KindDDoSUDP         = "ddos-udp"
	KindDDoSPulse       = "ddos-pulse"
	KindReflection      = "reflection"
	KindBeacon          = "beacon"
)

// Kinds returns every attack kind.
func Kinds() []string {
	return []string{KindScanHorizontal, KindScanVertical, KindScanSlow, KindScanDistributed,
		KindBruteforce, KindDDoSSYN, KindDDoSUDP, KindDDoSPulse, KindReflection, KindBeacon}
}

// Attack is one injected attack. Start is the offset from the scenario
// start; Start+Duration must lie within the scenario. Zero fields take the
// kind's defaults (see README.md).
type Attack struct {
	Kind     string        `yaml:"kind"`
	Start    time.Duration `yaml:"start"`
	Duration time.Duration `yaml:"duration"`
	// Rate is per second, for the whole attack: probes (scans), login
	// attempts (brute force), flow records (DDoS, reflection).
	Rate float64 `yaml:"rate"`
	// Sources is the number of attacker addresses: scanners
	// (scan-distributed), brute forcers, bots, reflectors, infected hosts
	// (beacon).
	Sources int `yaml:"sources"`
	// Targets is the number of hosts swept (horizontal, slow, distributed
	// scans) or of ports probed (vertical scan).
	Targets int `yaml:"targets"`
	// Port is the probed port (scans), the victim port (ddos-syn,
	// ddos-pulse) or the C2 port (beacon).
	Port uint16 `yaml:"port"`
	// Service: bruteforce ssh|rdp|ftp|telnet|smtp|imap|mysql; reflection
	// dns|ntp|memcached|ssdp|cldap; ddos-pulse syn|udp.
	Service string `yaml:"service"`
	// Interval is the beacon interval or the pulse period; On is the pulse
	// length.
	Interval time.Duration `yaml:"interval"`
	On       time.Duration `yaml:"on"`
	// Jitter is the beacon interval jitter (0..0.5: uniform within ±Jitter
	// of Interval); SizeJitter the beacon size jitter (0..1).
	Jitter     float64 `yaml:"jitter"`
	SizeJitter float64 `yaml:"size_jitter"`
	IPv6       bool    `yaml:"ipv6"`
}

// Roles of labelled addresses.
const (
	RoleScanner    = "scanner"
	RoleBruteforce = "bruteforce"
	RoleDDoSSource = "ddos-source"
	RoleDDoSVictim = "ddos-victim"
	RoleReflector  = "reflector"
	RoleC2         = "c2"
	RoleC2Client   = "c2-client"
)

// Label is one ground-truth entry: Addr takes part in attack number Attack
// (index into Config.Attacks) with Role, and appears in that attack's
// records between First and Last (record Start times).
type Label struct {
	Addr   flow.Addr `json:"addr"`
	Role   string    `json:"role"`
	Attack int       `json:"attack"`
	Kind   string    `json:"kind"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
}

var defaultStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func (c Config) withDefaults() (Config, error) {
	if c.Duration <= 0 {
		return c, fmt.Errorf("unable to configure scenario %q: duration must be positive", c.Name)
	}
	if c.Start.IsZero() {
		c.Start = defaultStart
	}
	b, err := c.Background.withDefaults()
	if err != nil {
		return c, fmt.Errorf("unable to configure scenario %q: %w", c.Name, err)
	}
	c.Background = b
	if len(c.Attacks) > maxAttacks {
		return c, fmt.Errorf("unable to configure scenario %q: %d attacks, at most %d", c.Name, len(c.Attacks), maxAttacks)
	}
	c.Attacks = append([]Attack(nil), c.Attacks...)
	for i := range c.Attacks {
		a, err := c.Attacks[i].withDefaults(c.Duration)
		if err != nil {
			return c, fmt.Errorf("unable to configure scenario %q: attacks[%d]: %w", c.Name, i, err)
		}
		c.Attacks[i] = a
	}
	return c, nil
}

func (b BackgroundConfig) withDefaults() (BackgroundConfig, error) {
	def := func(v *int, d int) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0
		}
	}
	def(&b.Clients, 500)
	def(&b.Servers, 2000)
	switch {
	case b.Clients > 65535:
		return b, fmt.Errorf("background.clients %d above 65535", b.Clients)
	case b.Servers < 32 || b.Servers >= extClientBase:
		return b, fmt.Errorf("background.servers %d not within 32..%d", b.Servers, extClientBase-1)
	case !(b.IPv6 >= 0 && b.IPv6 <= 1):
		return b, fmt.Errorf("background.ipv6 %v not within 0..1", b.IPv6)
	case b.FlowsPerSecond != b.FlowsPerSecond || b.FlowsPerSecond > 1e7:
		return b, fmt.Errorf("background.flows_per_second %v invalid", b.FlowsPerSecond)
	}
	switch {
	case b.FlowsPerSecond == 0:
		b.FlowsPerSecond = 200
	case b.FlowsPerSecond < 0:
		b.FlowsPerSecond = 0
	}
	def(&b.NTPClients, b.Clients)
	def(&b.TelemetryClients, b.Clients/3)
	def(&b.UpdateClients, b.Clients/2)
	for _, f := range []struct {
		name string
		v    int
	}{{"ntp_clients", b.NTPClients}, {"telemetry_clients", b.TelemetryClients}, {"update_clients", b.UpdateClients}} {
		if f.v > b.Clients {
			return b, fmt.Errorf("background.%s %d above clients %d", f.name, f.v, b.Clients)
		}
	}
	if b.Clients == 0 {
		b.FlowsPerSecond = 0
	}
	return b, nil
}
