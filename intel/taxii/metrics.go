package taxii

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics holds the server's Prometheus metrics.
type metrics struct {
	requests *prometheus.CounterVec   // endpoint, code
	duration *prometheus.HistogramVec // endpoint
	objects  *prometheus.CounterVec   // result: success, failure
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "taxii", Name: "requests_total",
			Help: "TAXII requests answered, by endpoint (route pattern) and HTTP status."}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "acd", Subsystem: "taxii", Name: "request_seconds",
			Help:    "Time to answer a TAXII request, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"endpoint"}),
		objects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "taxii", Name: "posted_objects_total",
			Help: "Objects received by POST, by result (success: stored or already present; failure: refused)."}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.objects)
	}
	return m
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

// WriteHeader implements http.ResponseWriter.
func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// observe counts a request answered by w, started at start.
func (m *metrics) observe(endpoint string, w *statusWriter, start time.Time) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	m.requests.WithLabelValues(endpoint, strconv.Itoa(w.code)).Inc()
	m.duration.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
}
