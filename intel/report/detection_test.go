package report

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix"
)

func opts() Options {
	return Options{Operator: "op-tokyo-power", Organization: "Tokyo Example Power Co.", Domestic: domestic,
		Mitigation: "case-42: blackhole of 4 sources approved 09:03Z for 24h; upstream scrubbing requested",
		Received:   t0.Add(time.Hour)}
}

func TestFromDetection(t *testing.T) {
	tests := []struct {
		name       string
		techniques []string
		vectors    []string
		peakBps    float64
		peakPps    float64
		indicators []string
		domestic   []string
		detected   time.Time
		end        time.Time
	}{
		{name: "syn", techniques: []string{T1498, T1498001, T1499}, vectors: []string{"syn-flood"},
			peakBps: 6e8, peakPps: 1.25e6,
			indicators: []string{"203.0.113.10", "203.0.113.11", "203.0.113.12", "203.0.113.13", "192.0.2.44"},
			domestic:   []string{"192.0.2.44"}, detected: t0.Add(time.Second), end: t0.Add(83*time.Millisecond + 312500*time.Millisecond)},
		{name: "udp", techniques: []string{T1498, T1498001}, vectors: []string{"udp-flood"},
			peakBps: 1.76e10, peakPps: 2.2e6,
			indicators: []string{"203.0.113.10", "203.0.113.11", "203.0.113.12", "203.0.113.13", "203.0.113.14"},
			detected:   t0.Add(time.Second), end: t0.Add(83*time.Millisecond + 600*time.Second)},
		{name: "dns", techniques: []string{T1498, T1498002}, vectors: []string{"dns-reflection"},
			peakBps: 5.04e9, peakPps: 450000,
			indicators: []string{"203.0.113.10", "203.0.113.11", "203.0.113.12"},
			detected:   t0.Add(time.Second), end: t0.Add(250*time.Millisecond + 120*time.Second)},
		{name: "ntp", techniques: []string{T1498, T1498002}, vectors: []string{"ntp-reflection"},
			peakBps: 449280000, peakPps: 120000,
			indicators: []string{"2001:db8:aa::1", "203.0.113.77"}, // the pseudonym is no indicator
			detected:   t0.Add(250 * time.Millisecond), end: t0.Add(250*time.Millisecond + 90*time.Second)},
		{name: "mixed", techniques: []string{T1498, T1498001, T1498002, T1499},
			vectors: []string{"icmp-flood", "syn-flood", "udp-flood", "ntp-reflection"},
			peakBps: 1.0416e10, peakPps: 3.1e6,
			indicators: []string{"203.0.113.10", "203.0.113.11", "203.0.113.12", "203.0.113.200"},
			detected:   t0.Add(time.Second), end: t0.Add(83*time.Millisecond + 1800*time.Second)},
	}
	fx := fixtures()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := FromDetection("198.51.100.7", fx[tt.name], opts())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, x := range r.Techniques {
				ids = append(ids, x.ID)
				if x.Name != TechniqueName(x.ID) || x.Reason == "" {
					t.Errorf("technique %+v: name or reason missing", x)
				}
			}
			if !slices.Equal(ids, tt.techniques) {
				t.Errorf("techniques = %q, want %q", ids, tt.techniques)
			}
			if !slices.Equal(r.Vectors, tt.vectors) {
				t.Errorf("vectors = %q, want %q", r.Vectors, tt.vectors)
			}
			if r.Volumes.PeakBps != tt.peakBps || r.Volumes.PeakPps != tt.peakPps {
				t.Errorf("peak = %v bit/s %v pps, want %v, %v", r.Volumes.PeakBps, r.Volumes.PeakPps, tt.peakBps, tt.peakPps)
			}
			if !slices.Equal(r.Indicators, tt.indicators) || !slices.Equal(r.Domestic, tt.domestic) {
				t.Errorf("indicators = %q (domestic %q), want %q (%q)", r.Indicators, r.Domestic, tt.indicators, tt.domestic)
			}
			if slices.Contains(r.Indicators, "198.51.100.7") {
				t.Error("the victim is an indicator")
			}
			if !r.Detected.Equal(tt.detected) || !r.End.Equal(tt.end) {
				t.Errorf("detected %v end %v, want %v %v", r.Detected, r.End, tt.detected, tt.end)
			}
			if r.Type != TypeDDoS || r.TLP != stix.TLPAmber || !slices.Equal(r.AffectedSystems, []string{"198.51.100.7"}) ||
				r.Mitigation != opts().Mitigation || r.Status != StatusReceived {
				t.Errorf("report header wrong: %+v", r)
			}
			if err := r.Validate(); err != nil {
				t.Error(err)
			}
			r.ID = "IR-2026-000007"
			js, err := r.JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "unified-"+tt.name+".golden.json", js)
			golden(t, "unified-"+tt.name+".golden.txt", []byte(r.Text()))
			back, err := Decode(js)
			if err != nil {
				t.Fatalf("decoding the unified JSON: %v", err)
			}
			if b2, _ := back.JSON(); string(b2) != string(js) {
				t.Errorf("JSON round trip differs:\n%s", b2)
			}
		})
	}
}

func TestFromDetectionErrors(t *testing.T) {
	fx := fixtures()
	scan := detect.Evidence{Detector: "scan", Role: detect.RoleScanner, Reason: "scan", First: t0, Last: t0}
	src := fx["syn"][0]
	src.Role = detect.RoleDDoSSource
	tests := []struct {
		name string
		ev   []detect.Evidence
		mod  func(*Options)
		is   error
	}{
		{"no evidence", nil, nil, ErrNoAttack},
		{"other detectors only", []detect.Evidence{scan}, nil, ErrNoAttack},
		{"source evidence only", []detect.Evidence{src}, nil, ErrNoAttack},
		{"no domestic func", fx["syn"], func(o *Options) { o.Domestic = nil }, nil},
		{"no operator", fx["syn"], func(o *Options) { o.Operator = "" }, nil},
		{"received before detected", fx["syn"], func(o *Options) { o.Received = t0.Add(-time.Hour) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts()
			if tt.mod != nil {
				tt.mod(&o)
			}
			_, err := FromDetection("198.51.100.7", tt.ev, o)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("FromDetection error = %v, want %v", err, tt.is)
			}
		})
	}
}

func TestFromSuspect(t *testing.T) {
	fx := fixtures()
	s := detect.Suspect{Key: mustKey(t, "198.51.100.7"), Roles: []detect.Role{detect.RoleDDoSVictim}, Score: 0.9,
		FirstSeen: t0, LastSeen: t0.Add(time.Hour), Evidence: fx["dns"]}
	r, err := FromSuspect(s, opts())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.AffectedSystems, []string{"198.51.100.7"}) || !slices.Equal(r.Vectors, []string{"dns-reflection"}) {
		t.Errorf("FromSuspect: systems %q vectors %q", r.AffectedSystems, r.Vectors)
	}
	s.Pseudo, s.KeyEpoch = true, 7
	if r, err := FromSuspect(s, opts()); err != nil || !strings.Contains(r.AffectedSystems[0], "pseudonym, key epoch 7") {
		t.Errorf("pseudonymous victim: %q, %v", r.AffectedSystems, err)
	}
	s.Roles = []detect.Role{detect.RoleReflector}
	if _, err := FromSuspect(s, opts()); err == nil {
		t.Error("FromSuspect of a reflector: no error")
	}
}

func mustKey(t *testing.T, s string) detect.Key {
	t.Helper()
	k, err := detect.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestClassify(t *testing.T) {
	tests := []struct {
		vectors  []string
		endpoint string
		want     []string
	}{
		{nil, "", []string{T1498}},
		{[]string{"carpet-bombing"}, "", []string{T1498}},
		{[]string{"syn-flood"}, "", []string{T1498, T1498001}},
		{[]string{"udp-flood", "icmp-flood"}, "", []string{T1498, T1498001}},
		{[]string{"dns-reflection"}, "", []string{T1498, T1498002}},
		{[]string{"reflection"}, "", []string{T1498, T1498002}},
		{[]string{"memcached-reflection", "syn-flood"}, "", []string{T1498, T1498001, T1498002}},
		{[]string{"http-flood"}, "", []string{T1499}},
		{[]string{"slowloris", "udp-flood"}, "", []string{T1498, T1498001, T1499}},
		{[]string{"syn-flood"}, "state exhaustion", []string{T1498, T1498001, T1499}},
		{nil, "state exhaustion", []string{T1499}},
	}
	for _, tt := range tests {
		var got []string
		for _, x := range Classify(tt.vectors, tt.endpoint) {
			got = append(got, x.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Classify(%q, %q) = %q, want %q", tt.vectors, tt.endpoint, got, tt.want)
		}
	}
	if u := (Technique{ID: T1498002}).URL(); u != "https://attack.mitre.org/techniques/T1498/002/" {
		t.Errorf("URL = %s", u)
	}
}
