package netflow

import (
	"testing"

	"github.com/acd-org/acd/flow"
)

func TestSamplingPrecedence(t *testing.T) {
	tmpl := set(setTemplateIPFIX, 0, tmplRec(256, ipfixCore...))
	tmplOwn := set(setTemplateIPFIX, 0, tmplRec(257, append(append([]fld{}, ipfixCore...), fld{34, 4, 0})...))
	opts := set(setOptionsIPFIX, 0, optRecIPFIX(300, []fld{{149, 4, 0}}, []fld{{34, 4, 0}}))
	optData := set(300, 0, cat(be32(7), be32(100)))
	plain := set(256, 0, ipfixCoreData())
	own := set(257, 0, cat(ipfixCoreData(), be32(10)))
	override := map[string]uint32{"192.0.2.1": 5}
	type want struct {
		rate uint32
		src  flow.SamplingSource
	}
	for _, tc := range []struct {
		name     string
		sets     [][]byte
		def      uint32
		override map[string]uint32
		want     []want
	}{
		{"nothing known, no default", [][]byte{tmpl, plain}, 0, nil, []want{{1, flow.SamplingNone}}},
		{"nothing known, default", [][]byte{tmpl, plain}, 50, nil, []want{{50, flow.SamplingDefault}}},
		{"options beat the default", [][]byte{opts, optData, tmpl, plain}, 50, nil, []want{{100, flow.SamplingExporter}}},
		{"the record's own field beats options", [][]byte{opts, optData, tmplOwn, own, tmpl, plain}, 0, nil,
			[]want{{10, flow.SamplingExporter}, {100, flow.SamplingExporter}}},
		{"override beats everything", [][]byte{opts, optData, tmplOwn, own, tmpl, plain}, 50, override,
			[]want{{5, flow.SamplingOverride}, {5, flow.SamplingOverride}}},
		{"override of another exporter", [][]byte{tmpl, plain}, 0, map[string]uint32{"192.0.2.99": 5}, []want{{1, flow.SamplingNone}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.SamplingDefault, cfg.SamplingOverride = tc.def, tc.override
			rec := newRecorder()
			d := New(cfg, rec)
			got, _, err := d.Decode(ipfixMsg{export: testSecs, domain: 7, sets: tc.sets}.bytes(), expA, testNow, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d records, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				if got[i].SamplingRate != w.rate || got[i].SamplingSource != w.src {
					t.Errorf("record %d: rate %d from %s, want %d from %s", i, got[i].SamplingRate, got[i].SamplingSource, w.rate, w.src)
				}
			}
		})
	}
}

func TestSamplingLearnedCountsChanges(t *testing.T) {
	opts := set(setOptionsIPFIX, 0, optRecIPFIX(300, []fld{{149, 4, 0}}, []fld{{34, 4, 0}}))
	rec := newRecorder()
	d := New(DefaultConfig(), rec)
	for _, rate := range []uint32{100, 100, 100, 200, 0} {
		pkt := ipfixMsg{export: testSecs, domain: 7, sets: [][]byte{opts, set(300, 0, cat(be32(7), be32(rate)))}}.bytes()
		if _, _, err := d.Decode(pkt, expA, testNow, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := rec.sums[flow.EventSamplingLearned]; n != 2 {
		t.Errorf("sampling_learned = %d, want 2", n)
	}
}
