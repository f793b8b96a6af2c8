package netflow

import (
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want []string // substrings of the error, none if valid
	}{
		{name: "defaults", mod: func(*Config) {}},
		{name: "override", mod: func(c *Config) { c.SamplingOverride = map[string]uint32{"192.0.2.1": 100, "2001:db8::1": 1} }},
		{
			name: "every bad key is named",
			mod: func(c *Config) {
				c.TemplateTTL, c.WaitingTTL, c.MaxClockSkew, c.MaxFlowAge = 0, -1, 0, 0
				c.MaxTemplatesPerExporter, c.MaxTemplates, c.MaxTemplateFields, c.MaxExporters = 0, 0, 0, 0
				c.MaxWaitingPerExporter, c.MaxWaitingBytes = -1, -1
			},
			want: []string{"template_ttl", "waiting_ttl", "max_clock_skew", "max_flow_age", "max_templates_per_exporter:",
				"max_templates:", "max_template_fields", "max_exporters", "max_waiting_per_exporter", "max_waiting_bytes"},
		},
		{
			name: "total below per-exporter",
			mod:  func(c *Config) { c.MaxTemplates, c.MaxTemplatesPerExporter = 10, 20 },
			want: []string{"max_templates: 10 is below max_templates_per_exporter 20"},
		},
		{
			name: "bad override",
			mod:  func(c *Config) { c.SamplingOverride = map[string]uint32{"router1": 100, "192.0.2.1": 0} },
			want: []string{`sampling_override: key "router1" is not an IP address`, "sampling_override: rate for 192.0.2.1 must be at least 1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTimeClamp(t *testing.T) {
	tmpl := set(setTemplateIPFIX, 0, tmplRec(256, fld{8, 4, 0}, fld{12, 4, 0}, fld{152, 8, 0}, fld{153, 8, 0}))
	rec := func(start, end time.Duration) []byte {
		return cat(ip("10.0.0.1"), ip("10.0.0.2"), be64(uint64(testNow.Add(start).UnixMilli())), be64(uint64(testNow.Add(end).UnixMilli())))
	}
	for _, tc := range []struct {
		name         string
		start, end   time.Duration
		wantS, wantE time.Duration
		wantClamped  int
	}{
		{"plausible", -time.Minute, -time.Second, -time.Minute, -time.Second, 0},
		{"small skew allowed", -time.Minute, 5 * time.Minute, -time.Minute, 5 * time.Minute, 0},
		{"end in the far future", -time.Minute, time.Hour, -time.Minute, 0, 1},
		{"both in the far future", time.Hour, 2 * time.Hour, 0, 0, 1},
		{"end before start", -time.Second, -time.Minute, -time.Minute, -time.Minute, 1},
		{"absurdly old", -48 * time.Hour, -47 * time.Hour, 0, 0, 1},
		{"old start only", -48 * time.Hour, -time.Minute, -time.Minute, -time.Minute, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			d := New(DefaultConfig(), r)
			pkt := ipfixMsg{export: testSecs, domain: 1, sets: [][]byte{tmpl, set(256, 0, rec(tc.start, tc.end))}}.bytes()
			got, _, err := d.Decode(pkt, expA, testNow, nil)
			if err != nil || len(got) != 1 {
				t.Fatalf("%d records, %v", len(got), err)
			}
			if s, e := got[0].StartTime().Sub(testNow), got[0].EndTime().Sub(testNow); s != tc.wantS || e != tc.wantE {
				t.Errorf("start, end = %v, %v; want %v, %v", s, e, tc.wantS, tc.wantE)
			}
			if n := r.sums[flow.EventTimeClamped]; n != tc.wantClamped {
				t.Errorf("clamped = %d, want %d", n, tc.wantClamped)
			}
		})
	}
}

// TestZeroAllocs checks steady-state decoding allocates nothing (not a
// timing test: allocation counts are deterministic).
func TestZeroAllocs(t *testing.T) {
	for _, f := range capturedFiles(t) {
		t.Run(f, func(t *testing.T) {
			dgs := readPcap(t, f)
			d := New(DefaultConfig(), nil)
			out := make([]flow.Record, 0, 4096)
			for _, dg := range dgs {
				out, _, _ = d.Decode(dg.payload, dg.exp, dg.at, out[:0])
			}
			allocs := testing.AllocsPerRun(5, func() {
				for _, dg := range dgs {
					out, _, _ = d.Decode(dg.payload, dg.exp, dg.at, out[:0])
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per run of %d datagrams, want 0", allocs, len(dgs))
			}
		})
	}
}
