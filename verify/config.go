package verify

import (
	"errors"
	"fmt"
	"time"
)

// Config is the verifier's configuration (key "verify").
type Config struct {
	// Window is the length of the before and the after windows; whole
	// minutes, at least one.
	Window time.Duration `yaml:"window"`
	// Grace is skipped after activation before the after window opens:
	// the time the equipment takes to apply the action, plus exporter
	// delays (active timeouts report flows that started before).
	Grace time.Duration `yaml:"grace"`
	// Reduction is the share by which the flow rate (and the packet rate)
	// must fall for the action to be judged effective, in (0, 1].
	Reduction float64 `yaml:"reduction"`
	// MinBeforeFlows is the number of (sampling-scaled) flows the before
	// window must hold to be a baseline; below it there was nothing to
	// stop and the verdict is unmeasurable (unless a hint is given).
	MinBeforeFlows float64 `yaml:"min_before_flows"`
	// MaxWatches bounds the targets followed (prewatched, watched and
	// judged together). Judged ones are dropped first when it is reached.
	MaxWatches int `yaml:"max_watches"`
	// Lateness is how far behind the latest record start seen the
	// verifier's event time lags: records arriving that late still count.
	Lateness time.Duration `yaml:"lateness"`
	// IdleAdvance (live feeds): when no record has moved event time for
	// this long, event time follows the wall clock, so that a target
	// that went silent, on a stream that went silent, is still judged.
	IdleAdvance time.Duration `yaml:"idle_advance"`
	// MaxFuture (live feeds): records starting later than the wall clock
	// plus this are ignored (an exporter with a wrong clock).
	MaxFuture time.Duration `yaml:"max_future"`
	// Interval is how often Start's goroutine calls Evaluate.
	Interval time.Duration `yaml:"interval"`
}

// DefaultConfig returns the defaults: 5-minute windows, 2 minutes of
// grace, a 90 % reduction, 10 flows of baseline, 10 000 watches, the
// detection engine's lateness (1 minute), idle advance (10 s) and
// future limit (5 minutes), and an evaluation every 5 seconds.
func DefaultConfig() Config {
	return Config{
		Window:         5 * time.Minute,
		Grace:          2 * time.Minute,
		Reduction:      0.9,
		MinBeforeFlows: 10,
		MaxWatches:     10_000,
		Lateness:       time.Minute,
		IdleAdvance:    10 * time.Second,
		MaxFuture:      5 * time.Minute,
		Interval:       5 * time.Second,
	}
}

// maxWindow bounds Window, and so each watch's memory.
const maxWindow = time.Hour

// Validate checks c and lists every problem.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Window < time.Minute || c.Window > maxWindow || c.Window%time.Minute != 0 {
		add("verify.window: %v must be whole minutes, 1m to %v", c.Window, maxWindow)
	}
	if c.Grace < 0 || c.Grace > maxWindow {
		add("verify.grace: %v must be 0 to %v", c.Grace, maxWindow)
	}
	if !(c.Reduction > 0 && c.Reduction <= 1) {
		add("verify.reduction: %v must be in (0, 1]", c.Reduction)
	}
	if !(c.MinBeforeFlows >= 1) {
		add("verify.min_before_flows: %v must be at least 1", c.MinBeforeFlows)
	}
	if c.MaxWatches < 1 {
		add("verify.max_watches: %d must be at least 1", c.MaxWatches)
	}
	if c.Lateness < 0 || c.Lateness > maxWindow {
		add("verify.lateness: %v must be 0 to %v", c.Lateness, maxWindow)
	}
	if c.IdleAdvance <= 0 {
		add("verify.idle_advance: %v must be positive", c.IdleAdvance)
	}
	if c.MaxFuture <= 0 {
		add("verify.max_future: %v must be positive", c.MaxFuture)
	}
	if c.Interval <= 0 {
		add("verify.interval: %v must be positive", c.Interval)
	}
	return errors.Join(errs...)
}

// ringMinutes is the number of per-minute buckets a watch keeps: the
// before window, the grace, the after window, and the lateness, with two
// minutes of slack for partial minutes.
func (c Config) ringMinutes() int {
	return int(2*c.Window/time.Minute + (c.Grace+c.Lateness+time.Minute-1)/time.Minute + 2)
}
