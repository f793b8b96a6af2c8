package sflow

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// Byte count modes (Config.ByteCount).
const (
	// BytesFrame counts the frame_length of raw packet header records (the
	// sampled frame, layer 2 included) and the IP length of sampled
	// IPv4/IPv6 records: what sflowtool, nfdump and goflow2 count.
	BytesFrame = "frame"
	// BytesIP counts layer-3 bytes: the IP header's length when the
	// sampled header holds one, else frame_length minus the stripped
	// octets and the link-layer headers.
	BytesIP = "ip"
)

// Config is the sFlow decoder configuration. Every bound applies to one
// Decoder (one collector worker).
type Config struct {
	// SamplingDefault is the sampling rate (1 in N) given to flow samples
	// whose sampling_rate is 0; 0 leaves them unsampled.
	SamplingDefault uint32 `yaml:"sampling_default"`
	// SamplingOverride maps an sFlow agent address (the address in the
	// datagram, not the UDP source) to the sampling rate to use for all
	// its samples, whatever the agent says.
	SamplingOverride map[string]uint32 `yaml:"sampling_override"`
	// MaxSamplesPerDatagram bounds the samples read from one datagram;
	// the rest is dropped with ErrTooManySamples.
	MaxSamplesPerDatagram int `yaml:"max_samples_per_datagram"`
	// MaxRecordsPerSample bounds the records read from one sample; the
	// rest of the sample is dropped with ErrTooManyRecords.
	MaxRecordsPerSample int `yaml:"max_records_per_sample"`
	// MaxAgents bounds the (agent, sub-agent) pairs whose sequence numbers
	// are tracked; an arbitrary one is forgotten to make room.
	MaxAgents int `yaml:"max_agents"`
	// MaxSourcesPerAgent bounds the data sources tracked per agent.
	MaxSourcesPerAgent int `yaml:"max_sources_per_agent"`
	// ByteCount is BytesFrame ("frame") or BytesIP ("ip").
	ByteCount string `yaml:"byte_count"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		MaxSamplesPerDatagram: 1024,
		MaxRecordsPerSample:   64,
		MaxAgents:             4096,
		MaxSourcesPerAgent:    1024,
		ByteCount:             BytesFrame,
	}
}

// Validate reports every problem in c, each naming its key.
func (c Config) Validate() error {
	var errs []error
	rng := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s: %d out of range [%d, %d]", name, v, lo, hi))
		}
	}
	rng("max_samples_per_datagram", c.MaxSamplesPerDatagram, 1, 1<<16)
	rng("max_records_per_sample", c.MaxRecordsPerSample, 1, 1<<16)
	rng("max_agents", c.MaxAgents, 1, 1<<24)
	rng("max_sources_per_agent", c.MaxSourcesPerAgent, 1, 1<<20)
	if c.ByteCount != BytesFrame && c.ByteCount != BytesIP {
		errs = append(errs, fmt.Errorf("byte_count: %q is neither %q nor %q", c.ByteCount, BytesFrame, BytesIP))
	}
	for _, k := range slices.Sorted(maps.Keys(c.SamplingOverride)) {
		if _, err := netip.ParseAddr(k); err != nil {
			errs = append(errs, fmt.Errorf("sampling_override: key %q is not an IP address", k))
		}
		if c.SamplingOverride[k] == 0 {
			errs = append(errs, fmt.Errorf("sampling_override: rate for %s must be at least 1", k))
		}
	}
	return errors.Join(errs...)
}
