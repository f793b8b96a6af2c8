package pcap

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Config.
const (
	DefaultActiveTimeout = 60 * time.Second
	DefaultIdleTimeout   = 15 * time.Second
	DefaultMaxFlows      = 1 << 20
)

// Config sets the flow meter's expiry rules and memory bound. The zero
// Config is not valid: start from DefaultConfig.
type Config struct {
	// ActiveTimeout ends a flow whose first packet is older than this
	// (packet time): it is exported and the next packet of the same
	// 5-tuple starts a new flow.
	ActiveTimeout time.Duration
	// IdleTimeout ends a flow that has seen no packet for longer than
	// this (packet time).
	IdleTimeout time.Duration
	// MaxFlows bounds the flows tracked at once. When a new flow would
	// exceed it, the least recently seen flow is exported early (an
	// eviction). Each tracked flow costs about 200 bytes.
	MaxFlows int
}

// DefaultConfig returns the defaults: 60 s active timeout, 15 s idle
// timeout, 1,048,576 flows.
func DefaultConfig() Config {
	return Config{
		ActiveTimeout: DefaultActiveTimeout,
		IdleTimeout:   DefaultIdleTimeout,
		MaxFlows:      DefaultMaxFlows,
	}
}

// maxMaxFlows keeps flow indexes within int32.
const maxMaxFlows = 1 << 30

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	if c.ActiveTimeout <= 0 {
		errs = append(errs, fmt.Errorf("active timeout must be positive, got %v", c.ActiveTimeout))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("idle timeout must be positive, got %v", c.IdleTimeout))
	}
	if c.MaxFlows < 1 || c.MaxFlows > maxMaxFlows {
		errs = append(errs, fmt.Errorf("max flows must be between 1 and %d, got %d", maxMaxFlows, c.MaxFlows))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unable to validate pcap meter config: %w", err)
	}
	return nil
}
