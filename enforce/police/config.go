package police

import (
	"errors"
	"fmt"
)

// Config configures the police channels (key "enforce.police").
type Config struct {
	// Channels are the authorized channels; an action naming another is
	// refused.
	Channels []Channel `yaml:"channels"`
	// StateDir holds the ledger of packages handed over. Required.
	StateDir string `yaml:"state_dir"`
	// Organization names the sender in the package's statement.
	Organization string `yaml:"organization"`
	// AuditExcerpt bounds the audit entries put in a package (the latest
	// ones; 0: DefaultAuditExcerpt).
	AuditExcerpt int `yaml:"audit_excerpt"`
}

// Channel is one authorized recipient: packages for it are written into
// Dir (a directory the channel collects from, e.g. a mounted drop box).
type Channel struct {
	Name string `yaml:"name"`
	Dir  string `yaml:"dir"`
}

// DefaultAuditExcerpt is Config.AuditExcerpt's default.
const DefaultAuditExcerpt = 1000

// DefaultConfig configures no channel: every police request is refused.
func DefaultConfig() Config { return Config{Organization: "acd", AuditExcerpt: DefaultAuditExcerpt} }

// Validate checks c and names every problem.
func (c Config) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		switch {
		case ch.Name == "":
			errs = append(errs, fmt.Errorf("channels[%d]: no name", i))
		case seen[ch.Name]:
			errs = append(errs, fmt.Errorf("channels[%d]: channel %q given twice", i, ch.Name))
		}
		seen[ch.Name] = true
		if ch.Dir == "" {
			errs = append(errs, fmt.Errorf("channels[%d] (%s): no dir", i, ch.Name))
		}
	}
	if len(c.Channels) > 0 && c.StateDir == "" {
		errs = append(errs, errors.New("no state_dir: the ledger of packages handed over is required"))
	}
	if c.AuditExcerpt < 0 {
		errs = append(errs, fmt.Errorf("audit_excerpt %d is negative", c.AuditExcerpt))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("police: invalid configuration: %w", err)
	}
	return nil
}
