package api

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// series are the gathered metrics the overview reads, by family name.
type series map[string][]*dto.Metric

// gatherSeries reads the registry once; only the families named in want
// are kept.
func gatherSeries(g prometheus.Gatherer, want map[string]bool) (series, error) {
	mfs, err := g.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, fmt.Errorf("unable to gather the metrics: %w", err)
	}
	// A partial gather (one collector failed) still has the others.
	out := series{}
	for _, mf := range mfs {
		if !want[mf.GetName()] {
			continue
		}
		out[mf.GetName()] = mf.GetMetric()
	}
	return out, nil
}

// value is a counter's, a gauge's or an untyped metric's value.
func value(m *dto.Metric) float64 {
	var v float64
	switch {
	case m.GetCounter() != nil:
		v = m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		v = m.GetGauge().GetValue()
	case m.GetUntyped() != nil:
		v = m.GetUntyped().GetValue()
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// label returns the value of label name of m ("" when absent).
func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// by sums family name's values grouped by the labels given (joined with
// "\x00"); with no labels, the one key "" holds the total.
func (s series) by(name string, labels ...string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range s[name] {
		key := make([]string, len(labels))
		for j, l := range labels {
			key[j] = label(m, l)
		}
		out[strings.Join(key, "\x00")] += value(m)
	}
	return out
}

// total sums every series of family name.
func (s series) total(name string) float64 {
	return s.by(name)[""]
}

// rate is (cur - prev) / dt, 0 without an interval or for a counter that
// went back (a restart of what it counts).
func rate(cur, prev, dt float64) float64 {
	if dt <= 0 || cur < prev {
		return 0
	}
	return (cur - prev) / dt
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
