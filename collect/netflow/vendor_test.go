package netflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

// Records shaped like what third-party exporters send: field sets, field
// lengths and options tables taken from their documented templates.

func TestVendorIPFIX(t *testing.T) {
	tmpl := func(id uint16, fs ...fld) []byte { return set(setTemplateIPFIX, 0, tmplRec(id, fs...)) }
	opts := func(id uint16, scope, fs []fld) []byte { return set(setOptionsIPFIX, 0, optRecIPFIX(id, scope, fs)) }
	base := ipfixBase()
	mod := func(f func(r *flow.Record)) flow.Record {
		r := ipfixBase()
		f(&r)
		return r
	}
	ms := func(d int64) []byte { return be64(uint64(testMs + d)) }
	for _, tc := range []struct {
		name    string
		msgs    [][][]byte
		want    []flow.Record
		wantErr error
	}{
		{
			// Cisco ASA NSEL: no octetDeltaCount; initiator/responder
			// octets (231/232), event time 323 and create time 152, 2-byte
			// interfaces, enterprise-range v9 ids (33000+, 40000+) as plain
			// IPFIX elements with their enterprise bit clear.
			name: "asa nsel initiator octets",
			msgs: [][][]byte{{tmpl(263, fld{148, 4, 0}, fld{8, 4, 0}, fld{7, 2, 0}, fld{10, 2, 0}, fld{12, 4, 0}, fld{11, 2, 0},
				fld{14, 2, 0}, fld{4, 1, 0}, fld{176, 1, 0}, fld{177, 1, 0}, fld{225, 4, 0}, fld{226, 4, 0},
				fld{233, 1, 0}, fld{323, 8, 0}, fld{152, 8, 0}, fld{231, 4, 0}, fld{232, 4, 0}, fld{298, 8, 0}, fld{299, 8, 0}),
				set(263, 0, cat(be32(77), ip("10.0.0.1"), be16(1234), be16(5), ip("10.0.0.2"), be16(80), be16(6), []byte{6, 0, 0},
					ip("192.0.2.10"), ip("192.0.2.20"), []byte{2}, ms(-1000), ms(-3000), be32(1500), be32(90000), be64(10), be64(60)))}},
			want: []flow.Record{mod(func(r *flow.Record) { r.InIf, r.OutIf = 5, 6 })},
		},
		{
			// ASA flow-create events carry no counters at all.
			name: "asa nsel flow create without counters",
			msgs: [][][]byte{{tmpl(260, fld{8, 4, 0}, fld{12, 4, 0}, fld{7, 2, 0}, fld{11, 2, 0}, fld{4, 1, 0}, fld{323, 8, 0}, fld{152, 8, 0}),
				set(260, 0, cat(ip("10.0.0.1"), ip("10.0.0.2"), be16(1234), be16(80), []byte{6}, ms(-1000), ms(-3000)))}},
			want: []flow.Record{mod(func(r *flow.Record) { r.Bytes, r.Packets = 0, 0 })},
		},
		{
			// Reduced-size encoding (RFC 7011 §6.2): counters in 2 and 3
			// bytes, interfaces in 2, ASNs in 2, packets in 1.
			name: "reduced size encoding",
			msgs: [][][]byte{{tmpl(256, fld{8, 4, 0}, fld{12, 4, 0}, fld{7, 2, 0}, fld{11, 2, 0}, fld{4, 1, 0}, fld{1, 3, 0}, fld{2, 1, 0},
				fld{10, 2, 0}, fld{14, 2, 0}, fld{16, 2, 0}, fld{17, 2, 0}, fld{152, 8, 0}, fld{153, 8, 0}),
				set(256, 0, cat(ip("10.0.0.1"), ip("10.0.0.2"), be16(1234), be16(80), []byte{6}, []byte{0x01, 0x00, 0x05}, []byte{10},
					be16(3), be16(4), be16(65001), be16(65002), ms(-3000), ms(-1000)))}},
			want: []flow.Record{mod(func(r *flow.Record) {
				r.Bytes, r.InIf, r.OutIf, r.SrcAS, r.DstAS = 0x10005, 3, 4, 65001, 65002
			})},
		},
		{
			// Juniper inline J-Flow: MACs, VLAN, flow label, MPLS labels,
			// flowEndReason, direction, next hop, then sampling interval in
			// options data scoped by interface.
			name: "juniper inline jflow with interface-scoped sampling",
			msgs: [][][]byte{{
				opts(512, []fld{{10, 4, 0}}, []fld{{34, 4, 0}, {35, 1, 0}, {160, 8, 0}}),
				set(512, 0, cat(be32(3), be32(1000), []byte{2}, ms(-100000))),
				tmpl(257, fld{8, 4, 0}, fld{12, 4, 0}, fld{7, 2, 0}, fld{11, 2, 0}, fld{4, 1, 0}, fld{56, 6, 0}, fld{80, 6, 0},
					fld{58, 2, 0}, fld{31, 3, 0}, fld{70, 3, 0}, fld{71, 3, 0}, fld{136, 1, 0}, fld{61, 1, 0}, fld{15, 4, 0},
					fld{1, 8, 0}, fld{2, 8, 0}, fld{22, 4, 0}, fld{21, 4, 0}),
				set(257, 4, cat(ip("10.0.0.1"), ip("10.0.0.2"), be16(1234), be16(80), []byte{6}, []byte{1, 2, 3, 4, 5, 6},
					[]byte{6, 5, 4, 3, 2, 1}, be16(100), []byte{0xf, 0xff, 0xff}, []byte{1, 2, 3}, []byte{4, 5, 6}, []byte{3}, []byte{1},
					ip("192.0.2.254"), be64(1500), be64(10), be32(97000), be32(99000)))}},
			want: []flow.Record{mod(func(r *flow.Record) { r.SamplingRate, r.SamplingSource = 1000, flow.SamplingExporter })},
		},
		{
			// Cisco IOS-XE IPFIX: a selector table (scope selectorId 302,
			// selectorAlgorithm 304, samplingPacketInterval 305 and Space
			// 306) and data records naming their selector.
			name: "selector table with packet interval and space",
			msgs: [][][]byte{{
				opts(300, []fld{{302, 8, 0}}, []fld{{304, 2, 0}, {305, 4, 0}, {306, 4, 0}}),
				set(300, 0, cat(be64(1), be16(1), be32(1), be32(99)), cat(be64(2), be16(1), be32(1), be32(9))),
				tmpl(256, append(append([]fld{}, ipfixCore...), fld{152, 8, 0}, fld{153, 8, 0}, fld{302, 4, 0})...),
				set(256, 0, cat(ipfixCoreData(), ms(-3000), ms(-1000), be32(1)), cat(ipfixCoreData(), ms(-3000), ms(-1000), be32(2)))}},
			want: []flow.Record{
				mod(func(r *flow.Record) { r.SamplingRate, r.SamplingSource = 100, flow.SamplingExporter }),
				mod(func(r *flow.Record) { r.SamplingRate, r.SamplingSource = 10, flow.SamplingExporter }),
			},
		},
		{
			// nProbe: IPv4 and IPv6 address fields in one template, the
			// unused family zero; application id (95) and an HTTP URL as
			// variable-length fields, a 3-byte length form.
			name: "nprobe dual-stack template with variable-length fields",
			msgs: [][][]byte{{
				tmpl(258, fld{8, 4, 0}, fld{12, 4, 0}, fld{27, 16, 0}, fld{28, 16, 0}, fld{7, 2, 0}, fld{11, 2, 0}, fld{4, 1, 0},
					fld{95, varLen, 0}, fld{1, 4, 0}, fld{2, 4, 0}, fld{180, varLen, 35632}, fld{152, 8, 0}, fld{153, 8, 0}),
				set(258, 0,
					cat(ip("0.0.0.0"), ip("0.0.0.0"), ip("2001:db8::1"), ip("2001:db8::2"), be16(1234), be16(80), []byte{6},
						varField([]byte{3, 0, 0, 80}, false), be32(1500), be32(10), varField([]byte("http://example.com/"), true), ms(-3000), ms(-1000)),
					cat(ip("10.0.0.1"), ip("10.0.0.2"), make([]byte, 32), be16(1234), be16(80), []byte{6},
						varField(nil, false), be32(1500), be32(10), varField(nil, false), ms(-3000), ms(-1000)))}},
			want: []flow.Record{
				mod(func(r *flow.Record) { r.SrcAddr, r.DstAddr = addr("2001:db8::1"), addr("2001:db8::2") }),
				base,
			},
		},
		{
			// RFC 6313 structured data: basicList (291), subTemplateList
			// (292) and subTemplateMultiList (293), variable-length, are
			// skipped by their length, whatever they hold.
			name: "structured data elements skipped by length",
			msgs: [][][]byte{{
				tmpl(259, append(append([]fld{}, ipfixCore...), fld{291, varLen, 0}, fld{292, varLen, 0}, fld{293, varLen, 0},
					fld{152, 8, 0}, fld{153, 8, 0})...),
				set(259, 0, cat(ipfixCoreData(),
					varField(cat([]byte{3}, be16(70), be16(3), []byte{1, 2, 3, 4, 5, 6}), false),
					varField(cat([]byte{0xff}, be16(256), make([]byte, 300)), true),
					varField(cat([]byte{3}, be16(256), be16(8), make([]byte, 4)), false),
					ms(-3000), ms(-1000)))}},
			want: []flow.Record{base},
		},
		{
			// Several templates in one set, an options template set, data
			// sets of both, padding after each.
			name: "several sets of several kinds with padding",
			msgs: [][][]byte{{
				set(setTemplateIPFIX, 4, tmplRec(256, append(append([]fld{}, ipfixCore...), fld{152, 8, 0}, fld{153, 8, 0})...),
					tmplRec(257, append(append([]fld{}, ipfixCore...), fld{150, 4, 0}, fld{151, 4, 0})...)),
				set(setOptionsIPFIX, 8, optRecIPFIX(300, []fld{{149, 4, 0}}, []fld{{34, 4, 0}})),
				set(300, 8, cat(be32(7), be32(64))),
				set(257, 8, cat(ipfixCoreData(), be32(uint32(testMs/1000-3)), be32(uint32(testMs/1000-1)))),
				set(256, 8, cat(ipfixCoreData(), ms(-3000), ms(-1000)))}},
			want: []flow.Record{
				mod(func(r *flow.Record) { r.SamplingRate, r.SamplingSource = 64, flow.SamplingExporter }),
				mod(func(r *flow.Record) { r.SamplingRate, r.SamplingSource = 64, flow.SamplingExporter }),
			},
		},
		{
			name: "zero padding after the last set",
			msgs: [][][]byte{{tmpl(256, append(append([]fld{}, ipfixCore...), fld{152, 8, 0}, fld{153, 8, 0})...),
				set(256, 0, cat(ipfixCoreData(), ms(-3000), ms(-1000))), make([]byte, 16)}},
			want: []flow.Record{base},
		},
		{
			name:    "non-zero bytes after the last set",
			msgs:    [][][]byte{{tmpl(256, ipfixCore...), cat(make([]byte, 15), []byte{1})}},
			wantErr: ErrBadSetLength,
		},
		{
			name:    "options template with scope count 0 is rejected",
			msgs:    [][][]byte{{set(setOptionsIPFIX, 0, cat(be16(300), be16(1), be16(0), fld{34, 4, 0}.bytes())), set(300, 0, be32(64))}},
			wantErr: ErrBadTemplate,
		},
		{
			name: "template id reused with another layout replaces it",
			msgs: [][][]byte{
				{tmpl(256, append(append([]fld{}, ipfixCore...), fld{152, 8, 0}, fld{153, 8, 0})...)},
				{tmpl(256, append([]fld{{153, 8, 0}, {152, 8, 0}}, ipfixCore...)...), set(256, 0, cat(ms(-1000), ms(-3000), ipfixCoreData()))},
			},
			want: []flow.Record{base},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig(), nil)
			var got []flow.Record
			var err error
			for i, sets := range tc.msgs {
				pkt := ipfixMsg{export: testSecs, seq: uint32(i), domain: 7, sets: sets}.bytes()
				got, _, err = d.Decode(pkt, expA, testNow, got)
			}
			if err != tc.wantErr {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("records (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestVendorV9(t *testing.T) {
	rated := func(r flow.Record, rate uint32) flow.Record {
		r.SamplingRate, r.SamplingSource = rate, flow.SamplingExporter
		return r
	}
	want := v4Want(flow.FormatNetFlowV9)
	for _, tc := range []struct {
		name   string
		uptime uint32
		pkts   [][][]byte
		want   []flow.Record
	}{
		{
			// sysUptime wrapped at 2^32 ms (49.7 days) between the flow's
			// start and the export.
			name:   "uptime wrap",
			uptime: 2000,
			pkts: [][][]byte{{set(setTemplateV9, 0, tmplRec(300, v4Fields...)),
				set(300, 4, v4Data("10.0.0.1", "10.0.0.2", 1<<32-1000, 1000, 1500, 10, 1234, 80, 6, 0x12))}},
			want: []flow.Record{func() flow.Record { r := want; r.Start, r.End = testMs-3000, testMs-1000; return r }()},
		},
		{
			// Huawei NetStream / NX-OS: sampling interval and algorithm
			// (34, 35) in options scoped by Interface (v9 scope type 2),
			// then LineCard (3) and Cache (4) scopes that teach nothing.
			name:   "interface scoped interval and other scope types",
			uptime: up,
			pkts: [][][]byte{{
				set(setOptionsV9, 4, optRecV9(256, []fld{{2, 4, 0}}, []fld{{34, 4, 0}, {35, 1, 0}})),
				set(setOptionsV9, 4, optRecV9(257, []fld{{3, 4, 0}, {4, 2, 0}}, []fld{{36, 2, 0}, {37, 2, 0}})),
				set(256, 4, cat(be32(5), be32(2048), []byte{2})),
				set(257, 4, cat(be32(1), be16(0), be16(60), be16(15))),
				set(setTemplateV9, 0, tmplRec(300, v4Fields...)), set(300, 4, v4DataUp())}},
			want: []flow.Record{rated(want, 2048)},
		},
		{
			// Some exporters pad each datagram with zeros to a fixed size
			// (nfdump issue 73): no set header, no error.
			name:   "datagram padded with zeros",
			uptime: up,
			pkts:   [][][]byte{{set(setTemplateV9, 4, tmplRec(300, v4Fields...)), set(300, 4, v4DataUp()), make([]byte, 300)}},
			want:   []flow.Record{want},
		},
		{
			// Cisco ASA NSEL v9: the same ids as IPFIX, plus v9 ids above
			// 32767 (33000-33002 ACL and extended event, 40000-40005 user
			// and XLATE) that are not enterprise-specific in v9.
			name:   "asa nsel v9",
			uptime: up,
			pkts: [][][]byte{{set(setTemplateV9, 4, tmplRec(263, fld{8, 4, 0}, fld{12, 4, 0}, fld{7, 2, 0}, fld{11, 2, 0}, fld{4, 1, 0},
				fld{10, 2, 0}, fld{14, 2, 0}, fld{33002, 2, 0}, fld{40000, 20, 0}, fld{323, 8, 0}, fld{152, 8, 0}, fld{231, 4, 0}, fld{232, 4, 0})),
				set(263, 4, cat(ip("10.0.0.1"), ip("10.0.0.2"), be16(1234), be16(80), []byte{6}, be16(3), be16(4), be16(2030),
					make([]byte, 20), be64(uint64(testMs-1000)), be64(uint64(testMs-3000)), be32(1500), be32(90000)))}},
			want: []flow.Record{func() flow.Record {
				r := want
				r.Packets, r.SrcAS, r.DstAS, r.TCPFlags = 0, 0, 0, 0
				return r
			}()},
		},
		{
			// Templates refreshed in every datagram, with padding, and a
			// source id change: the other domain has its own templates.
			name:   "templates every datagram and a second source id",
			uptime: up,
			pkts: [][][]byte{
				{set(setTemplateV9, 4, tmplRec(300, v4Fields...)), set(300, 4, v4DataUp())},
				{set(setTemplateV9, 4, tmplRec(300, v4Fields...)), set(300, 4, v4DataUp())},
			},
			want: []flow.Record{want, want},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig(), nil)
			var got []flow.Record
			for i, sets := range tc.pkts {
				var err error
				pkt := v9Msg{uptime: tc.uptime, secs: testSecs, seq: uint32(i), source: 42, sets: sets}.bytes()
				got, _, err = d.Decode(pkt, expA, testNow, got)
				if err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("records (-got, +want):\n%s", diff)
			}
		})
	}
}
