// Package collect receives flow export datagrams over UDP and turns them
// into batches of flow.Record for the rest of the pipeline.
//
// Each configured address gets Workers sockets bound with SO_REUSEPORT.
// Each socket has two goroutines: a reader that receives datagrams in
// batches (recvmmsg) and never waits, and a decoder that owns the socket's
// decoder state (templates, sequence numbers) and hands record batches to
// the downstream flow.Sink. The kernel steers each exporter (source
// address and port) to one socket, so decoder state needs no locks.
//
// Lifecycle: New checks the configuration and does no I/O; Start binds
// every socket (and closes them all if one fails); Stop closes the
// sockets, lets each decoder drain what was already read, flushes the
// last partial batches to the sink, and returns when all goroutines have
// ended.
package collect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/flow"
)

// Kind is the kind of export a listener receives.
type Kind string

// Kinds of listeners.
const (
	KindNetFlow Kind = "netflow" // NetFlow v5, v9 and IPFIX
	KindSFlow   Kind = "sflow"   // sFlow v5
)

// Deps are the collector's dependencies.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Sink receives every record batch; see flow.Sink.
	Sink flow.Sink
	// NewDecoder builds one decoder per worker. Nil means the decoders of
	// collect/netflow and collect/sflow with the configuration's settings.
	NewDecoder func(k Kind, obs flow.Observer) flow.Decoder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Collector receives and decodes flow exports. See the package comment.
type Collector struct {
	cfg     Config
	deps    Deps
	metrics *metrics
	labels  *exporterLabels
	pool    *flow.BatchPool
	workers []*worker
}

// New returns a collector; it does no I/O.
func New(cfg Config, deps Deps) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Sink == nil {
		return nil, errors.New("collect: no sink")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registerer == nil {
		deps.Registerer = prometheus.NewRegistry()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.NewDecoder == nil {
		deps.NewDecoder = cfg.newDecoder
	}
	return &Collector{
		cfg:     cfg,
		deps:    deps,
		metrics: newMetrics(deps.Registerer),
		labels:  &exporterLabels{max: cfg.MaxExporters, labels: map[flow.Addr]string{}},
		pool:    flow.NewBatchPool(cfg.BatchSize),
	}, nil
}

// Start binds all sockets and starts the workers. If any socket cannot be
// opened, the ones already open are closed and the error is returned.
func (c *Collector) Start(ctx context.Context) error {
	for _, l := range []struct {
		kind Kind
		cfg  ListenerConfig
	}{{KindNetFlow, c.cfg.NetFlow.ListenerConfig}, {KindSFlow, c.cfg.SFlow.ListenerConfig}} {
		for _, addr := range l.cfg.Listen {
			for i := range l.cfg.Workers {
				if err := c.startWorker(ctx, l.kind, l.cfg, addr, i); err != nil {
					c.Stop()
					return err
				}
			}
		}
	}
	return nil
}

func (c *Collector) startWorker(ctx context.Context, kind Kind, lc ListenerConfig, addr string, i int) error {
	conn, granted, err := listenUDP(ctx, addr, lc.ReceiveBuffer)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s %s #%d", kind, conn.LocalAddr(), i)
	rd, err := newBatchReader(conn)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("unable to read from %s: %w", name, err)
	}
	wm := &workerMetrics{m: c.metrics, labels: c.labels, exporters: map[flow.Addr]*exporterMetrics{}}
	w := &worker{
		kind:     kind,
		listener: name,
		conn:     conn,
		rd:       rd,
		dec:      c.deps.NewDecoder(kind, wm),
		sink:     c.deps.Sink,
		pool:     c.pool,
		flushInt: c.cfg.FlushInterval,
		maxDgram: lc.MaxDatagram,
		log:      c.deps.Logger,
		wm:       wm,
		qDrops:   c.metrics.qDrops.WithLabelValues(name),
		sockDrop: c.metrics.sockDrops.WithLabelValues(name),
		readErrs: c.metrics.readErrs.WithLabelValues(name),
		now:      c.deps.Now,
	}
	c.metrics.rcvbuf.WithLabelValues(name).Set(float64(granted))
	if lc.ReceiveBuffer > 0 && granted < lc.ReceiveBuffer {
		c.deps.Logger.Warn("socket receive buffer smaller than configured; raise net.core.rmem_max or run as root",
			"listener", name, "configured", lc.ReceiveBuffer, "granted", granted)
	}
	w.start(lc.Queue, lc.ReadBatch)
	c.workers = append(c.workers, w)
	c.deps.Logger.Info("collector listening", "listener", name, "receive_buffer", granted)
	return nil
}

// Addrs returns the local addresses of the sockets of kind k, in order;
// useful when the configuration asked for port 0.
func (c *Collector) Addrs(k Kind) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range c.workers {
		a := w.conn.LocalAddr().String()
		if w.kind == k && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// Stop closes the sockets, drains what was read, flushes the last batches
// to the sink and waits for the workers. It is safe to call more than once.
func (c *Collector) Stop() {
	for _, w := range c.workers {
		_ = w.conn.Close()
	}
	for _, w := range c.workers {
		w.wg.Wait()
	}
	c.workers = nil
}
