package report

import (
	"bytes"
	"testing"
)

// FuzzReport decodes arbitrary JSON as a report: Decode never panics, and
// a report it accepts is valid, renders, and survives a round trip
// through its JSON unchanged.
func FuzzReport(f *testing.F) {
	op := operatorReport()
	op.ID = "IR-2026-000123"
	op.MarkDomestic(domestic)
	if b, err := op.JSON(); err == nil {
		f.Add(b)
	}
	for name, ev := range fixtures() {
		r, err := FromDetection("198.51.100.7", ev, opts())
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		b, err := r.JSON()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"operator":"op","organization":"org","type":"other","title":"t","start":"2026-11-26T09:00:00Z","detected":"2026-11-26T09:00:00+09:00","tlp":"TLP:RED"}`))
	f.Add([]byte(`{"operator":"op","organization":"org","type":"ddos","title":"t","start":"2026-11-26T09:00:00Z","detected":"2026-11-26T10:00:00Z","tlp":"white","indicators":["300.1.1.1","::ffff:1.2.3.4/120"],"observed_volumes":{"peak_bps":1e400}}`))
	f.Add([]byte(`{"id":"IR-9999-000001","tlp":"amber+strict","start":"9999-12-31T23:59:59Z"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("Decode accepted an invalid report: %v", err)
		}
		js, err := r.JSON()
		if err != nil {
			t.Fatalf("an accepted report does not encode: %v", err)
		}
		back, err := Decode(js)
		if err != nil {
			t.Fatalf("the report's own JSON does not decode: %v\n%s", err, js)
		}
		js2, err := back.JSON()
		if err != nil || !bytes.Equal(js, js2) {
			t.Fatalf("round trip changed the report:\n%s\n%s", js, js2)
		}
		_ = r.Text()
		_ = r.Classification()
	})
}
