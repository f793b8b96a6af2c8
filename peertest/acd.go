package peertest

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/acd-org/acd/collect"
	"github.com/acd-org/acd/flow"
)

// ACD is acd's collector listening on loopback ports, keeping every
// record it decodes.
type ACD struct {
	NetFlowPort int
	SFlowPort   int
	Registry    *prometheus.Registry
	c           *collect.Collector

	mu      sync.Mutex // guards records
	records []flow.Record
}

// StartACD starts acd's collector with its default configuration, changed
// by each of opts, listening on 127.0.0.1 on ports the kernel picks. It is
// stopped at test cleanup if the test has not stopped it.
func StartACD(ctx context.Context, t testing.TB, opts ...func(*collect.Config)) *ACD {
	t.Helper()
	cfg := collect.DefaultConfig()
	cfg.NetFlow.Listen = []string{"127.0.0.1:0"}
	cfg.SFlow.Listen = []string{"127.0.0.1:0"}
	for _, o := range opts {
		o(&cfg)
	}
	a := &ACD{Registry: prometheus.NewRegistry()}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := collect.New(cfg, collect.Deps{Logger: logger, Registerer: a.Registry, Sink: flow.SinkFunc(a.consume)})
	if err != nil {
		t.Fatalf("unable to create the collector: %v", err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatalf("unable to start the collector: %v", err)
	}
	a.c = c
	t.Cleanup(c.Stop)
	a.NetFlowPort = port(t, c.Addrs(collect.KindNetFlow))
	a.SFlowPort = port(t, c.Addrs(collect.KindSFlow))
	return a
}

func port(t testing.TB, addrs []string) int {
	t.Helper()
	if len(addrs) != 1 {
		t.Fatalf("collector listens on %v, want one address", addrs)
	}
	_, p, err := net.SplitHostPort(addrs[0])
	if err != nil {
		t.Fatalf("unable to parse collector address %q: %v", addrs[0], err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("unable to parse collector port %q: %v", p, err)
	}
	return n
}

// NetFlowAddr returns the "127.0.0.1:port" of the NetFlow/IPFIX socket.
func (a *ACD) NetFlowAddr() string { return "127.0.0.1:" + strconv.Itoa(a.NetFlowPort) }

// SFlowAddr returns the "127.0.0.1:port" of the sFlow socket.
func (a *ACD) SFlowAddr() string { return "127.0.0.1:" + strconv.Itoa(a.SFlowPort) }

func (a *ACD) consume(b *flow.Batch) {
	a.mu.Lock()
	a.records = append(a.records, b.Records...)
	a.mu.Unlock()
	b.Release()
}

// Stop waits until the collector has read every datagram sent to its
// sockets, stops it (which decodes and flushes what was read) and
// returns every record it produced. It fails the test if the kernel
// dropped datagrams on its sockets.
func (a *ACD) Stop(ctx context.Context, t testing.TB) []flow.Record {
	t.Helper()
	for _, p := range []int{a.NetFlowPort, a.SFlowPort} {
		st, err := WaitUDPDrained(ctx, p)
		if err != nil {
			t.Fatalf("acd: %v", err)
		}
		if st.Drops != 0 {
			t.Errorf("acd: the kernel dropped %d datagrams on port %d", st.Drops, p)
		}
	}
	a.c.Stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]flow.Record(nil), a.records...)
}

// Counter returns the sum over all label values of the collector metric
// name (e.g. "acd_collect_errors_total"), and the label sets with a
// non-zero value, for messages.
func (a *ACD) Counter(t testing.TB, name string) (float64, []string) {
	t.Helper()
	mfs, err := a.Registry.Gather()
	if err != nil {
		t.Fatalf("unable to gather metrics: %v", err)
	}
	var sum float64
	var nonzero []string
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v := metricValue(m)
			sum += v
			if v != 0 {
				nonzero = append(nonzero, labelString(m)+"="+strconv.FormatFloat(v, 'f', -1, 64))
			}
		}
	}
	return sum, nonzero
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	}
	return 0
}

func labelString(m *dto.Metric) string {
	s := "{"
	for i, l := range m.GetLabel() {
		if i > 0 {
			s += ","
		}
		s += l.GetName() + "=" + strconv.Quote(l.GetValue())
	}
	return s + "}"
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
