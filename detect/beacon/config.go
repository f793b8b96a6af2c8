package beacon

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is the beacon detector's configuration (YAML section
// detect.beacon).
type Config struct {
	// Enabled runs the detector (default true).
	Enabled bool `yaml:"enabled"`
	// MaxKeys bounds the (client, server, service) pairs tracked at first
	// sight: the slots of a 4-way set-associative array (32 bytes each;
	// rounded down to a power of two), which grows up to it while more
	// than 3/4 full. A new pair replaces the longest-unseen pair of its
	// set (counted as an eviction unless that one was idle beyond
	// 1.5 × max_interval).
	MaxKeys int `yaml:"max_keys"`
	// MaxSeries bounds the pairs promoted to a full series (32 intervals
	// and 33 sizes each), and the servers, clients and period groups they
	// reference. When it is reached, a promotion evicts the longest-unseen
	// of the next 8 series, if that one has been quiet for longer than the
	// promoted pair's newest interval (else the pair tries again at its
	// next connection).
	MaxSeries int `yaml:"max_series"`
	// PromoteAfter is how many connections a pair needs before it gets a
	// full series (2 or 3; the first ones are kept and carried over).
	PromoteAfter int `yaml:"promote_after"`
	// MinConnections is how many connections a pair needs before it is
	// judged.
	MinConnections int `yaml:"min_connections"`
	// MinSpan is how long, from its first to its newest connection, a
	// pair must have been seen before it is judged.
	MinSpan time.Duration `yaml:"min_span"`
	// MinInterval and MaxInterval bound the median interval between a
	// pair's connections for it to count as a possible beacon: faster is
	// interactive traffic, slower cannot be told from chance within the
	// state kept. A pair unseen for 1.5 × MaxInterval is forgotten.
	MinInterval time.Duration `yaml:"min_interval"`
	MaxInterval time.Duration `yaml:"max_interval"`
	// Jitter is the largest timing jitter tolerated, as a share of the
	// period (0.65: intervals anywhere within ±65 % of the period).
	Jitter float64 `yaml:"jitter"`
	// Outliers is the share of intervals a beacon may have off its band
	// (missed or extra check-ins, records lost to sampling): each costs
	// log(outliers) in the score.
	Outliers float64 `yaml:"outliers"`
	// SizeWeight weights the size regularity test against the timing test
	// (0 ignores sizes); the size part never weighs more than the timing
	// part.
	SizeWeight float64 `yaml:"size_weight"`
	// Threshold is the log likelihood ratio (regular beacon against random
	// connections) at which a server is reported, for its best pair or
	// summed over all its pairs (fan-in). 20 means the beacon explanation
	// is e^20 times likelier.
	Threshold float64 `yaml:"threshold"`
	// MaxPrevalence: a server contacted (on that service) by at least this
	// share of all active clients is shared infrastructure (time, update,
	// telemetry servers), not reported. 0 disables the test.
	MaxPrevalence float64 `yaml:"max_prevalence"`
	// PrevalenceMinClients: the prevalence test applies only to servers
	// with at least this many clients (in a small population one host is
	// a large share).
	PrevalenceMinClients int `yaml:"prevalence_min_clients"`
	// IgnoreServices are services never considered, as "port/proto"
	// ("123/udp"; proto tcp, udp, icmp, icmpv6 or a number).
	IgnoreServices []string `yaml:"ignore_services"`
	// SplitGap: a record of the same 5-tuple starting within this long
	// after the previous one ended is the same connection (split by an
	// exporter timeout); a TCP record without SYN of the same 5-tuple is
	// always a continuation.
	SplitGap time.Duration `yaml:"split_gap"`
	// Window is the reporting window: a server is reported as soon as it
	// crosses the threshold, and once more, with final figures, when the
	// window it beaconed in closes.
	Window time.Duration `yaml:"window"`
}

// DefaultConfig returns the defaults documented in README.md.
func DefaultConfig() Config {
	return Config{
		Enabled:              true,
		MaxKeys:              1 << 20,
		MaxSeries:            1 << 17,
		PromoteAfter:         3,
		MinConnections:       6,
		MinSpan:              3 * time.Minute,
		MinInterval:          5 * time.Second,
		MaxInterval:          time.Hour,
		Jitter:               0.65,
		Outliers:             0.1,
		SizeWeight:           0.5,
		Threshold:            20,
		MaxPrevalence:        0.1,
		PrevalenceMinClients: 10,
		IgnoreServices:       []string{"123/udp"},
		SplitGap:             2 * time.Second,
		Window:               10 * time.Minute,
	}
}

// service is a port and protocol.
type service struct {
	port  uint16
	proto uint8
}

// Validate checks the configuration; every problem names its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("detect.%s.%s: "+format, append([]any{Name, key}, args...)...))
	}
	if c.MaxKeys < 1 {
		bad("max_keys", "%d must be at least 1", c.MaxKeys)
	}
	if c.MaxSeries < 1 {
		bad("max_series", "%d must be at least 1", c.MaxSeries)
	}
	if c.PromoteAfter < 2 || c.PromoteAfter > firstLen+1 {
		bad("promote_after", "%d must be within 2..%d", c.PromoteAfter, firstLen+1)
	}
	if c.MinConnections < 3 || c.MinConnections > ringLen+1 {
		bad("min_connections", "%d must be within 3..%d", c.MinConnections, ringLen+1)
	}
	if c.MinSpan < 0 {
		bad("min_span", "%v is negative", c.MinSpan)
	}
	if c.MinInterval < time.Millisecond {
		bad("min_interval", "%v must be at least 1ms", c.MinInterval)
	}
	if c.MaxInterval <= c.MinInterval || c.MaxInterval > 24*time.Hour {
		bad("max_interval", "%v must be above min_interval (%v) and at most 24h", c.MaxInterval, c.MinInterval)
	}
	if !(c.Jitter > 0 && c.Jitter < 1) {
		bad("jitter", "%v must be within (0, 1)", c.Jitter)
	}
	if !(c.Outliers > 0 && c.Outliers < 1) {
		bad("outliers", "%v must be within (0, 1)", c.Outliers)
	}
	if !(c.SizeWeight >= 0 && c.SizeWeight <= 1) {
		bad("size_weight", "%v must be within [0, 1]", c.SizeWeight)
	}
	if !(c.Threshold > 0) {
		bad("threshold", "%v must be positive", c.Threshold)
	}
	if !(c.MaxPrevalence >= 0 && c.MaxPrevalence <= 1) {
		bad("max_prevalence", "%v must be within [0, 1]", c.MaxPrevalence)
	}
	if c.PrevalenceMinClients < 1 {
		bad("prevalence_min_clients", "%d must be at least 1", c.PrevalenceMinClients)
	}
	if _, err := parseServices(c.IgnoreServices); err != nil {
		errs = append(errs, err)
	}
	if c.SplitGap < 0 {
		bad("split_gap", "%v is negative", c.SplitGap)
	}
	if c.Window < time.Second {
		bad("window", "%v must be at least 1s", c.Window)
	}
	return errors.Join(errs...)
}

// parseServices reads "port/proto" entries.
func parseServices(ss []string) ([]service, error) {
	var out []service
	var errs []error
	for i, s := range ss {
		p, q, ok := strings.Cut(strings.TrimSpace(s), "/")
		port, err := strconv.ParseUint(p, 10, 16)
		proto, perr := parseProto(q)
		if !ok || err != nil || perr != nil {
			errs = append(errs, fmt.Errorf("detect.%s.ignore_services[%d]: %q is not port/proto (like 123/udp)", Name, i, s))
			continue
		}
		out = append(out, service{port: uint16(port), proto: proto})
	}
	return out, errors.Join(errs...)
}

func parseProto(s string) (uint8, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return 6, nil
	case "udp":
		return 17, nil
	case "icmp":
		return 1, nil
	case "icmpv6", "ipv6-icmp":
		return 58, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return uint8(n), err
}
