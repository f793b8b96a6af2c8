package share

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/acd-org/acd/intel/stix"
)

// FuzzToSuspects feeds arbitrary objects (seeded with the OASIS examples
// and acd's own emissions) to Accept, the scrub and ToSuspects: nothing
// panics, and every candidate has a valid target, a score in [0,1] and
// its provenance.
func FuzzToSuspects(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "stix", "testdata", "examples", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if bu, err := stix.ParseBundle(b); err == nil {
			for _, o := range bu.Objects {
				f.Add([]byte(o.Raw()))
			}
		}
	}
	for _, o := range emit(f, identity(f, "acd jp CERT"), stix.TLPAmber, victimSuspects(f)...) {
		f.Add([]byte(o.Raw()))
	}
	f.Add([]byte(`{"type":"indicator","id":"indicator--1","pattern":"[ipv6-addr:value ISSUBSET '2001:db8::/32']","pattern_type":"stix","confidence":150,"revoked":true}`))
	a := DefaultAgreement()
	a.Partner = "fuzz"
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Domestic(b, isDomestic)
		o, err := stix.Parse(b)
		if err != nil {
			return
		}
		_, _ = a.Accept(o, t0)
		_, _ = a.Allow(o, t0, isDomestic)
		cs, err := ToSuspects([]stix.Object{o, o}, "fuzz", 100, t0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Target.Domain == "" && !c.Target.Prefix.IsValid() {
				t.Errorf("invalid target from %s", b)
			}
			if c.Score < 0 || c.Score > 1 || c.Provenance.ObjectID != o.ID {
				t.Errorf("candidate %+v from %s", c, b)
			}
		}
		var v any
		if json.Unmarshal(b, &v) == nil {
			for s := range jsonWalk(b) {
				_ = s
			}
		}
	})
}
