package netflow

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

// fuzzExporters are the exporters a fuzz input's datagrams come from.
var fuzzExporters = []flow.Exporter{expA, expB, {Addr: addr("2001:db8::9"), Port: 4739}}

// frame prefixes a datagram with its exporter index and length, the
// format FuzzDecode splits its input by.
func frame(exp byte, pkt []byte) []byte {
	return append([]byte{exp, byte(len(pkt) >> 8), byte(len(pkt))}, pkt...)
}

// fuzzSeeds returns seed inputs: captured datagrams alone and following
// the datagrams that carry their capture's templates, and test packets.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, f := range capturedFiles(t) {
		dgs := readPcap(t, f)
		var prefix []byte
		for i, dg := range dgs {
			if i < 2 {
				prefix = append(prefix, frame(0, dg.payload)...)
			}
			if i%3 == 0 {
				seeds = append(seeds, frame(0, dg.payload), append(append([]byte{}, prefix...), frame(0, dg.payload)...))
			}
		}
	}
	tmpl := v9Msg{uptime: up, secs: testSecs, source: 42, sets: [][]byte{
		set(setOptionsV9, 4, optRecV9(400, []fld{{1, 4, 0}}, []fld{{48, 1, 0}, {50, 4, 0}})),
		set(400, 4, cat(be32(1), []byte{7}, be32(100))),
		set(setTemplateV9, 0, tmplRec(300, v4Fields...)), set(300, 4, v4DataUp())}}.bytes()
	ipfix := ipfixMsg{export: testSecs, domain: 7, sets: [][]byte{
		set(setTemplateIPFIX, 0, tmplRec(256, fld{8, 4, 0}, fld{82, varLen, 0}, fld{1000, varLen, 9}, fld{152, 8, 0})),
		set(256, 4, cat(ip("10.0.0.1"), varField([]byte("eth0"), false), varField([]byte("x"), true), be64(uint64(testMs)))),
		set(setTemplateIPFIX, 0, be16(256), be16(0)),
		set(setOptionsIPFIX, 0, optRecIPFIX(257, []fld{{302, 4, 0}}, []fld{{305, 4, 0}, {306, 4, 0}, {160, 8, 0}}))}}.bytes()
	// Interface-scoped sampling (ingress, egress, v9 Interface scope) and
	// data records on those interfaces.
	ifs := ipfixMsg{export: testSecs, domain: 7, sets: [][]byte{
		set(setOptionsIPFIX, 0, optRecIPFIX(512, []fld{{10, 4, 0}}, []fld{{34, 4, 0}, {35, 1, 0}})),
		set(512, 0, cat(be32(3), be32(1000), []byte{2}), cat(be32(4), be32(100), []byte{2})),
		set(setOptionsIPFIX, 0, optRecIPFIX(513, []fld{{14, 2, 0}}, []fld{{305, 4, 0}, {306, 4, 0}})),
		set(513, 0, cat(be16(9), be32(1), be32(49))),
		set(setTemplateIPFIX, 0, tmplRec(258, append(append([]fld{}, ipfixCore...), fld{10, 4, 0}, fld{14, 4, 0})...)),
		set(258, 0, ifData(3, 5), ifData(4, 9), ifData(8, 9), ifData(3, 5))}}.bytes()
	ifsV9 := v9Msg{uptime: up, secs: testSecs, source: 42, sets: [][]byte{
		set(setOptionsV9, 4, optRecV9(256, []fld{{2, 4, 0}}, []fld{{34, 4, 0}})),
		set(256, 4, cat(be32(1), be32(1000)), cat(be32(2), be32(100))),
		set(setTemplateV9, 0, tmplRec(300, v4Fields...)), set(300, 4, v4DataUp(), v4DataUp())}}.bytes()
	seeds = append(seeds, frame(2, ifs), frame(1, ifsV9))
	v5 := v5Msg{uptime: 1000, secs: testSecs, seq: 3, sampling: 10, recs: []v5Rec{{src: "10.0.0.1", dst: "10.0.0.2", pkts: 1, octets: 40, proto: 6}}}.bytes()
	return append(seeds, frame(1, tmpl), frame(2, ipfix), frame(0, v5), append(frame(1, v9Data(42, 300)), frame(1, tmpl)...))
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := DefaultConfig()
		cfg.MaxTemplatesPerExporter, cfg.MaxTemplates = 4, 6
		cfg.MaxWaitingPerExporter, cfg.MaxWaitingBytes = 3, 4096
		cfg.MaxExporters = 2
		rec := newRecorder()
		d := New(cfg, rec)
		ref := New(cfg, newRecorder()) // decodes by ops only: layouts must agree
		ref.noLayout = true
		var out, refOut []flow.Record
		now := testNow
		for len(in) >= 3 {
			exp := fuzzExporters[int(in[0])%len(fuzzExporters)]
			n := min(int(binary.BigEndian.Uint16(in[1:])), len(in)-3)
			pkt := in[3 : 3+n]
			in = in[3+n:]
			before := len(out)
			var err error
			out, _, err = d.Decode(pkt, exp, now, out)
			var refErr error
			refOut, _, refErr = ref.Decode(pkt, exp, now, refOut)
			if diff := cmp.Diff(out, refOut); diff != "" || err != refErr {
				t.Fatalf("layout and ops disagree: err %v, %v; records (-layout, +ops):\n%s", err, refErr, diff)
			}
			if _, ok := err.(*flow.DecodeError); err != nil && !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if len(out)-before > len(pkt)+cfg.MaxWaitingBytes {
				t.Fatalf("%d records from a %d-byte datagram", len(out)-before, len(pkt))
			}
			checkInvariants(t, d, rec, &cfg)
			now = now.Add(time.Second)
		}
		for i := range out {
			if r := &out[i]; r.End < r.Start {
				t.Fatalf("record %d ends before it starts: %+v", i, r)
			}
		}
		d.Expire(now.Add(48 * time.Hour))
		checkInvariants(t, d, rec, &cfg)
		if d.nTemplates != 0 || d.heldFIFO.Len() != 0 || len(d.exporters) != 0 {
			t.Fatalf("after expiry: %d templates, %d held, %d exporters", d.nTemplates, d.heldFIFO.Len(), len(d.exporters))
		}
	})
}

// checkInvariants checks the bounds and that the gauges reported match
// the state held.
func checkInvariants(t *testing.T, d *Decoder, rec *recorder, cfg *Config) {
	t.Helper()
	if d.nTemplates != rec.sums[flow.EventTemplates] || d.nTemplates > cfg.MaxTemplates || d.nTemplates != d.tmplLRU.Len() {
		t.Fatalf("templates: %d held, %d in LRU, %d reported", d.nTemplates, d.tmplLRU.Len(), rec.sums[flow.EventTemplates])
	}
	if d.heldFIFO.Len() != rec.sums[flow.EventWaiting] || d.heldBytes > cfg.MaxWaitingBytes {
		t.Fatalf("held: %d sets (%d bytes), %d reported", d.heldFIFO.Len(), d.heldBytes, rec.sums[flow.EventWaiting])
	}
	if len(d.exporters) > cfg.MaxExporters || len(d.exporters) != d.expLRU.Len() {
		t.Fatalf("%d exporters, %d in LRU", len(d.exporters), d.expLRU.Len())
	}
	n := 0
	for _, e := range d.exporters {
		if len(e.templates) > cfg.MaxTemplatesPerExporter || e.held.Len() > cfg.MaxWaitingPerExporter {
			t.Fatalf("exporter %s: %d templates, %d held", e.key, len(e.templates), e.held.Len())
		}
		n += len(e.templates)
	}
	if n != d.nTemplates {
		t.Fatalf("exporters hold %d templates, total says %d", n, d.nTemplates)
	}
}
