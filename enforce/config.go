package enforce

import "github.com/acd-org/acd/cases"

// Config is the enforcement side's configuration (key "enforce").
type Config struct {
	// RecordOnly gives every action type the Recorder: approved actions
	// pass the gate and are recorded (and audited) but nothing is carried
	// out on any equipment. For demonstrations and end-to-end tests until
	// the real adapters are configured; acd logs a warning when it is on.
	RecordOnly bool `yaml:"record_only"`
}

// DefaultConfig configures no adapter: an approved action is refused at
// execution (and audited) rather than pretending to run.
func DefaultConfig() Config { return Config{} }

// Validate checks c.
func (c Config) Validate() error { return nil }

// Adapters returns the adapters c configures, by action type.
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
