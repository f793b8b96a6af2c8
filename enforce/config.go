package enforce

import (
	"errors"
	"fmt"
	"time"

	"github.com/acd-org/acd/cases"
)

// Config is the enforcement side's own configuration (key "enforce"; the
// adapters' sections sit beside these keys and belong to their
// packages).
type Config struct {
	// RecordOnly gives every action type without a configured adapter
	// the Recorder: approved actions pass the gate and are recorded (and
	// audited) but not carried out on any equipment. For demonstrations
	// and end-to-end tests; acd logs a warning when it is on.
	RecordOnly bool `yaml:"record_only"`
	// Rails are the safety rails checked where actions run.
	Rails Rails `yaml:"rails"`
	// ReconcileEvery is how often the actions in effect are re-asserted
	// on the equipment (and once at start).
	ReconcileEvery time.Duration `yaml:"reconcile_every"`
	// TimersEvery is how often ended windows are withdrawn and expired,
	// and unreviewed emergencies rolled back: the most those can be late.
	TimersEvery time.Duration `yaml:"timers_every"`
}

// DefaultConfig configures no adapter (an approved action is refused at
// execution, and audited, rather than pretending to run), the default
// rails, a reconciliation every 30 seconds and the timers every minute.
func DefaultConfig() Config {
	return Config{Rails: DefaultRails(), ReconcileEvery: 30 * time.Second, TimersEvery: time.Minute}
}

// Validate checks c.
func (c Config) Validate() error {
	var errs []error
	if err := c.Rails.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.ReconcileEvery < time.Second {
		errs = append(errs, fmt.Errorf("reconcile_every %s: want at least 1s", c.ReconcileEvery))
	}
	if c.TimersEvery < time.Second || c.TimersEvery > time.Hour {
		errs = append(errs, fmt.Errorf("timers_every %s: want 1s to 1h", c.TimersEvery))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("enforce: %w", err)
	}
	return nil
}

// Adapters returns the adapters c configures by itself, by action type:
// the Recorder for every type under RecordOnly, else none. The daemon
// adds the real adapters over these.
func (c Config) Adapters() map[ActionType]Adapter {
	m := map[ActionType]Adapter{}
	if c.RecordOnly {
		r := &Recorder{Label: "record-only"}
		for _, t := range cases.ActionTypes() {
			m[t] = r
		}
	}
	return m
}
