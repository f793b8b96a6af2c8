package collect

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/acd-org/acd/flow"
)

// fakeDecoder emits pkt[0] records per datagram, each with SrcPort = the
// datagram's second byte, and fails with reason "fake_bad" when pkt[0] is
// 0xff. It is a unit-test stand-in for the real decoders, which are
// tested against real exporters in their own packages and in peertest.
type fakeDecoder struct{ obs flow.Observer }

var errFake = &flow.DecodeError{Reason: "fake_bad"}

func (d *fakeDecoder) Decode(pkt []byte, exp flow.Exporter, now time.Time, out []flow.Record) ([]flow.Record, flow.Format, error) {
	if len(pkt) < 2 {
		return out, flow.FormatUnknown, &flow.DecodeError{Reason: "short"}
	}
	if pkt[0] == 0xff {
		return out, flow.FormatNetFlowV9, errFake
	}
	for range int(pkt[0]) {
		out = append(out, flow.Record{SrcPort: uint16(pkt[1]), Exporter: exp.Addr, Start: now.UnixMilli(), Format: flow.FormatNetFlowV9})
	}
	d.obs.Observe(exp, flow.FormatNetFlowV9, flow.EventTemplates, 1)
	return out, flow.FormatNetFlowV9, nil
}

type countingSink struct {
	mu      sync.Mutex
	records int
	batches int
	ports   map[uint16]int
}

func (s *countingSink) Consume(b *flow.Batch) {
	s.mu.Lock()
	s.records += len(b.Records)
	s.batches++
	for _, r := range b.Records {
		s.ports[r.SrcPort]++
	}
	s.mu.Unlock()
	b.Release()
}

func (s *countingSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.NetFlow.Listen = []string{"127.0.0.1:0"}
	cfg.SFlow.Listen = nil
	cfg.NetFlow.ReceiveBuffer = 1 << 20
	cfg.FlushInterval = time.Hour // only Stop (or a full batch) flushes
	cfg.BatchSize = 64
	return cfg
}

func startCollector(t *testing.T, cfg Config) (*Collector, *countingSink, *prometheus.Registry) {
	t.Helper()
	sink := &countingSink{ports: map[uint16]int{}}
	reg := prometheus.NewRegistry()
	c, err := New(cfg, Deps{Registerer: reg, Sink: sink, NewDecoder: func(Kind, flow.Observer) flow.Decoder { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	c.deps.NewDecoder = func(_ Kind, obs flow.Observer) flow.Decoder { return &fakeDecoder{obs: obs} }
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c, sink, reg
}

// total sums every series of a metric vector.
func total(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	sum := 0.0
	for m := range ch {
		var pb dto.Metric
		_ = m.Write(&pb)
		switch {
		case pb.Counter != nil:
			sum += pb.Counter.GetValue()
		case pb.Gauge != nil:
			sum += pb.Gauge.GetValue()
		}
	}
	return sum
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func send(t *testing.T, addr string, pkts ...[]byte) {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, p := range pkts {
		if _, err := conn.Write(p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCollectorDecodesAndDrainsOnStop(t *testing.T) {
	c, sink, reg := startCollector(t, testConfig())
	addrs := c.Addrs(KindNetFlow)
	if len(addrs) != 1 {
		t.Fatalf("Addrs = %v", addrs)
	}
	var pkts [][]byte
	want := 0
	for i := range 200 {
		n := i % 7
		pkts = append(pkts, []byte{byte(n), byte(i % 5)})
		want += n
	}
	pkts = append(pkts, []byte{0xff, 0}, []byte{0xff, 1}, []byte{1})
	send(t, addrs[0], pkts...)
	waitFor(t, "all datagrams decoded", func() bool {
		return total(c.metrics.packets) == float64(len(pkts))
	})
	c.Stop() // flushes the partial batch
	if got := sink.count(); got != want {
		t.Errorf("sink records = %d, want %d", got, want)
	}
	if got := total(c.metrics.records); got != float64(want) {
		t.Errorf("records_total = %v, want %d", got, want)
	}
	if got := testutil.ToFloat64(c.metrics.errors.WithLabelValues("127.0.0.1", "netflow-v9", "fake_bad")); got != 2 {
		t.Errorf("errors_total{fake_bad} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(c.metrics.errors.WithLabelValues("127.0.0.1", "unknown", "short")); got != 1 {
		t.Errorf("errors_total{short} = %v, want 1", got)
	}
	if got := total(c.metrics.events[flow.EventTemplates].gauge); got != float64(200) {
		t.Errorf("templates gauge = %v, want 200", got)
	}
	if n, err := testutil.GatherAndCount(reg, "acd_collect_packets_total"); err != nil || n != 2 {
		t.Errorf("acd_collect_packets_total series = %d (%v), want 2 (v9 and unknown)", n, err)
	}
}

func TestCollectorFlushesOnInterval(t *testing.T) {
	cfg := testConfig()
	cfg.FlushInterval = 20 * time.Millisecond
	c, sink, _ := startCollector(t, cfg)
	send(t, c.Addrs(KindNetFlow)[0], []byte{3, 1})
	waitFor(t, "a partial batch flushed by the interval", func() bool { return sink.count() == 3 })
}

func TestCollectorDatagramTooLarge(t *testing.T) {
	cfg := testConfig()
	cfg.NetFlow.MaxDatagram = 512
	c, sink, _ := startCollector(t, cfg)
	big := make([]byte, 600)
	big[0] = 5
	send(t, c.Addrs(KindNetFlow)[0], big, []byte{2, 0})
	waitFor(t, "both datagrams seen", func() bool {
		return testutil.ToFloat64(c.metrics.errors.WithLabelValues("127.0.0.1", "unknown", "datagram_too_large")) == 1 &&
			total(c.metrics.packets) == 1
	})
	c.Stop()
	if got := sink.count(); got != 2 {
		t.Errorf("records = %d, want 2 (the oversize datagram dropped)", got)
	}
}

func TestCollectorWorkersShareAddress(t *testing.T) {
	cfg := testConfig()
	cfg.NetFlow.Workers = 3
	c, _, _ := startCollector(t, cfg)
	if got := len(c.workers); got != 3 {
		t.Fatalf("workers = %d, want 3", got)
	}
	// Port 0 would give each socket its own port; a fixed port is shared.
	port := c.Addrs(KindNetFlow)[0]
	c.Stop()
	cfg.NetFlow.Listen = []string{port}
	c2, sink, _ := startCollector(t, cfg)
	if got := c2.Addrs(KindNetFlow); len(got) != 1 || len(c2.workers) != 3 {
		t.Fatalf("Addrs = %v, workers = %d; want one address, 3 workers", got, len(c2.workers))
	}
	for i := range 20 {
		// Distinct source ports spread over the sockets.
		send(t, port, []byte{1, byte(i)})
	}
	waitFor(t, "20 datagrams", func() bool { return total(c2.metrics.packets) == 20 })
	c2.Stop()
	if sink.count() != 20 {
		t.Errorf("records = %d, want 20", sink.count())
	}
}

func TestStartFailureClosesOpenedSockets(t *testing.T) {
	cfg := testConfig()
	cfg.NetFlow.Listen = []string{"127.0.0.1:0", "192.0.2.1:9"} // second: not a local address
	c, err := New(cfg, Deps{Sink: &countingSink{}, NewDecoder: func(_ Kind, obs flow.Observer) flow.Decoder { return &fakeDecoder{obs: obs} }})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unable to listen on 192.0.2.1:9") {
		t.Fatalf("Start() error = %v, want a listen error", err)
	}
	if len(c.workers) != 0 {
		t.Errorf("%d workers left running after failed start", len(c.workers))
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cfg := DefaultConfig()
	cfg.NetFlow.Listen = []string{"nonsense"}
	cfg.SFlow.Workers = 0
	cfg.BatchSize = 0
	err := cfg.Validate()
	for _, want := range []string{"collect.netflow.listen[0]", "collect.sflow.workers", "collect.batch_size"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want mention of %s", err, want)
		}
	}
}

func TestCollectorIPv6Exporter(t *testing.T) {
	cfg := testConfig()
	cfg.NetFlow.Listen = []string{"[::1]:0"}
	c, sink, _ := startCollector(t, cfg)
	send(t, c.Addrs(KindNetFlow)[0], []byte{2, 9})
	waitFor(t, "the datagram", func() bool { return total(c.metrics.packets) == 1 })
	c.Stop()
	if got := testutil.ToFloat64(c.metrics.records.WithLabelValues("::1", "netflow-v9")); got != 2 {
		t.Errorf("records from exporter ::1 = %v, want 2", got)
	}
	if sink.count() != 2 {
		t.Errorf("sink records = %d", sink.count())
	}
}
