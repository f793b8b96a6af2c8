package nft

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"
)

// Hooks a chain can be attached to.
const (
	HookInput   = "input"   // traffic to the firewall host itself
	HookForward = "forward" // traffic routed through it
)

// Config configures the nftables adapter (key "enforce.nft").
type Config struct {
	// Table is the name of acd's table (family inet). acd owns it: it
	// creates it, repairs it and deletes it on Remove; it never touches
	// another table.
	Table string `yaml:"table"`
	// Hooks lists the hooks that get a base chain dropping blocked
	// sources: "input", "forward" or both (the default: a block applies
	// to the host and to what it routes).
	Hooks []string `yaml:"hooks"`
	// Priority of the base chains; the default -10 runs them before the
	// usual filter chains (priority 0), so an accept there cannot
	// bypass a block.
	Priority int `yaml:"priority"`
	// NetNS is the path of a network namespace to work in (e.g.
	// /run/netns/fw); empty means acd's own namespace.
	NetNS string `yaml:"netns"`
	// TimeoutSlack is added to the time left until an action's
	// not_after to make its element's kernel timeout: a second safety
	// net that lifts the block even if acd is not running to withdraw
	// it. Default 5m.
	TimeoutSlack time.Duration `yaml:"timeout_slack"`
}

// DefaultConfig returns the defaults: table "acd", chains on input and
// forward at priority -10, acd's namespace, 5 minutes of slack.
func DefaultConfig() Config {
	return Config{Table: "acd", Hooks: []string{HookInput, HookForward}, Priority: -10,
		TimeoutSlack: 5 * time.Minute}
}

// Validate checks c.
func (c Config) Validate() error {
	var errs []error
	if err := checkName(c.Table); err != nil {
		errs = append(errs, fmt.Errorf("table: %w", err))
	}
	if len(c.Hooks) == 0 {
		errs = append(errs, errors.New("hooks: at least one of input, forward"))
	}
	for i, h := range c.Hooks {
		if h != HookInput && h != HookForward {
			errs = append(errs, fmt.Errorf("hooks[%d]: %q is neither input nor forward", i, h))
		} else if slices.Index(c.Hooks, h) != i {
			errs = append(errs, fmt.Errorf("hooks[%d]: %q listed twice", i, h))
		}
	}
	if c.Priority < -1000 || c.Priority > 1000 {
		errs = append(errs, fmt.Errorf("priority %d: outside -1000..1000", c.Priority))
	}
	if c.NetNS != "" && !filepath.IsAbs(c.NetNS) {
		errs = append(errs, fmt.Errorf("netns %q: not an absolute path", c.NetNS))
	}
	if c.TimeoutSlack < 0 || c.TimeoutSlack > 24*time.Hour {
		errs = append(errs, fmt.Errorf("timeout_slack %s: outside 0..24h", c.TimeoutSlack))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nft: %w", err)
	}
	return nil
}

// checkName checks an nftables identifier as nft reads it: a letter or
// '_' then letters, digits, '_', '.', '-'; at most 64 bytes here.
func checkName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%q must be 1 to 64 characters", s)
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' ||
			i > 0 && (r >= '0' && r <= '9' || r == '.' || r == '-')
		if !ok {
			return fmt.Errorf("%q: letters, digits, '_', '.' and '-', starting with a letter or '_'", s)
		}
	}
	return nil
}
