package ddos

import (
	"errors"
	"fmt"
	"time"
)

// Name is the detector's name (metrics, evidence, configuration key
// detect.ddos).
const Name = "ddos"

// maxMinSources is the largest min_sources the 64-bit distinct-source
// sketch can tell apart from "many".
const maxMinSources = 150

// Floors are a vector's absolute alarm floors, as rates of the traffic the
// network carried (sampled counters are scaled by the sampling rate). A
// vector alarms when one of its rates reaches both its floor and
// multiplier × the destination's baseline. 0 disables a rate.
type Floors struct {
	// PPS is packets per second.
	PPS float64 `yaml:"pps"`
	// BPS is bits per second (layer 3).
	BPS float64 `yaml:"bps"`
	// FPS is flows (records) per second.
	FPS float64 `yaml:"fps"`
}

// Config configures the DDoS detector (YAML section detect.ddos).
type Config struct {
	// Enabled turns the detector on (default true).
	Enabled bool `yaml:"enabled"`
	// MaxKeys bounds the destinations tracked (counters and baseline per
	// destination); beyond it the destination seen least recently is
	// evicted (destinations under attack last).
	MaxKeys int `yaml:"max_keys"`
	// MaxSources bounds the (source, destination) pairs remembered while a
	// destination's traffic is hot or under attack; beyond it the pair
	// with the fewest records is evicted.
	MaxSources int `yaml:"max_sources"`
	// MaxAttacks bounds the attacks followed at once.
	MaxAttacks int `yaml:"max_attacks"`
	// Bucket is the rate interval: counters are kept per destination in
	// buckets this long, and a rate is a bucket's count over its length.
	Bucket time.Duration `yaml:"bucket"`
	// Window is the reporting window: each attack and each named source
	// is reported again with its counts when a window closes.
	Window time.Duration `yaml:"window"`
	// Hold keeps an attack open this long after its last bucket above the
	// alarm level, so a pulsed flood stays one attack.
	Hold time.Duration `yaml:"hold"`
	// BaselineHalfLife is the half-life of the per-destination baseline
	// (an exponentially weighted mean of bucket rates, not updated while
	// the destination is under attack).
	BaselineHalfLife time.Duration `yaml:"baseline_half_life"`
	// Multiplier: a rate alarms only at multiplier × the baseline or more.
	Multiplier float64 `yaml:"multiplier"`
	// MinSources is the estimated number of distinct sources a vector's
	// bucket needs to alarm: a distributed attack, not one host's bulk
	// transfer or a single scanner (at most 150).
	MinSources int `yaml:"min_sources"`
	// MinSourceRecords is the number of flood records a source must send
	// to the victim while the flood is hot to be named ddos-source
	// (random spoofed sources seldom repeat).
	MinSourceRecords int `yaml:"min_source_records"`
	// WatchFraction: once a bucket reaches this share of the alarm level,
	// the destination's sources are remembered, so those that sent before
	// the alarm are named too. In (0,1].
	WatchFraction float64 `yaml:"watch_fraction"`
	// IdleTimeout drops a destination (and its baseline) not seen for
	// this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// AmplifierPorts are the UDP source ports of reflection/amplification
	// services: UDP from them (and port-less UDP fragments) is the
	// reflection vector, whose sources are reflectors, never named
	// ddos-source.
	AmplifierPorts []uint16 `yaml:"amplifier_ports"`
	// SYN floors TCP records with SYN and without ACK (SYN floods).
	SYN Floors `yaml:"syn"`
	// UDP floors UDP not from an amplifier port.
	UDP Floors `yaml:"udp"`
	// ICMP floors ICMP and ICMPv6.
	ICMP Floors `yaml:"icmp"`
	// Reflection floors UDP from amplifier ports and UDP fragments.
	Reflection Floors `yaml:"reflection"`
	// TCP floors TCP records with neither SYN nor PSH (ACK, RST, FIN
	// floods); TCP with SYN|ACK or PSH is established traffic and counts
	// toward no vector.
	TCP Floors `yaml:"tcp"`
	// Other floors the other IP protocols (GRE, ESP, ...).
	Other Floors `yaml:"other"`
}

// DefaultAmplifierPorts are the UDP services commonly abused for
// reflection: chargen 19, DNS 53, TFTP 69, portmap 111, NTP 123, NetBIOS
// 137, SNMP 161, CLDAP 389, SSDP 1900, ARD 3283, WS-Discovery 3702, mDNS
// 5353, CoAP 5683, memcached 11211, Quake/game 27960, Ubiquiti 10001,
// OpenVPN 1194, RIPv1 520, Jenkins 33848, SLP 427.
func DefaultAmplifierPorts() []uint16 {
	return []uint16{19, 53, 69, 111, 123, 137, 161, 389, 427, 520, 1194, 1900, 3283, 3702, 5353, 5683, 10001, 11211, 27960, 33848}
}

// DefaultConfig returns the defaults. The floors are rates of the real
// traffic (sampled counters scaled by the sampling rate) that one host
// would rarely receive from ten or more sources in normal operation: 1000
// half-open TCP connections per second, 10 000 UDP packets (or 100 Mbit/s,
// or 5000 flows) per second, 5000 ICMP packets per second, 2000 packets or
// 10 Mbit/s per second from amplifier ports, 50 000 packets or 500 Mbit/s
// per second of flagless TCP. With sampling, the flow rates assume flows
// of a few packets (see README).
func DefaultConfig() Config {
	return Config{
		Enabled:          true,
		MaxKeys:          200_000,
		MaxSources:       100_000,
		MaxAttacks:       1024,
		Bucket:           time.Second,
		Window:           time.Minute,
		Hold:             2 * time.Minute,
		BaselineHalfLife: 10 * time.Minute,
		Multiplier:       8,
		MinSources:       10,
		MinSourceRecords: 2,
		WatchFraction:    0.25,
		IdleTimeout:      time.Hour,
		AmplifierPorts:   DefaultAmplifierPorts(),
		SYN:              Floors{PPS: 1000, FPS: 1000},
		UDP:              Floors{PPS: 10_000, BPS: 100e6, FPS: 5000},
		ICMP:             Floors{PPS: 5000, BPS: 50e6},
		Reflection:       Floors{PPS: 2000, BPS: 10e6},
		TCP:              Floors{PPS: 50_000, BPS: 500e6},
		Other:            Floors{PPS: 10_000, BPS: 100e6},
	}
}

// floors returns the floors per vector.
func (c *Config) floors() [nVec]Floors {
	return [nVec]Floors{vSYN: c.SYN, vUDP: c.UDP, vICMP: c.ICMP, vRefl: c.Reflection, vTCP: c.TCP, vOther: c.Other}
}

// Validate checks c; every problem is reported, each naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("detect."+Name+"."+key+": "+format, args...))
	}
	if c.MaxKeys < 1 {
		bad("max_keys", "%d must be at least 1", c.MaxKeys)
	}
	if c.MaxSources < 1 {
		bad("max_sources", "%d must be at least 1", c.MaxSources)
	}
	if c.MaxAttacks < 1 {
		bad("max_attacks", "%d must be at least 1", c.MaxAttacks)
	}
	if c.Bucket < time.Millisecond {
		bad("bucket", "%v must be at least 1ms", c.Bucket)
	}
	if c.Window < c.Bucket || (c.Bucket > 0 && c.Window%c.Bucket != 0) {
		bad("window", "%v must be a multiple of bucket (%v)", c.Window, c.Bucket)
	}
	if c.Hold < 0 {
		bad("hold", "%v is negative", c.Hold)
	}
	if c.BaselineHalfLife < c.Bucket {
		bad("baseline_half_life", "%v must be at least one bucket (%v)", c.BaselineHalfLife, c.Bucket)
	}
	if !(c.Multiplier >= 1) {
		bad("multiplier", "%v must be at least 1", c.Multiplier)
	}
	if c.MinSources < 1 || c.MinSources > maxMinSources {
		bad("min_sources", "%d must be in 1..%d", c.MinSources, maxMinSources)
	}
	if c.MinSourceRecords < 1 {
		bad("min_source_records", "%d must be at least 1", c.MinSourceRecords)
	}
	if !(c.WatchFraction > 0 && c.WatchFraction <= 1) {
		bad("watch_fraction", "%v must be in (0,1]", c.WatchFraction)
	}
	if c.IdleTimeout < c.Window {
		bad("idle_timeout", "%v must be at least one window (%v)", c.IdleTimeout, c.Window)
	}
	for v, f := range c.floors() {
		key := vectorNames[v]
		if f.PPS < 0 || f.BPS < 0 || f.FPS < 0 || f.PPS != f.PPS || f.BPS != f.BPS || f.FPS != f.FPS {
			bad(key, "floors %+v must not be negative", f)
		}
	}
	return errors.Join(errs...)
}
