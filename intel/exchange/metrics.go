package exchange

import (
	"github.com/prometheus/client_golang/prometheus"
)

// pubMetrics holds the Publisher's Prometheus metrics.
type pubMetrics struct {
	decisions *prometheus.CounterVec // partner, reason: gate decisions on outgoing objects
	published *prometheus.CounterVec // partner: objects added to the partner's collections
	skipped   *prometheus.CounterVec // reason: suspects not turned into objects
	runs      *prometheus.CounterVec // result: ok, error
}

func newPubMetrics(reg prometheus.Registerer) (*pubMetrics, error) {
	m := &pubMetrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "exchange", Name: "outgoing_objects_total",
			Help: "Outgoing objects decided by a partner's gate, by partner and reason (ok, update-ok and revoked-ok are published)."},
			[]string{"partner", "reason"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "exchange", Name: "published_objects_total",
			Help: "Objects added to a partner's collections, by partner."}, []string{"partner"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "exchange", Name: "publish_skipped_suspects_total",
			Help: "Suspects not published, by reason (partner, pseudonym, norole, score, error)."}, []string{"reason"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "exchange", Name: "publish_runs_total",
			Help: "Publisher runs, by result (ok, error)."}, []string{"result"}),
	}
	return m, register(reg, m.decisions, m.published, m.skipped, m.runs)
}

// pollMetrics holds the Poller's Prometheus metrics.
type pollMetrics struct {
	received  *prometheus.CounterVec // partner: objects fetched
	decisions *prometheus.CounterVec // partner, reason: gate decisions (and "parse")
	suspects  *prometheus.CounterVec // partner, op: added, withdrawn, norole, unsupported, error
	syncs     *prometheus.CounterVec // partner, result: ok, error
	lastSync  *prometheus.GaugeVec   // partner: unix time of the last successful sync
}

func newPollMetrics(reg prometheus.Registerer) (*pollMetrics, error) {
	m := &pollMetrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "exchange", Name: "received_objects_total",
			Help: "Objects fetched from a partner's collections, by partner."}, []string{"partner"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "exchange", Name: "incoming_objects_total",
			Help: "Incoming objects decided by a partner's gate, by partner and reason (ok and revoked-ok are accepted; parse: not STIX)."},
			[]string{"partner", "reason"}),
		suspects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "exchange", Name: "incoming_suspects_total",
			Help: "Suspect candidates from a partner, by partner and outcome (added, withdrawn, norole, unsupported, error)."},
			[]string{"partner", "op"}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "exchange", Name: "syncs_total",
			Help: "Partner syncs, by partner and result (ok, error)."}, []string{"partner", "result"}),
		lastSync: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "acd", Subsystem: "exchange", Name: "last_sync_timestamp_seconds",
			Help: "Unix time of the last successful sync with a partner."}, []string{"partner"}),
	}
	return m, register(reg, m.received, m.decisions, m.suspects, m.syncs, m.lastSync)
}

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
