package bgp

import (
	"testing"

	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	api "github.com/osrg/gobgp/v3/api"

	"github.com/acd-org/acd/cases"
)

// FuzzRIBPath feeds ourPath (what Sync decodes of each RIB path) with
// arbitrary NLRI and attribute bytes: it must return an error or a
// path, never panic, and a path it accepts must render.
func FuzzRIBPath(f *testing.F) {
	b, err := newBuilder(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	for _, a := range []cases.Action{
		action(cases.ActionRTBH, "203.0.113.7", cases.Scope{}),
		action(cases.ActionRTBH, "2001:db8:1::7", cases.Scope{}),
		action(cases.ActionFlowSpec, "198.51.100.0/24", cases.Scope{Destination: cases.MustTarget("203.0.113.0/24"),
			Protocol: 6, Ports: []cases.PortRange{{From: 80, To: 80}, {From: 8000, To: 8080}}, RateBps: 125000}),
		action(cases.ActionFlowSpec, "2001:db8:66::/48", cases.Scope{Protocol: 17}),
	} {
		r, err := b.build(a)
		if err != nil {
			f.Fatal(err)
		}
		var attrs []byte
		for _, pa := range r.attrs {
			w, err := pa.Serialize()
			if err != nil {
				f.Fatal(err)
			}
			attrs = append(attrs, byte(len(w)>>8), byte(len(w)))
			attrs = append(attrs, w...)
		}
		f.Add(familyIndex(r.family), r.wire, attrs)
	}
	s := &Speaker{cfg: testConfig()}
	f.Fuzz(func(t *testing.T, fam uint8, nlri, attrs []byte) {
		rf := familyRF(Families()[int(fam)%4])
		p := &api.Path{NlriBinary: nlri}
		for len(attrs) >= 2 {
			n := int(attrs[0])<<8 | int(attrs[1])
			attrs = attrs[2:]
			if n > len(attrs) {
				n = len(attrs)
			}
			p.PattrsBinary = append(p.PattrsBinary, attrs[:n])
			attrs = attrs[n:]
		}
		rp, ok, err := s.ourPath(rf, p)
		if err != nil || !ok {
			return
		}
		if _, err := rp.r.decoded(); err == nil {
			_ = rp.r.String()
		}
		_ = rp.sig
	})
}

func familyIndex(rf bgp.RouteFamily) uint8 {
	for i, f := range Families() {
		if familyRF(f) == rf {
			return uint8(i)
		}
	}
	return 0
}
