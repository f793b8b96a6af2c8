package collect

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/flow"
)

// metrics holds the collector's Prometheus metrics.
type metrics struct {
	packets   *prometheus.CounterVec // exporter, format
	records   *prometheus.CounterVec // exporter, format
	bytes     *prometheus.CounterVec // exporter, format
	errors    *prometheus.CounterVec // exporter, format, reason
	events    [flow.NumEvents]eventVec
	sockDrops *prometheus.CounterVec // listener
	qDrops    *prometheus.CounterVec // listener
	readErrs  *prometheus.CounterVec // listener
	rcvbuf    *prometheus.GaugeVec   // listener
	batches   prometheus.Counter
}

// eventVec is the metric a decoder event feeds.
type eventVec struct {
	counter *prometheus.CounterVec
	gauge   *prometheus.GaugeVec
}

func (e eventVec) with(exporter, format string) adder {
	if e.gauge != nil {
		return e.gauge.WithLabelValues(exporter, format)
	}
	return e.counter.WithLabelValues(exporter, format)
}

// adder is what prometheus.Counter and prometheus.Gauge have in common.
type adder interface{ Add(float64) }

func newMetrics(reg prometheus.Registerer) *metrics {
	ef := []string{"exporter", "format"}
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "collect", Name: name, Help: help}, labels)
	}
	gv := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "acd", Subsystem: "collect", Name: name, Help: help}, labels)
	}
	m := &metrics{
		packets:   cv("packets_total", "Datagrams received, by exporter and format.", ef...),
		records:   cv("records_total", "Flow records decoded, by exporter and format.", ef...),
		bytes:     cv("bytes_total", "Datagram bytes received, by exporter and format.", ef...),
		errors:    cv("errors_total", "Decoding errors, by exporter, format and reason.", "exporter", "format", "reason"),
		sockDrops: cv("socket_drops_total", "Datagrams dropped by the kernel because the socket buffer was full.", "listener"),
		qDrops:    cv("queue_drops_total", "Datagrams dropped because the decoder fell behind the reader.", "listener"),
		readErrs:  cv("read_errors_total", "Socket read errors other than the socket being closed.", "listener"),
		rcvbuf:    gv("receive_buffer_bytes", "Socket receive buffer granted by the kernel.", "listener"),
		batches:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: "acd", Subsystem: "collect", Name: "batches_total", Help: "Record batches handed downstream."}),
	}
	m.events = [flow.NumEvents]eventVec{
		flow.EventTemplates:       {gauge: gv("templates", "Templates cached, by exporter and format.", ef...)},
		flow.EventTemplateEvicted: {counter: cv("template_evictions_total", "Templates evicted to honour the per-exporter bound.", ef...)},
		flow.EventWaiting:         {gauge: gv("waiting_sets", "Data sets held waiting for their template.", ef...)},
		flow.EventWaitingDropped:  {counter: cv("waiting_dropped_total", "Held data sets given up (template never came, or over the bound).", ef...)},
		flow.EventSequenceLost:    {counter: cv("sequence_lost_total", "Records (NetFlow v9: datagrams) estimated lost from sequence numbers.", ef...)},
		flow.EventTimeClamped:     {counter: cv("time_clamped_total", "Records whose implausible timestamps were clamped.", ef...)},
		flow.EventCounterSamples:  {counter: cv("counter_samples_total", "sFlow counter samples seen (counted, not decoded).", ef...)},
		flow.EventSkipped:         {counter: cv("skipped_total", "Records or samples of unknown type skipped by length.", ef...)},
		flow.EventSamplingLearned: {counter: cv("sampling_learned_total", "Sampling rates learned from options data.", ef...)},
	}
	reg.MustRegister(m.packets, m.records, m.bytes, m.errors, m.sockDrops, m.qDrops, m.readErrs, m.rcvbuf, m.batches)
	for _, e := range m.events {
		if e.gauge != nil {
			reg.MustRegister(e.gauge)
		} else {
			reg.MustRegister(e.counter)
		}
	}
	return m
}

// exporterLabels assigns exporter label values, bounded: past max distinct
// exporters, new ones are labelled "other". Safe for concurrent use.
type exporterLabels struct {
	mu     sync.Mutex
	max    int
	labels map[flow.Addr]string // guarded by mu
}

func (l *exporterLabels) label(a flow.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.labels[a]; ok {
		return s
	}
	if len(l.labels) >= l.max {
		return "other"
	}
	s := a.String()
	l.labels[a] = s
	return s
}

// exporterMetrics caches one exporter's metric children for one worker.
type exporterMetrics struct {
	label   string
	formats [6]*formatMetrics // by flow.Format
}

type formatMetrics struct {
	packets, records, bytes prometheus.Counter
	events                  [flow.NumEvents]adder
	errors                  map[string]prometheus.Counter
}

// workerMetrics is one worker's view of the metrics; used only on the
// worker's decoding goroutine.
type workerMetrics struct {
	m         *metrics
	labels    *exporterLabels
	exporters map[flow.Addr]*exporterMetrics
	other     *exporterMetrics
}

func (w *workerMetrics) exporter(a flow.Addr) *exporterMetrics {
	if e, ok := w.exporters[a]; ok {
		return e
	}
	label := w.labels.label(a)
	if label == "other" {
		if w.other == nil {
			w.other = &exporterMetrics{label: label}
		}
		return w.other
	}
	e := &exporterMetrics{label: label}
	w.exporters[a] = e
	return e
}

func (w *workerMetrics) format(a flow.Addr, f flow.Format) *formatMetrics {
	e := w.exporter(a)
	if int(f) >= len(e.formats) {
		f = flow.FormatUnknown
	}
	fm := e.formats[f]
	if fm == nil {
		fs := f.String()
		fm = &formatMetrics{
			packets: w.m.packets.WithLabelValues(e.label, fs),
			records: w.m.records.WithLabelValues(e.label, fs),
			bytes:   w.m.bytes.WithLabelValues(e.label, fs),
			errors:  map[string]prometheus.Counter{},
		}
		e.formats[f] = fm
	}
	return fm
}

func (w *workerMetrics) error(a flow.Addr, f flow.Format, reason string) {
	fm := w.format(a, f)
	c, ok := fm.errors[reason]
	if !ok {
		c = w.m.errors.WithLabelValues(w.exporter(a).label, f.String(), reason)
		fm.errors[reason] = c
	}
	c.Inc()
}

// Observe implements flow.Observer.
func (w *workerMetrics) Observe(exp flow.Exporter, f flow.Format, ev flow.Event, delta int) {
	if int(ev) >= flow.NumEvents || delta == 0 {
		return
	}
	fm := w.format(exp.Addr, f)
	a := fm.events[ev]
	if a == nil {
		a = w.m.events[ev].with(w.exporter(exp.Addr).label, f.String())
		fm.events[ev] = a
	}
	if w.m.events[ev].gauge == nil && delta < 0 {
		return // counters only go up
	}
	a.Add(float64(delta))
}
