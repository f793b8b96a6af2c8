package netflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

// rateOf is a record's sampling as the interface sampling tests see it.
type rateOf struct {
	Rate uint32
	Src  flow.SamplingSource
}

func ratesOf(recs []flow.Record) []rateOf {
	out := make([]rateOf, len(recs))
	for i, r := range recs {
		out[i] = rateOf{r.SamplingRate, r.SamplingSource}
	}
	return out
}

// ifData is a record of ipfixCore plus input and output interface (and a
// sampler id if the template has one).
func ifData(in, out uint32, sampler ...uint32) []byte {
	b := cat(ipfixCoreData(), be32(in), be32(out))
	for _, s := range sampler {
		b = cat(b, be32(s))
	}
	return b
}

func TestInterfaceSamplingIPFIX(t *testing.T) {
	opts := func(id uint16, scope, fs []fld) []byte { return set(setOptionsIPFIX, 0, optRecIPFIX(id, scope, fs)) }
	// Juniper inline J-Flow: samplingInterval 34 and algorithm 35 scoped
	// by ingressInterface 10.
	jflow := opts(512, []fld{{10, 4, 0}}, []fld{{34, 4, 0}, {35, 1, 0}})
	jflowData := set(512, 0, cat(be32(3), be32(1000), []byte{2}), cat(be32(4), be32(100), []byte{2}))
	// Egress sampling: packet interval and space (305/306) scoped by
	// egressInterface 14.
	egress := opts(513, []fld{{14, 2, 0}}, []fld{{305, 4, 0}, {306, 4, 0}})
	egressData := set(513, 0, cat(be16(9), be32(1), be32(49)))
	// Domain-wide: scoped by observationDomainId 149.
	domain := opts(300, []fld{{149, 4, 0}}, []fld{{34, 4, 0}})
	domainData := set(300, 0, cat(be32(7), be32(64)))
	// Selector table (302) for records that name their selector.
	selector := opts(301, []fld{{302, 4, 0}}, []fld{{34, 4, 0}})
	selectorData := set(301, 0, cat(be32(1), be32(10)))

	tmpl := set(setTemplateIPFIX, 0, tmplRec(256, append(append([]fld{}, ipfixCore...), fld{10, 4, 0}, fld{14, 4, 0})...))
	tmplSel := set(setTemplateIPFIX, 0, tmplRec(257, append(append([]fld{}, ipfixCore...), fld{10, 4, 0}, fld{14, 4, 0}, fld{302, 4, 0})...))
	// Records on interface 3, 4, and 8 (no rate of its own); the set is
	// long enough for the layout path and its tail.
	data := set(256, 0, ifData(3, 5), ifData(4, 5), ifData(8, 5), ifData(3, 6), ifData(4, 6))
	exp := func(r uint32) rateOf { return rateOf{r, flow.SamplingExporter} }
	for _, tc := range []struct {
		name     string
		sets     [][]byte
		override map[string]uint32
		def      uint32
		want     []rateOf
	}{
		{
			name: "two interfaces, an unknown one takes the last interface rate",
			sets: [][]byte{jflow, jflowData, tmpl, data},
			want: []rateOf{exp(1000), exp(100), exp(100), exp(1000), exp(100)},
		},
		{
			name: "an unknown interface takes the domain-wide rate",
			sets: [][]byte{domain, domainData, jflow, jflowData, tmpl, data},
			want: []rateOf{exp(1000), exp(100), exp(64), exp(1000), exp(100)},
		},
		{
			name: "domain-wide rate learned after the interfaces does not replace them",
			sets: [][]byte{jflow, jflowData, domain, domainData, tmpl, data},
			want: []rateOf{exp(1000), exp(100), exp(64), exp(1000), exp(100)},
		},
		{
			name: "egress scope matches the output interface after the input",
			sets: [][]byte{domain, domainData, jflow, jflowData, egress, egressData, tmpl,
				set(256, 0, ifData(8, 9), ifData(3, 9), ifData(8, 5))},
			want: []rateOf{exp(50), exp(1000), exp(64)},
		},
		{
			name: "the record's sampler beats its interface",
			sets: [][]byte{jflow, jflowData, selector, selectorData, tmplSel,
				set(257, 0, ifData(3, 5, 1), ifData(3, 5, 2), ifData(8, 5, 2))},
			want: []rateOf{exp(10), exp(1000), exp(10)},
		},
		{
			name:     "override beats the interfaces",
			sets:     [][]byte{jflow, jflowData, tmpl, data},
			override: map[string]uint32{"192.0.2.1": 5},
			want:     []rateOf{{5, flow.SamplingOverride}, {5, flow.SamplingOverride}, {5, flow.SamplingOverride}, {5, flow.SamplingOverride}, {5, flow.SamplingOverride}},
		},
		{
			name: "no interface table: the default",
			sets: [][]byte{tmpl, data},
			def:  20,
			want: []rateOf{{20, flow.SamplingDefault}, {20, flow.SamplingDefault}, {20, flow.SamplingDefault}, {20, flow.SamplingDefault}, {20, flow.SamplingDefault}},
		},
		{
			name: "data held for its template gets the interface rates",
			sets: [][]byte{jflow, jflowData, data, tmpl},
			want: []rateOf{exp(1000), exp(100), exp(100), exp(1000), exp(100)},
		},
	} {
		for _, noLayout := range []bool{false, true} {
			name := tc.name
			if noLayout {
				name += " (ops)"
			}
			t.Run(name, func(t *testing.T) {
				cfg := DefaultConfig()
				cfg.SamplingOverride, cfg.SamplingDefault = tc.override, tc.def
				d := New(cfg, nil)
				d.noLayout = noLayout
				got, _, err := d.Decode(ipfixMsg{export: testSecs, domain: 7, sets: tc.sets}.bytes(), expA, testNow, nil)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(ratesOf(got), tc.want); diff != "" {
					t.Errorf("sampling (-got, +want):\n%s", diff)
				}
			})
		}
	}
}

func TestInterfaceSamplingV9(t *testing.T) {
	// Huawei NetStream / NX-OS: options scoped by Interface (v9 scope
	// type 2) per interface, and one scoped by System (type 1).
	ifOpts := set(setOptionsV9, 4, optRecV9(256, []fld{{2, 4, 0}}, []fld{{34, 4, 0}, {35, 1, 0}}))
	ifData := set(256, 4, cat(be32(1), be32(1000), []byte{2}), cat(be32(2), be32(100), []byte{2}))
	sysOpts := set(setOptionsV9, 4, optRecV9(257, []fld{{1, 4, 0}}, []fld{{34, 4, 0}}))
	sysData := set(257, 4, cat(be32(0), be32(64)))
	tmpl := set(setTemplateV9, 0, tmplRec(300, v4Fields...))
	// v4Fields: input and output interface are 1 and 2 in v4Data.
	withIf := func(in, out uint32) []byte {
		b := v4DataUp()
		copy(b[24:], be32(in))
		copy(b[28:], be32(out))
		return b
	}
	exp := func(r uint32) rateOf { return rateOf{r, flow.SamplingExporter} }
	for _, tc := range []struct {
		name string
		sets [][]byte
		want []rateOf
	}{
		{"per interface", [][]byte{ifOpts, ifData, tmpl, set(300, 4, withIf(1, 9), withIf(2, 9), withIf(1, 2))},
			[]rateOf{exp(1000), exp(100), exp(1000)}},
		{"unknown interface takes the system rate", [][]byte{sysOpts, sysData, ifOpts, ifData, tmpl, set(300, 4, withIf(7, 1), withIf(2, 1))},
			[]rateOf{exp(64), exp(100)}},
	} {
		for _, noLayout := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				d := New(DefaultConfig(), nil)
				d.noLayout = noLayout
				pkt := v9Msg{uptime: up, secs: testSecs, source: 42, sets: tc.sets}.bytes()
				got, _, err := d.Decode(pkt, expA, testNow, nil)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(ratesOf(got), tc.want); diff != "" {
					t.Errorf("sampling (-got, +want):\n%s", diff)
				}
			})
		}
	}
}

func TestInterfaceTableBound(t *testing.T) {
	rec := newRecorder()
	d := New(DefaultConfig(), rec)
	opts := set(setOptionsIPFIX, 0, optRecIPFIX(512, []fld{{10, 4, 0}}, []fld{{34, 4, 0}}))
	const n = maxInterfacesPerDomain + 100
	for i := range uint32(n) {
		pkt := ipfixMsg{export: testSecs, seq: i, domain: 7, sets: [][]byte{opts, set(512, 0, cat(be32(i), be32(i+2)))}}.bytes()
		if _, _, err := d.Decode(pkt, expA, testNow, nil); err != nil {
			t.Fatal(err)
		}
	}
	dom := d.domain(d.exporters[expA], versionIPFIX, 7)
	if got := len(dom.ifs.in) + len(dom.ifs.out); got != maxInterfacesPerDomain {
		t.Errorf("%d interfaces held, want %d", got, maxInterfacesPerDomain)
	}
	if got := dom.ifs.rateOf(n-1, 0); got != n+1 {
		t.Errorf("last interface learned: rate %d, want %d", got, n+1)
	}
	if got := rec.sums[flow.EventSamplingLearned]; got != n {
		t.Errorf("sampling_learned = %d, want %d", got, n)
	}
}

func TestInterfaceSamplingZeroAllocs(t *testing.T) {
	jflow := set(setOptionsIPFIX, 0, optRecIPFIX(512, []fld{{10, 4, 0}}, []fld{{34, 4, 0}}))
	tmpl := set(setTemplateIPFIX, 0, tmplRec(256, append(append([]fld{}, ipfixCore...), fld{10, 4, 0}, fld{14, 4, 0})...))
	learn := ipfixMsg{export: testSecs, domain: 7, sets: [][]byte{jflow, set(512, 0, cat(be32(3), be32(1000)), cat(be32(4), be32(100))), tmpl}}.bytes()
	data := ipfixMsg{export: testSecs, seq: 2, domain: 7, sets: [][]byte{set(256, 0, ifData(3, 5), ifData(4, 5), ifData(8, 5), ifData(3, 6))}}.bytes()
	for _, noLayout := range []bool{false, true} {
		d := New(DefaultConfig(), nil)
		d.noLayout = noLayout
		out := make([]flow.Record, 0, 64)
		if _, _, err := d.Decode(learn, expA, testNow, out); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() { out, _, _ = d.Decode(data, expA, testNow, out[:0]) })
		if allocs != 0 || len(out) != 4 || out[0].SamplingRate != 1000 || out[1].SamplingRate != 100 {
			t.Errorf("noLayout %v: %v allocations, %d records %+v", noLayout, allocs, len(out), ratesOf(out))
		}
	}
}
