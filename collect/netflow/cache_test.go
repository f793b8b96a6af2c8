package netflow

import (
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
)

// v9Tmpl is a datagram announcing template id of source.
func v9Tmpl(source uint32, ids ...uint16) []byte {
	var recs [][]byte
	for _, id := range ids {
		recs = append(recs, tmplRec(id, v4Fields...))
	}
	return v9Msg{uptime: up, secs: testSecs, source: source, sets: [][]byte{set(setTemplateV9, 0, recs...)}}.bytes()
}

// v9Data is a datagram with one record for template id of source.
func v9Data(source uint32, id uint16) []byte {
	return v9Msg{uptime: up, secs: testSecs, source: source, sets: [][]byte{set(id, 4, v4DataUp())}}.bytes()
}

func TestTemplateCache(t *testing.T) {
	type step struct {
		at      time.Duration // after testNow
		exp     flow.Exporter
		pkt     []byte
		expire  bool // call Expire(at) instead of decoding
		records int  // records expected from the datagram
	}
	expA2 := flow.Exporter{Addr: expA.Addr, Port: 9999}
	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		steps []step
		want  map[flow.Event]int
	}{
		{
			name: "keyed by exporter port and source id",
			steps: []step{
				{exp: expA, pkt: v9Tmpl(1, 300)},
				{exp: expA, pkt: v9Data(1, 300), records: 1},
				{exp: expA2, pkt: v9Data(1, 300)},
				{exp: expA, pkt: v9Data(2, 300)},
			},
			want: map[flow.Event]int{flow.EventTemplates: 1, flow.EventWaiting: 2},
		},
		{
			name: "expired by Expire",
			steps: []step{
				{exp: expA, pkt: v9Tmpl(1, 300)},
				{at: 89 * time.Minute, expire: true},
				{at: 89 * time.Minute, exp: expA, pkt: v9Data(1, 300), records: 1},
				{at: 91 * time.Minute, expire: true},
				{at: 91 * time.Minute, exp: expA, pkt: v9Data(1, 300)},
			},
			want: map[flow.Event]int{flow.EventWaiting: 1},
		},
		{
			name: "expired at lookup, refresh extends",
			steps: []step{
				{exp: expA, pkt: v9Tmpl(1, 300, 301)},
				{at: 60 * time.Minute, exp: expA, pkt: v9Tmpl(1, 300)},
				{at: 100 * time.Minute, exp: expA, pkt: v9Data(1, 300), records: 1},
				{at: 100 * time.Minute, exp: expA, pkt: v9Data(1, 301)},
			},
			want: map[flow.Event]int{flow.EventTemplates: 1, flow.EventWaiting: 1},
		},
		{
			name: "per-exporter bound evicts the least recently refreshed",
			cfg:  func(c *Config) { c.MaxTemplatesPerExporter = 2 },
			steps: []step{
				{exp: expA, pkt: v9Tmpl(1, 300, 301)},
				{exp: expA, pkt: v9Tmpl(1, 300)},
				{exp: expA, pkt: v9Tmpl(1, 302)},
				{exp: expA, pkt: v9Data(1, 300), records: 1},
				{exp: expA, pkt: v9Data(1, 301)},
				{exp: expB, pkt: v9Tmpl(1, 300, 301)},
			},
			want: map[flow.Event]int{flow.EventTemplates: 4, flow.EventTemplateEvicted: 1, flow.EventWaiting: 1},
		},
		{
			name: "total bound evicts across exporters",
			cfg:  func(c *Config) { c.MaxTemplates, c.MaxTemplatesPerExporter = 3, 3 },
			steps: []step{
				{exp: expA, pkt: v9Tmpl(1, 300, 301)},
				{exp: expB, pkt: v9Tmpl(1, 300, 301)},
				{exp: expA, pkt: v9Data(1, 300)},
				{exp: expA, pkt: v9Data(1, 301), records: 1},
			},
			want: map[flow.Event]int{flow.EventTemplates: 3, flow.EventTemplateEvicted: 1, flow.EventWaiting: 1},
		},
		{
			name: "exporter bound forgets the least recently heard",
			cfg:  func(c *Config) { c.MaxExporters = 1 },
			steps: []step{
				{exp: expA, pkt: v9Tmpl(1, 300)},
				{exp: expA, pkt: v9Data(1, 301)},
				{exp: expB, pkt: v9Tmpl(1, 300)},
				{exp: expA, pkt: v9Data(1, 300)},
			},
			want: map[flow.Event]int{flow.EventTemplates: 0, flow.EventWaiting: 1, flow.EventWaitingDropped: 1},
		},
		{
			name: "held data expires",
			steps: []step{
				{exp: expA, pkt: v9Data(1, 300)},
				{at: 6 * time.Minute, expire: true},
				{at: 6 * time.Minute, exp: expA, pkt: v9Tmpl(1, 300)},
			},
			want: map[flow.Event]int{flow.EventTemplates: 1, flow.EventWaitingDropped: 1},
		},
		{
			name: "held data bound per exporter drops the oldest",
			cfg:  func(c *Config) { c.MaxWaitingPerExporter = 2 },
			steps: []step{
				{exp: expA, pkt: v9Data(1, 300)},
				{exp: expA, pkt: v9Data(1, 301)},
				{exp: expA, pkt: v9Data(1, 300)},
				{exp: expA, pkt: v9Tmpl(1, 300, 301), records: 2},
			},
			want: map[flow.Event]int{flow.EventTemplates: 2, flow.EventWaitingDropped: 1},
		},
		{
			name: "held bytes bound across exporters",
			cfg:  func(c *Config) { c.MaxWaitingBytes = 60 },
			steps: []step{
				{exp: expA, pkt: v9Data(1, 300)},
				{exp: expB, pkt: v9Data(1, 300)},
				{exp: expA, pkt: v9Tmpl(1, 300)},
				{exp: expB, pkt: v9Tmpl(1, 300), records: 1},
			},
			want: map[flow.Event]int{flow.EventTemplates: 2, flow.EventWaitingDropped: 1},
		},
		{
			name: "idle exporters are forgotten",
			steps: []step{
				{exp: expA, pkt: v9Data(1, 300)},
				{at: 2 * time.Hour, expire: true},
			},
			want: map[flow.Event]int{flow.EventWaitingDropped: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			rec := newRecorder()
			d := New(cfg, rec)
			for i, s := range tc.steps {
				now := testNow.Add(s.at)
				if s.expire {
					d.Expire(now)
					continue
				}
				got, _, err := d.Decode(s.pkt, s.exp, now, nil)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if len(got) != s.records {
					t.Errorf("step %d: %d records, want %d", i, len(got), s.records)
				}
			}
			for _, ev := range []flow.Event{flow.EventTemplates, flow.EventTemplateEvicted, flow.EventWaiting, flow.EventWaitingDropped} {
				if got, want := rec.sums[ev], tc.want[ev]; got != want {
					t.Errorf("%s = %d, want %d", ev, got, want)
				}
			}
			if n := d.nTemplates; n != rec.sums[flow.EventTemplates] {
				t.Errorf("decoder holds %d templates, events say %d", n, rec.sums[flow.EventTemplates])
			}
			if n := d.heldFIFO.Len(); n != rec.sums[flow.EventWaiting] {
				t.Errorf("decoder holds %d data sets, events say %d", n, rec.sums[flow.EventWaiting])
			}
		})
	}
}

func TestIdleExporterForgotten(t *testing.T) {
	d := New(DefaultConfig(), nil)
	d.Decode(v9Data(1, 300), expA, testNow, nil)
	d.Expire(testNow.Add(2 * time.Hour))
	if n := len(d.exporters); n != 0 {
		t.Errorf("%d exporters left, want 0", n)
	}
}
