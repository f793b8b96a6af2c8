package detect

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Config is the engine's part of the detection configuration (key
// "detect"; each detector has its own section beside it).
type Config struct {
	// Lateness is how far a record's end may lag behind the latest
	// record start seen (the stream's position) and still count: windows
	// close that much after the stream passed their end. Exporters report
	// a flow when it ends or on their active timeout, so its end is close
	// to the stream's position; this covers their flush delays.
	Lateness time.Duration `yaml:"lateness"`
	// IdleAdvance (live feed only): when no record has arrived for this
	// long, event time follows the wall clock, so windows still close
	// when traffic stops.
	IdleAdvance time.Duration `yaml:"idle_advance"`
	// MaxFuture (live feed only): a record ending more than this after
	// the wall clock (an exporter with a wrong clock) is still used but
	// does not move event time forward.
	MaxFuture time.Duration `yaml:"max_future"`
	// MaxSuspects bounds the suspects kept; beyond it the lowest-scored,
	// longest-unseen suspect is dropped.
	MaxSuspects int `yaml:"max_suspects"`
	// Allow suppresses findings about known-good services.
	Allow []AllowRule `yaml:"allow"`
}

// AllowRule suppresses the findings of the listed detectors (all when
// empty) about addresses within Prefix. Rules match real addresses only:
// a pseudonym never matches.
type AllowRule struct {
	Prefix    string   `yaml:"prefix"`
	Detectors []string `yaml:"detectors"`
	Note      string   `yaml:"note"`
}

// DefaultConfig allows a minute of lateness and 100 000 suspects.
func DefaultConfig() Config {
	return Config{Lateness: time.Minute, IdleAdvance: 10 * time.Second, MaxFuture: 5 * time.Minute, MaxSuspects: 100_000}
}

// Validate checks c; detectors names the detectors an allow rule may name.
func (c Config) Validate(detectors ...string) error {
	var errs []error
	if c.Lateness < 0 {
		errs = append(errs, fmt.Errorf("detect.lateness: %v is negative", c.Lateness))
	}
	if c.IdleAdvance <= 0 {
		errs = append(errs, fmt.Errorf("detect.idle_advance: %v must be positive", c.IdleAdvance))
	}
	if c.MaxFuture <= 0 {
		errs = append(errs, fmt.Errorf("detect.max_future: %v must be positive", c.MaxFuture))
	}
	if c.MaxSuspects < 1 {
		errs = append(errs, fmt.Errorf("detect.max_suspects: %d must be at least 1", c.MaxSuspects))
	}
	if _, err := c.allow(detectors); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type allowRule struct {
	prefix    netip.Prefix
	detectors map[string]bool
}

func (c Config) allow(known []string) ([]allowRule, error) {
	var out []allowRule
	var errs []error
	for i, r := range c.Allow {
		p, err := netip.ParsePrefix(r.Prefix)
		if err != nil {
			a, aerr := netip.ParseAddr(r.Prefix)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("detect.allow[%d].prefix: %q is neither a prefix nor an address", i, r.Prefix))
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		ar := allowRule{prefix: p.Masked()}
		for _, d := range r.Detectors {
			if len(known) > 0 && !contains(known, d) {
				errs = append(errs, fmt.Errorf("detect.allow[%d].detectors: unknown detector %q (detectors: %v)", i, d, known))
				continue
			}
			if ar.detectors == nil {
				ar.detectors = map[string]bool{}
			}
			ar.detectors[d] = true
		}
		out = append(out, ar)
	}
	return out, errors.Join(errs...)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
