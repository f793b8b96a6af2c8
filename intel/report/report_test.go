package report

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/intel/stix"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("x", MaxText+1)
	many := func(n int, s string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	tests := []struct {
		name   string
		mod    func(r *Report)
		fields []string // the fields the errors name; none: valid
	}{
		{"valid", func(*Report) {}, nil},
		{"valid minimal", func(r *Report) {
			*r = Report{Operator: "op", Organization: "org", Type: TypeOther, Title: "t", Start: t0, Detected: t0, TLP: stix.TLPRed}
		}, nil},
		{"valid with id", func(r *Report) { r.ID = "IR-2026-000123" }, nil},
		{"valid long sequence", func(r *Report) { r.ID = "IR-2026-1234567" }, nil},
		{"bad id", func(r *Report) { r.ID = "IR-26-1" }, []string{"id"}},
		{"missing operator", func(r *Report) { r.Operator = "" }, []string{"operator"}},
		{"missing organization and title", func(r *Report) { r.Organization, r.Title = "", "" }, []string{"organization", "title"}},
		{"long title", func(r *Report) { r.Title = long }, []string{"title"}},
		{"long description", func(r *Report) { r.Description = strings.Repeat("d", MaxDescription+1) }, []string{"description"}},
		{"long mitigation", func(r *Report) { r.Mitigation = strings.Repeat("m", MaxMitigation+1) }, []string{"mitigation"}},
		{"unknown type", func(r *Report) { r.Type = "phishing" }, []string{"type"}},
		{"no type", func(r *Report) { r.Type = "" }, []string{"type"}},
		{"unknown status", func(r *Report) { r.Status = "closed" }, []string{"status"}},
		{"no TLP", func(r *Report) { r.TLP = 0 }, []string{"tlp"}},
		{"bad TLP", func(r *Report) { r.TLP = 9 }, []string{"tlp"}},
		{"no start", func(r *Report) { r.Start = time.Time{} }, []string{"start"}},
		{"no detected", func(r *Report) { r.Detected = time.Time{} }, []string{"detected"}},
		{"end before start", func(r *Report) { r.End = r.Start.Add(-time.Second) }, []string{"end"}},
		{"end equal start", func(r *Report) { r.End = r.Start }, nil},
		{"detected before start", func(r *Report) { r.Detected = r.Start.Add(-time.Minute) }, []string{"detected"}},
		{"received before detected", func(r *Report) { r.Received = r.Detected.Add(-time.Second) }, []string{"received"}},
		{"year out of range", func(r *Report) { r.Start = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"start"}},
		{"empty affected system", func(r *Report) { r.AffectedSystems = []string{"a", ""} }, []string{"affected_systems[1]"}},
		{"too many affected systems", func(r *Report) { r.AffectedSystems = many(MaxSystems+1, "a") }, []string{"affected_systems"}},
		{"bad vector", func(r *Report) { r.Vectors = []string{"syn-flood", "SYN Flood"} }, []string{"vectors[1]"}},
		{"too many vectors", func(r *Report) { r.Vectors = many(MaxVectors+1, "udp-flood") }, []string{"vectors"}},
		{"bad indicators", func(r *Report) { r.Indicators = []string{"203.0.113.5", "300.1.1.1", "fe80::1%eth0", "-bad-.com", "x"} },
			[]string{"indicators[1]", "indicators[2]", "indicators[3]", "indicators[4]"}},
		{"too many indicators", func(r *Report) { r.Indicators = many(MaxList+1, "203.0.113.5") }, []string{"indicators"}},
		{"domestic not an indicator", func(r *Report) { r.Domestic = []string{"192.0.2.1"} }, []string{"domestic_indicators[0]"}},
		{"unknown technique", func(r *Report) { r.Techniques = []Technique{{ID: "T1566", Name: "Phishing"}} }, []string{"classification[0]"}},
		{"bad source", func(r *Report) {
			r.Sources = []Source{{Address: "203.0.113.1", Role: "source"}, {Address: "x", Role: "bot", Packets: -1}}
		}, []string{"top_sources[1]", "top_sources[1]", "top_sources[1]"}},
		{"negative volume", func(r *Report) { r.Volumes.PeakBps = -1 }, []string{"observed_volumes.peak_bps"}},
		{"NaN volume", func(r *Report) { r.Volumes.PeakPps = math.NaN() }, []string{"observed_volumes.peak_pps"}},
		{"infinite volume", func(r *Report) { r.Volumes.Flows = math.Inf(1) }, []string{"observed_volumes.flows"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := operatorReport()
			tt.mod(&r)
			err := r.Validate()
			var got []string
			for _, e := range unjoin(err) {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("error %v is not a *FieldError", e)
				}
				got = append(got, fe.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields in error = %q, want %q (error: %v)", got, tt.fields, err)
			}
		})
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestDecode(t *testing.T) {
	good, err := operatorReport().JSON()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		err  string // substring of the error; "": no error
	}{
		{"round trip", string(good), ""},
		{"unknown field", strings.Replace(string(good), `"title"`, `"titel": "x", "title"`, 1), "unknown field"},
		{"trailing data", string(good) + "{}", "data after"},
		{"not an object", `[1]`, "unable to read report"},
		{"bad time", strings.Replace(string(good), `"2026-11-26T09:00:00Z"`, `"yesterday"`, 1), "unable to read report"},
		{"bad TLP", strings.Replace(string(good), `"tlp": "amber"`, `"tlp": "orange"`, 1), "TLP"},
		{"TLP with prefix", strings.Replace(string(good), `"tlp": "amber"`, `"tlp": "TLP:AMBER+STRICT"`, 1), ""},
		{"invalid", strings.Replace(string(good), `"type": "ddos"`, `"type": "flood"`, 1), "type"},
		{"too large", `{"title": "` + strings.Repeat("x", MaxSize) + `"}`, "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode([]byte(tt.in))
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				b, err := r.JSON()
				if err != nil {
					t.Fatal(err)
				}
				if tt.name == "round trip" && string(b) != string(good) {
					t.Errorf("round trip changed the report:\n%s\nwant\n%s", b, good)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Decode error = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestNewIDAndAcknowledge(t *testing.T) {
	ids := []struct {
		seq  int
		at   time.Time
		want string
	}{
		{123, t0, "IR-2026-000123"},
		{1, time.Date(2027, 1, 1, 0, 30, 0, 0, time.FixedZone("JST", 9*3600)), "IR-2026-000001"}, // UTC year
		{1234567, t0, "IR-2026-1234567"},
		{0, t0, ""},
		{-5, t0, ""},
	}
	for _, tt := range ids {
		got, err := NewID(tt.seq, tt.at)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NewID(%d, %v) = %q, %v; want %q", tt.seq, tt.at, got, err, tt.want)
		}
	}
	r := operatorReport()
	r.Received = time.Time{}
	now := t0.Add(3 * time.Hour)
	ack, err := r.Acknowledge(42, now)
	if err != nil {
		t.Fatal(err)
	}
	want := Ack{ID: "IR-2026-000042", Received: now, Status: StatusAcknowledged}
	if ack != want || r.ID != want.ID || r.Status != StatusAcknowledged || !r.Received.Equal(now) {
		t.Errorf("Acknowledge = %+v, report id %q status %q received %v; want %+v", ack, r.ID, r.Status, r.Received, want)
	}
	b, _ := json.Marshal(ack)
	if string(b) != `{"id":"IR-2026-000042","received":"2026-11-26T12:00:00Z","status":"acknowledged"}` {
		t.Errorf("ack JSON = %s", b)
	}
	bad := operatorReport()
	bad.Type = "x"
	if _, err := bad.Acknowledge(43, now); err == nil || bad.ID != "" {
		t.Errorf("Acknowledge of an invalid report: err %v, id %q; want an error and no id", err, bad.ID)
	}
}

func TestParseIndicator(t *testing.T) {
	tests := []struct{ in, want, pattern string }{
		{"203.0.113.5", "203.0.113.5", "[ipv4-addr:value = '203.0.113.5']"},
		{"::ffff:203.0.113.5", "203.0.113.5", "[ipv4-addr:value = '203.0.113.5']"},
		{"203.0.113.9/28", "203.0.113.0/28", "[ipv4-addr:value ISSUBSET '203.0.113.0/28']"},
		{"203.0.113.9/32", "203.0.113.9", "[ipv4-addr:value = '203.0.113.9']"},
		{"2001:db8:bad::/48", "2001:db8:bad::/48", "[ipv6-addr:value ISSUBSET '2001:db8:bad::/48']"},
		{"Evil.Example.COM.", "evil.example.com", "[domain-name:value = 'evil.example.com']"},
		{"localhost", "", ""},
		{"1.2.3.4/33", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		ind, err := ParseIndicator(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseIndicator(%q) = %v, want an error", tt.in, ind)
			}
			continue
		}
		if err != nil || ind.String() != tt.want {
			t.Errorf("ParseIndicator(%q) = %v, %v; want %s", tt.in, ind, err, tt.want)
			continue
		}
		if p, err := ind.Pattern(); err != nil || p != tt.pattern {
			t.Errorf("pattern of %q = %q, %v; want %q", tt.in, p, err, tt.pattern)
		}
	}
}

func TestMarkDomestic(t *testing.T) {
	r := operatorReport()
	r.Indicators = []string{"203.0.113.5", "198.51.100.9", "192.0.2.0/25", "evil.example.com", "2001:db8::1"}
	r.MarkDomestic(domestic)
	r.MarkDomestic(domestic) // idempotent
	want := []string{"198.51.100.9", "192.0.2.0/25"}
	if !slices.Equal(r.Domestic, want) {
		t.Errorf("Domestic = %q, want %q", r.Domestic, want)
	}
	if err := r.Validate(); err != nil {
		t.Error(err)
	}
}
