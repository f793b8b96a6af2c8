package reflection

import (
	"errors"
	"fmt"
	"time"
)

// Name is the detector's name (metrics, evidence, configuration key
// detect.reflection).
const Name = "reflection"

// maxBuckets bounds window/bucket: the per-victim rate series is a fixed
// array of this many buckets.
const maxBuckets = 12

// maxServices bounds the amplifier table (service indexes are a byte, 0
// meaning "not an amplifier port").
const maxServices = 255

// sketchBits is the size of the per-victim distinct-reflector bitmap
// (linear counting); min_reflectors must stay well below it.
const sketchBits = 512

// maxMinReflectors is the largest min_reflectors the sketch counts
// reliably.
const maxMinReflectors = 1000

// Service is one amplifier: a UDP service whose answers are much larger
// than the questions, so that a spoofed question makes it send a large
// answer to the victim.
type Service struct {
	// Name labels the service in evidence ("dns", "ntp", ...).
	Name string `yaml:"name"`
	// Port is the service's UDP port: responses come from it.
	Port uint16 `yaml:"port"`
	// MinSize is the smallest mean packet size (bytes, IP layer, as flow
	// records count them) of a response record counted as amplified: it
	// sits above the service's normal answer, so ordinary use (a DNS
	// answer, an NTP time packet) is never counted.
	MinSize int `yaml:"min_size"`
	// RequestSize is a typical size (bytes, IP layer) of the question
	// that triggers the amplified answer, for the amplification hint
	// (response bytes per flow / request size).
	RequestSize int `yaml:"request_size"`
}

// Config is the detector's configuration (key detect.reflection).
type Config struct {
	// Enabled runs the detector (default true).
	Enabled bool `yaml:"enabled"`
	// Window is the evaluation window: counts reset at each window, a
	// victim is named at most once as soon as it crosses the thresholds
	// and once more when the window closes (default 1m).
	Window time.Duration `yaml:"window"`
	// Bucket is the step of the rate series; the rate threshold applies
	// to the busiest bucket of the window (default 10s; window/bucket at
	// most 12).
	Bucket time.Duration `yaml:"bucket"`
	// Memory is how long a reflector is remembered after its last
	// amplified response, so that the reflectors that came before the
	// alarm are named too (default 5m, at least one window).
	Memory time.Duration `yaml:"memory"`
	// MinReflectors is the number of distinct reflectors sending
	// amplified responses to one victim (per service, per window) the
	// alarm needs (default 10).
	MinReflectors int `yaml:"min_reflectors"`
	// MinBps is the amplified traffic rate (bits per second, scaled by
	// the sampling rate, over the busiest bucket) the alarm needs
	// (default 2 000 000: 2 Mbit/s).
	MinBps float64 `yaml:"min_bps"`
	// MaxRequestRatio: when the victim sent at least this many requests
	// to the service's port per amplified response flow, it asked for
	// the answers (a resolver, a monitoring station) and is not a victim
	// (default 0.2). Requests are only visible when both directions
	// pass the exporter; without them the check never suppresses.
	MaxRequestRatio float64 `yaml:"max_request_ratio"`
	// MaxKeys bounds the (victim, service) keys tracked (default 50 000).
	MaxKeys int `yaml:"max_keys"`
	// MaxReflectors bounds the (reflector, victim, service) entries
	// remembered (default 100 000).
	MaxReflectors int `yaml:"max_reflectors"`
	// Services is the amplifier table (default DefaultServices()). Set
	// it to replace the whole table.
	Services []Service `yaml:"services"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Enabled:         true,
		Window:          time.Minute,
		Bucket:          10 * time.Second,
		Memory:          5 * time.Minute,
		MinReflectors:   10,
		MinBps:          2e6,
		MaxRequestRatio: 0.2,
		MaxKeys:         50_000,
		MaxReflectors:   100_000,
		Services:        DefaultServices(),
	}
}

// DefaultServices returns the default amplifier table. Sizes are IP-layer
// packet sizes. UDP 443 (DTLS) is left out: QUIC uses that port and its
// large answers are normal web traffic.
func DefaultServices() []Service {
	return []Service{
		{"dns", 53, 600, 80},          // above a classic 512-byte message: EDNS0 ANY/DNSSEC answers
		{"ntp", 123, 200, 76},         // time packets are 76 bytes; monlist answers 468
		{"ssdp", 1900, 200, 130},      // M-SEARCH answers (Internet-facing SSDP is always misuse)
		{"memcached", 11211, 400, 43}, // stats/get answers
		{"cldap", 389, 400, 90},       // rootDSE answers, about 3 KB
		{"chargen", 19, 60, 29},       // any answer: the service is obsolete
		{"qotd", 17, 60, 29},          // likewise
		{"snmp", 161, 400, 90},        // GetBulk answers; a plain get answer is smaller
		{"ws-discovery", 3702, 300, 60},
		{"mdns", 5353, 200, 60},
		{"portmap", 111, 200, 68},
		{"netbios", 137, 150, 78}, // NBSTAT answers
		{"rip", 520, 200, 52},
		{"openvpn", 1194, 200, 60},
		{"ard", 3283, 400, 33}, // Apple Remote Desktop
		{"ubiquiti", 10001, 100, 32},
		{"coap", 5683, 200, 50},
		{"mssql", 1434, 200, 29}, // SQL Server browser
		{"slp", 427, 200, 60},
		{"citrix", 1604, 200, 58},
		{"sentinel", 5093, 200, 34},
		{"jenkins", 33848, 200, 29},
		{"dvr", 37810, 200, 30}, // DVR DHCPDiscover
		{"tp240", 10074, 200, 40},
	}
}

// Validate checks the configuration; every problem names its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("detect."+Name+"."+key+": "+format, args...))
	}
	if c.Window <= 0 {
		bad("window", "%v must be positive", c.Window)
	}
	switch {
	case c.Bucket <= 0:
		bad("bucket", "%v must be positive", c.Bucket)
	case c.Bucket%time.Millisecond != 0:
		bad("bucket", "%v must be a whole number of milliseconds", c.Bucket)
	case c.Window > 0 && c.Window%c.Bucket != 0:
		bad("bucket", "%v must divide the window (%v)", c.Bucket, c.Window)
	case c.Window > 0 && c.Window/c.Bucket > maxBuckets:
		bad("bucket", "%v is too short: at most %d buckets per window (%v)", c.Bucket, maxBuckets, c.Window)
	}
	if c.Memory < c.Window {
		bad("memory", "%v must be at least the window (%v)", c.Memory, c.Window)
	}
	if c.MinReflectors < 1 || c.MinReflectors > maxMinReflectors {
		bad("min_reflectors", "%d must be between 1 and %d", c.MinReflectors, maxMinReflectors)
	}
	if c.MinBps < 0 || c.MinBps != c.MinBps {
		bad("min_bps", "%v must not be negative", c.MinBps)
	}
	if c.MaxRequestRatio < 0 || c.MaxRequestRatio != c.MaxRequestRatio {
		bad("max_request_ratio", "%v must not be negative", c.MaxRequestRatio)
	}
	if c.MaxKeys < 1 {
		bad("max_keys", "%d must be at least 1", c.MaxKeys)
	}
	if c.MaxReflectors < 1 {
		bad("max_reflectors", "%d must be at least 1", c.MaxReflectors)
	}
	if len(c.Services) == 0 {
		bad("services", "no amplifier service configured")
	}
	if len(c.Services) > maxServices {
		bad("services", "%d services, at most %d", len(c.Services), maxServices)
	}
	ports := map[uint16]int{}
	for i, s := range c.Services {
		key := fmt.Sprintf("services[%d]", i)
		if s.Name == "" {
			bad(key+".name", "missing")
		}
		if s.Port == 0 {
			bad(key+".port", "must not be 0")
		} else if j, dup := ports[s.Port]; dup {
			bad(key+".port", "%d is already services[%d]", s.Port, j)
		} else {
			ports[s.Port] = i
		}
		if s.MinSize < 1 || s.MinSize > 65535 {
			bad(key+".min_size", "%d must be between 1 and 65535", s.MinSize)
		}
		if s.RequestSize < 1 || s.RequestSize > 65535 {
			bad(key+".request_size", "%d must be between 1 and 65535", s.RequestSize)
		}
	}
	return errors.Join(errs...)
}
