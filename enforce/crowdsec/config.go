package crowdsec

import (
	"errors"
	"fmt"
	"time"
)

// How Decisions hands a prefix target (a Range) to bouncers; see
// Config.Ranges.
const (
	// RangesExpand sends a prefix as one Ip decision per address, up to
	// Config.MaxExpand addresses; a larger prefix is refused. It is the
	// only faithful mode for crowdsec-firewall-bouncer 0.0.25 (Debian
	// 12), whose nftables sets hold addresses only: it cuts a Range
	// value at the "/" and bans the network address alone.
	RangesExpand = "expand"
	// RangesNative sends a prefix as one Range decision. Use it only
	// when every bouncer pulling from acd enforces ranges.
	RangesNative = "native"
	// RangesRefuse refuses every prefix target.
	RangesRefuse = "refuse"
)

// Config configures Decisions. The zero value is not valid; start from
// DefaultConfig.
type Config struct {
	// Ranges says how a prefix target is sent: RangesExpand (default),
	// RangesNative or RangesRefuse.
	Ranges string `yaml:"ranges"`
	// MaxExpand is the largest number of addresses RangesExpand
	// expands a prefix into (default 256: an IPv4 /24 or an IPv6 /120).
	MaxExpand int `yaml:"max_expand"`
	// PullInterval is how often bouncers are expected to pull (their
	// update_frequency; default 10s). Sync reports a bouncer that has
	// not pulled for more than three intervals.
	PullInterval time.Duration `yaml:"pull_interval"`
	// Retention is how long withdrawn and expired decisions are kept to
	// be sent in "deleted" to a bouncer pulling with startup=true
	// (default 24h, DefaultRetention).
	Retention time.Duration `yaml:"retention"`
}

// DefaultRetention is the default Config.Retention.
const DefaultRetention = 24 * time.Hour

// maxMaxExpand bounds Config.MaxExpand: one action never becomes more
// than an IPv4 /16 worth of decisions.
const maxMaxExpand = 1 << 16

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Ranges: RangesExpand, MaxExpand: 256, PullInterval: 10 * time.Second, Retention: DefaultRetention}
}

// Validate checks c, naming every bad field.
func (c Config) Validate() error {
	var errs []error
	switch c.Ranges {
	case RangesExpand, RangesNative, RangesRefuse:
	default:
		errs = append(errs, fmt.Errorf("ranges %q: want expand, native or refuse", c.Ranges))
	}
	if c.MaxExpand < 1 || c.MaxExpand > maxMaxExpand {
		errs = append(errs, fmt.Errorf("max_expand %d: want 1 to %d", c.MaxExpand, maxMaxExpand))
	}
	if c.PullInterval <= 0 {
		errs = append(errs, fmt.Errorf("pull_interval %s: want a positive duration", c.PullInterval))
	}
	if c.Retention <= 0 {
		errs = append(errs, fmt.Errorf("retention %s: want a positive duration", c.Retention))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("crowdsec: invalid config: %w", err)
	}
	return nil
}
