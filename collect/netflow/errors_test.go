package netflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

func TestBadInput(t *testing.T) {
	good := set(setTemplateIPFIX, 0, tmplRec(256, ipfixCore...))
	goodData := set(256, 0, ipfixCoreData())
	msg := func(sets ...[]byte) []byte { return ipfixMsg{export: testSecs, domain: 7, sets: sets}.bytes() }
	v9 := func(sets ...[]byte) []byte { return v9Msg{uptime: up, secs: testSecs, source: 7, sets: sets}.bytes() }
	withLen := func(b []byte, n uint16) []byte {
		b = append([]byte{}, b...)
		b[2], b[3] = byte(n>>8), byte(n)
		return b
	}
	for _, tc := range []struct {
		name    string
		pkt     []byte
		wantErr error
		want    int // records decoded anyway
	}{
		{"empty", nil, ErrShortHeader, 0},
		{"one byte", []byte{0}, ErrShortHeader, 0},
		{"unknown version", []byte{0, 7, 0, 0}, ErrBadVersion, 0},
		{"short v9 header", v9()[:19], ErrShortHeader, 0},
		{"short ipfix header", msg()[:15], ErrShortHeader, 0},
		{"ipfix length below header", withLen(msg(good, goodData), 8), ErrBadLength, 0},
		{"ipfix length past the datagram", withLen(msg(good, goodData), 2000), ErrBadLength, 1},
		{"set length 0", msg(good, goodData, []byte{1, 0, 0, 0}), ErrBadSetLength, 1},
		{"set length past the end", msg(good, goodData, []byte{1, 0, 0, 40, 1, 2}), ErrBadSetLength, 1},
		{"set length 3", msg(good, []byte{1, 0, 0, 3}, goodData), ErrBadSetLength, 0},
		{"trailing garbage shorter than a set header", append(v9(set(0, 0, tmplRec(256, ipfixCore...)), goodData), 1, 2), ErrBadSetLength, 1},
		{"bytes past the ipfix length are ignored", append(msg(good, goodData), 1, 2), nil, 1},
		{"trailing zero padding", append(msg(good, goodData), 0, 0), nil, 1},
		{"reserved set id is skipped", msg(good, set(4, 0, []byte{1, 2, 3, 4}), goodData), nil, 1},
		{"v9 reserved flowset id is skipped", v9(set(2, 0, []byte{1, 2, 3, 4}), set(0, 0, tmplRec(256, ipfixCore...)), goodData), nil, 1},
		{"template id below 256", msg(set(setTemplateIPFIX, 0, tmplRec(255, ipfixCore...)), goodData), ErrBadTemplate, 0},
		{"template record truncated", msg(set(setTemplateIPFIX, 0, tmplRec(256, ipfixCore...)[:10])), ErrBadTemplate, 0},
		{"template with only empty fields", msg(set(setTemplateIPFIX, 0, tmplRec(256, fld{1, 0, 0}, fld{2, 0, 0})), set(256, 0, []byte{1, 2, 3, 4})), ErrBadTemplate, 0},
		{"template longer than a set", msg(set(setTemplateIPFIX, 0, tmplRec(256, fld{1, 60000, 0}, fld{2, 60000, 0}))), ErrBadTemplate, 0},
		{"v9 template with no field", v9(set(setTemplateV9, 0, tmplRec(256))), ErrBadTemplate, 0},
		{"v9 options template with odd lengths", v9(set(setOptionsV9, 0, cat(be16(256), be16(3), be16(4), make([]byte, 8)))), ErrBadTemplate, 0},
		{"v9 options template with no field", v9(set(setOptionsV9, 0, cat(be16(256), be16(0), be16(0)))), ErrBadTemplate, 0},
		{"ipfix options template with scope count 0", msg(set(setOptionsIPFIX, 0, cat(be16(256), be16(1), be16(0), be16(34), be16(4)))), ErrBadTemplate, 0},
		{"ipfix options template with scope count above field count", msg(set(setOptionsIPFIX, 0, cat(be16(256), be16(1), be16(2), be16(34), be16(4)))), ErrBadTemplate, 0},
		{"too many fields", msg(set(setTemplateIPFIX, 0, tmplRec(256, make([]fld, 600)...))), ErrBadTemplate, 0},
		{"enterprise number cut off", msg(set(setTemplateIPFIX, 0, cat(be16(256), be16(1), be16(0x8001), be16(4), be16(0)))), ErrBadTemplate, 0},
		{
			"variable-length field past the end of the set",
			msg(set(setTemplateIPFIX, 0, tmplRec(256, fld{8, 4, 0}, fld{82, varLen, 0})),
				set(256, 0, cat(ip("10.0.0.1"), []byte{3, 'a', 'b', 'c'}), cat(ip("10.0.0.1"), []byte{200, 'a'}))),
			ErrTruncatedRecord, 1,
		},
		{
			"3-byte length cut off",
			msg(set(setTemplateIPFIX, 0, tmplRec(256, fld{8, 4, 0}, fld{82, varLen, 0})), set(256, 0, cat(ip("10.0.0.1"), []byte{255, 0}))),
			ErrTruncatedRecord, 0,
		},
		{"data set shorter than a record", msg(good, set(256, 0, []byte{1, 2, 3, 4, 5})), ErrTruncatedRecord, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := New(DefaultConfig(), nil)
			got, _, err := d.Decode(tc.pkt, expA, testNow, nil)
			if err != tc.wantErr {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if len(got) != tc.want {
				t.Errorf("%d records, want %d", len(got), tc.want)
			}
		})
	}
}

// TestOtherExportersUndisturbed checks that one exporter's hostile
// traffic (a template flood, held data floods, broken packets) changes
// nothing for another.
func TestOtherExportersUndisturbed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxTemplatesPerExporter = 8
	cfg.MaxWaitingPerExporter = 4
	rec := newRecorder()
	d := New(cfg, rec)
	tmpl := v9Msg{uptime: up, secs: testSecs, source: 42, sets: [][]byte{set(setTemplateV9, 0, tmplRec(300, v4Fields...))}}.bytes()
	data := v9Msg{uptime: up, secs: testSecs, seq: 1, source: 42, sets: [][]byte{set(300, 4, v4DataUp())}}.bytes()
	if _, _, err := d.Decode(tmpl, expA, testNow, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		id := uint16(256 + i)
		flood := v9Msg{uptime: up, secs: testSecs, seq: uint32(i), source: 42, sets: [][]byte{
			set(setTemplateV9, 0, tmplRec(id, fld{1, 4, 0})), set(id+5000, 0, make([]byte, 100)), {0, 0, 0}}}.bytes()
		d.Decode(flood, expB, testNow, nil)
	}
	got, _, err := d.Decode(data, expA, testNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, []flow.Record{v4Want(flow.FormatNetFlowV9)}); diff != "" {
		t.Errorf("records (-got, +want):\n%s", diff)
	}
	if n := rec.per[expB][flow.EventTemplates]; n != 8 {
		t.Errorf("flooding exporter holds %d templates, want the bound 8", n)
	}
	if n := rec.per[expB][flow.EventWaiting]; n != 4 {
		t.Errorf("flooding exporter holds %d data sets, want the bound 4", n)
	}
	if n := rec.per[expB][flow.EventTemplateEvicted]; n != 1000-8 {
		t.Errorf("evicted = %d, want %d", n, 1000-8)
	}
	if n := rec.per[expA][flow.EventTemplates]; n != 1 {
		t.Errorf("other exporter holds %d templates, want 1", n)
	}
}
