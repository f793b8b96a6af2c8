package minimize

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/minimize/space"
)

// Config is the screening stage's configuration (key "screen").
type Config struct {
	// Domestic is the domestic address space.
	Domestic space.Config `yaml:"domestic"`
	// Keep lists the classes passed downstream: transit, inbound,
	// outbound. Domestic records are never kept.
	Keep []string `yaml:"keep"`
	// Fields lists the record fields that pass; every other field is
	// zeroed. Names: see FieldNames.
	Fields []string `yaml:"fields"`
	// Key configures the pseudonymization key.
	Key KeyConfig `yaml:"key"`
	// Retention gives, per kept class, how long minimized records or
	// aggregates derived from them may be stored.
	Retention RetentionConfig `yaml:"retention"`
	// CacheEntries is the size of each worker's pseudonym cache.
	CacheEntries int `yaml:"cache_entries"`
}

// KeyConfig configures the pseudonymization key.
type KeyConfig struct {
	// File holds the master key ("acd keygen FILE" writes one). Without
	// it, acd serve refuses to start: it never runs unscreened.
	File string `yaml:"file"`
	// Rotation is the length of a key epoch: every epoch derives its own
	// Crypto-PAn key from the master key, so the same address gets
	// another pseudonym in the next epoch. Epochs follow flow time.
	Rotation time.Duration `yaml:"rotation"`
}

// RetentionConfig is the time to live of stored minimized data, per class.
type RetentionConfig struct {
	Transit  time.Duration `yaml:"transit"`
	Inbound  time.Duration `yaml:"inbound"`
	Outbound time.Duration `yaml:"outbound"`
	// Interval is how often the deletion job runs.
	Interval time.Duration `yaml:"interval"`
}

// DefaultConfig keeps transit, inbound and outbound records with the
// fields detection needs, rotates keys daily, and retains minimized data
// 30 days (transit 7).
func DefaultConfig() Config {
	return Config{
		Domestic: space.DefaultConfig(),
		Keep:     []string{"transit", "inbound", "outbound"},
		Fields:   slices.Clone(defaultFields),
		Key:      KeyConfig{Rotation: 24 * time.Hour},
		Retention: RetentionConfig{
			Transit:  7 * 24 * time.Hour,
			Inbound:  30 * 24 * time.Hour,
			Outbound: 30 * 24 * time.Hour,
			Interval: time.Hour,
		},
		CacheEntries: 1 << 16,
	}
}

// Validate reports every problem in c, each naming its key under
// "screen.". It does no file I/O: the key file and delegated files are
// read by New and Reload.
func (c Config) Validate() error {
	var errs []error
	if err := c.Domestic.ValidateKey("screen.domestic"); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseClasses(c.Keep); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseFields(c.Fields); err != nil {
		errs = append(errs, err)
	}
	if c.Key.Rotation < time.Minute {
		errs = append(errs, fmt.Errorf("screen.key.rotation: %s is shorter than one minute", c.Key.Rotation))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"transit", c.Retention.Transit}, {"inbound", c.Retention.Inbound}, {"outbound", c.Retention.Outbound}, {"interval", c.Retention.Interval}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("screen.retention.%s: must be positive, got %s", d.name, d.v))
		}
	}
	if c.CacheEntries < 16 || c.CacheEntries > 1<<24 {
		errs = append(errs, fmt.Errorf("screen.cache_entries: %d out of range [16, 16777216]", c.CacheEntries))
	}
	return errors.Join(errs...)
}

// parseClasses turns the keep list into a lookup by class.
func parseClasses(names []string) ([5]bool, error) {
	var keep [5]bool
	var errs []error
	for i, n := range names {
		switch n {
		case "transit":
			keep[flow.ClassTransit] = true
		case "inbound":
			keep[flow.ClassInbound] = true
		case "outbound":
			keep[flow.ClassOutbound] = true
		case "domestic":
			errs = append(errs, fmt.Errorf("screen.keep[%d]: domestic records are never kept (the law allows only communications that cross the border)", i))
		default:
			errs = append(errs, fmt.Errorf("screen.keep[%d]: unknown class %q (transit, inbound, outbound)", i, n))
		}
	}
	return keep, errors.Join(errs...)
}
