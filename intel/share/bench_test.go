package share

import (
	"fmt"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix"
)

// benchBundle returns 1,000 objects acd emits: suspects with one or two
// roles, and evidence naming domestic clients.
func benchBundle(b *testing.B) []stix.Object {
	by := identity(b, "acd jp CERT")
	var objs []stix.Object
	for i := 0; len(objs) < 1000; i++ {
		addr := fmt.Sprintf("203.0.%d.%d", i/250, i%250+1)
		ev := []detect.Evidence{evidence("beacon", detect.RoleC2, 0.9,
			fmt.Sprintf("%d internal clients beacon every 60s to %s:443, e.g. 198.18.%d.%d", i%50+2, addr, i%200, i%250))}
		if i%3 == 0 {
			ev = append(ev, evidence("scan", detect.RoleScanner, 0.6, "tcp scan of 198.18.0.0/16: 5000 hosts, 3 ports"))
		}
		objs = append(objs, emit(b, by, stix.TLPGreen, suspect(b, addr, 0.9, ev...))...)
	}
	return objs[:1000]
}

// BenchmarkAllow decides a 1,000-object bundle (one op = the bundle).
func BenchmarkAllow(b *testing.B) {
	objs := benchBundle(b)
	a := testAgreement()
	now := t0.Add(24 * time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, o := range objs {
			if ok, _ := a.Allow(o, now, isDomestic); ok {
				n++
			}
		}
		if n == 0 {
			b.Fatal("nothing allowed")
		}
	}
	b.ReportMetric(float64(len(objs))*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkToSuspects reads the same bundle back as a partner.
func BenchmarkToSuspects(b *testing.B) {
	objs := benchBundle(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if c, err := ToSuspects(objs, "jp", 80, t0); err != nil || len(c) == 0 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(objs))*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
