package nft

import "github.com/prometheus/client_golang/prometheus"

// metrics holds the adapter's Prometheus metrics (the reconciler counts
// drift per adapter; these count what the adapter sent and holds).
type metrics struct {
	ranges  *prometheus.GaugeVec   // set: ranges in the kernel set after the last change
	batches prometheus.Counter     // netlink batches committed
	errors  *prometheus.CounterVec // op: apply, withdraw, sync, start, remove
	applied prometheus.Histogram   // seconds from Apply's call to the kernel's acknowledgement
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		ranges: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "acd", Subsystem: "enforce_nft", Name: "ranges",
			Help: "Address ranges in acd's nftables set, after the adapter's last change, by set."}, []string{"set"}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "acd", Subsystem: "enforce_nft", Name: "batches_total",
			Help: "Netlink batches the kernel committed."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "enforce_nft", Name: "errors_total",
			Help: "Failed operations, by operation."}, []string{"op"}),
		applied: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "acd", Subsystem: "enforce_nft", Name: "apply_seconds",
			Help:    "Time from an Apply call until the kernel acknowledged the block.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	if reg != nil {
		reg.MustRegister(m.ranges, m.batches, m.errors, m.applied)
	}
	return m
}
