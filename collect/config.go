package collect

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/acd-org/acd/collect/netflow"
	"github.com/acd-org/acd/collect/sflow"
)

// Config is the collector's configuration (key "collect").
type Config struct {
	// NetFlow receives NetFlow v5, v9 and IPFIX; the version comes from
	// each datagram's header, so one port can carry all three.
	NetFlow NetFlowConfig `yaml:"netflow"`
	// SFlow receives sFlow v5.
	SFlow SFlowConfig `yaml:"sflow"`
	// BatchSize is the number of records per batch handed downstream.
	BatchSize int `yaml:"batch_size"`
	// FlushInterval bounds how long a partly filled batch waits.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// MaxExporters bounds the number of exporters with their own metric
	// labels; datagrams from exporters past the bound are still decoded,
	// and counted under exporter="other".
	MaxExporters int `yaml:"max_exporters"`
}

// NetFlowConfig configures the NetFlow/IPFIX sockets and decoder.
type NetFlowConfig struct {
	ListenerConfig `yaml:",inline"`
	Decoder        netflow.Config `yaml:"decoder"`
}

// SFlowConfig configures the sFlow sockets and decoder.
type SFlowConfig struct {
	ListenerConfig `yaml:",inline"`
	Decoder        sflow.Config `yaml:"decoder"`
}

// ListenerConfig configures the UDP sockets of one kind of collector.
type ListenerConfig struct {
	// Listen is the list of UDP addresses to listen on; empty disables
	// the collector.
	Listen []string `yaml:"listen"`
	// Workers is the number of sockets (SO_REUSEPORT) per address, each
	// with its own reader and decoder goroutine. The kernel steers each
	// exporter to one socket, so template state stays per worker.
	Workers int `yaml:"workers"`
	// ReceiveBuffer is the socket receive buffer in bytes (SO_RCVBUFFORCE
	// when running as root, else SO_RCVBUF capped by net.core.rmem_max).
	ReceiveBuffer int `yaml:"receive_buffer"`
	// ReadBatch is the number of datagrams read per recvmmsg call.
	ReadBatch int `yaml:"read_batch"`
	// Queue is the number of read batches a worker's reader can hand to
	// its decoder before it starts dropping (the reader never waits).
	Queue int `yaml:"queue"`
	// MaxDatagram is the largest datagram accepted; longer ones are
	// counted as truncated and dropped.
	MaxDatagram int `yaml:"max_datagram"`
}

// DefaultConfig returns the collector defaults: NetFlow/IPFIX on 2055 and
// 4739, sFlow on 6343, all addresses.
func DefaultConfig() Config {
	l := func(addrs ...string) ListenerConfig {
		return ListenerConfig{
			Listen:        addrs,
			Workers:       1,
			ReceiveBuffer: 32 << 20,
			ReadBatch:     64,
			Queue:         64,
			MaxDatagram:   9216,
		}
	}
	return Config{
		NetFlow:       NetFlowConfig{ListenerConfig: l(":2055", ":4739"), Decoder: netflow.DefaultConfig()},
		SFlow:         SFlowConfig{ListenerConfig: l(":6343"), Decoder: sflow.DefaultConfig()},
		BatchSize:     1024,
		FlushInterval: 200 * time.Millisecond,
		MaxExporters:  1024,
	}
}

// Validate reports every problem in c.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.NetFlow.validate("collect.netflow"), c.SFlow.validate("collect.sflow"))
	if err := c.NetFlow.Decoder.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("collect.netflow.decoder: %w", err))
	}
	if err := c.SFlow.Decoder.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("collect.sflow.decoder: %w", err))
	}
	if c.BatchSize < 1 || c.BatchSize > 1<<20 {
		errs = append(errs, fmt.Errorf("collect.batch_size: %d out of range [1, 1048576]", c.BatchSize))
	}
	if c.FlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("collect.flush_interval: must be positive, got %s", c.FlushInterval))
	}
	if c.MaxExporters < 1 {
		errs = append(errs, fmt.Errorf("collect.max_exporters: must be at least 1, got %d", c.MaxExporters))
	}
	return errors.Join(errs...)
}

func (l ListenerConfig) validate(prefix string) error {
	var errs []error
	for i, a := range l.Listen {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("%s.listen[%d]: %q is not host:port: %w", prefix, i, a, err))
		}
	}
	check := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s.%s: %d out of range [%d, %d]", prefix, name, v, lo, hi))
		}
	}
	check("workers", l.Workers, 1, 256)
	check("receive_buffer", l.ReceiveBuffer, 0, 1<<30)
	check("read_batch", l.ReadBatch, 1, 1024)
	check("queue", l.Queue, 1, 65536)
	check("max_datagram", l.MaxDatagram, 512, 65535)
	return errors.Join(errs...)
}
