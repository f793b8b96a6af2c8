package netflow

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"
)

// Config is the NetFlow/IPFIX decoder configuration. Every bound applies
// to one Decoder (one collector worker).
type Config struct {
	// TemplateTTL is how long a template lives after it was last
	// received. RFC 7011 asks for at least three times the exporter's
	// template refresh interval.
	TemplateTTL time.Duration `yaml:"template_ttl"`
	// MaxTemplatesPerExporter bounds the templates cached for one
	// exporter (address and port); the least recently refreshed one is
	// evicted to make room.
	MaxTemplatesPerExporter int `yaml:"max_templates_per_exporter"`
	// MaxTemplates bounds the templates cached for all exporters.
	MaxTemplates int `yaml:"max_templates"`
	// MaxTemplateFields bounds the fields of one template; longer
	// templates are rejected as bad_template.
	MaxTemplateFields int `yaml:"max_template_fields"`
	// MaxExporters bounds the exporters the decoder keeps state for; the
	// least recently heard one is forgotten to make room.
	MaxExporters int `yaml:"max_exporters"`
	// MaxWaitingPerExporter bounds the data sets held for one exporter
	// while their template is unknown; the oldest is dropped to make room.
	MaxWaitingPerExporter int `yaml:"max_waiting_per_exporter"`
	// MaxWaitingBytes bounds the bytes of all held data sets.
	MaxWaitingBytes int `yaml:"max_waiting_bytes"`
	// WaitingTTL is how long a data set waits for its template.
	WaitingTTL time.Duration `yaml:"waiting_ttl"`
	// SamplingDefault is the sampling rate (1 in N) given to records of
	// exporters that say nothing about sampling; 0 leaves them unsampled.
	SamplingDefault uint32 `yaml:"sampling_default"`
	// SamplingOverride maps an exporter IP address to the sampling rate
	// to use for all its records, whatever the exporter says.
	SamplingOverride map[string]uint32 `yaml:"sampling_override"`
	// MaxClockSkew is how far in the future of the receive time a flow
	// time may be before it is clamped.
	MaxClockSkew time.Duration `yaml:"max_clock_skew"`
	// MaxFlowAge is how far in the past of the receive time a flow time
	// may be before it is clamped.
	MaxFlowAge time.Duration `yaml:"max_flow_age"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		TemplateTTL:             90 * time.Minute,
		MaxTemplatesPerExporter: 256,
		MaxTemplates:            16384,
		MaxTemplateFields:       512,
		MaxExporters:            4096,
		MaxWaitingPerExporter:   64,
		MaxWaitingBytes:         8 << 20,
		WaitingTTL:              5 * time.Minute,
		MaxClockSkew:            10 * time.Minute,
		MaxFlowAge:              24 * time.Hour,
	}
}

// Validate reports every problem in c, each naming its key.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive, got %s", name, d))
		}
	}
	rng := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s: %d out of range [%d, %d]", name, v, lo, hi))
		}
	}
	pos("template_ttl", c.TemplateTTL)
	pos("waiting_ttl", c.WaitingTTL)
	pos("max_clock_skew", c.MaxClockSkew)
	pos("max_flow_age", c.MaxFlowAge)
	rng("max_templates_per_exporter", c.MaxTemplatesPerExporter, 1, 1<<16)
	rng("max_templates", c.MaxTemplates, 1, 1<<24)
	rng("max_template_fields", c.MaxTemplateFields, 1, 1<<14)
	rng("max_exporters", c.MaxExporters, 1, 1<<24)
	rng("max_waiting_per_exporter", c.MaxWaitingPerExporter, 0, 1<<16)
	rng("max_waiting_bytes", c.MaxWaitingBytes, 0, 1<<32)
	if c.MaxTemplates < c.MaxTemplatesPerExporter {
		errs = append(errs, fmt.Errorf("max_templates: %d is below max_templates_per_exporter %d",
			c.MaxTemplates, c.MaxTemplatesPerExporter))
	}
	for _, k := range slices.Sorted(maps.Keys(c.SamplingOverride)) {
		v := c.SamplingOverride[k]
		if _, err := netip.ParseAddr(k); err != nil {
			errs = append(errs, fmt.Errorf("sampling_override: key %q is not an IP address", k))
		}
		if v == 0 {
			errs = append(errs, fmt.Errorf("sampling_override: rate for %s must be at least 1", k))
		}
	}
	return errors.Join(errs...)
}
