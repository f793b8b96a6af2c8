package exchange

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/taxii"
)

// BenchmarkPublisherRun publishes 10,000 new scanner suspects (3 objects
// each) into a MemStore collection per operation; objects/s is reported.
func BenchmarkPublisherRun(b *testing.B) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	var ss []detect.Suspect
	bk := detect.NewBook(20_000, nil)
	base := netip.MustParseAddr("100.64.0.0").As4()
	for i := range 10_000 {
		a := base
		a[2], a[3] = byte(i>>8), byte(i)
		ss = append(ss, bk.Add(finding(b, netip.AddrFrom4(a).String(), "scan", detect.RoleScanner, 0.7, "scan of [address]", at)))
	}
	id := identity(b, "acd jp", at)
	const col = "6f1d0a52-3c1e-4b7e-9a55-0b7f5e2c1a09"
	b.ReportAllocs()
	objects := 0
	for b.Loop() {
		p := &Publisher{Identity: id, TLP: stix.TLPGreen, Store: taxii.NewMemStore(nil), Now: func() time.Time { return at },
			Source:   func(context.Context) ([]detect.Suspect, error) { return ss, nil },
			Partners: []*share.Gate{{Agreement: outAgreement("us", col, stix.TLPGreen, true), Ledger: &share.MemLedger{}, Domestic: isDomestic}}}
		st, err := p.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if st.Published < 30_000 {
			b.Fatalf("%+v", st)
		}
		objects += st.Published
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}
