package minimize

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

// TestMaskMatchesClearers checks, for random allow-lists, that the
// word mask zeroes exactly what the per-field clear functions zero.
func TestMaskMatchesClearers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	full := flow.Record{Start: 1, End: 2, Bytes: 3, Packets: 4, SrcAddr: addr("192.0.2.1"), DstAddr: addr("2001:db8::1"),
		Exporter: addr("192.0.2.2"), ObservationDomain: 5, InIf: 6, OutIf: 7, SrcAS: 8, DstAS: 9, SamplingRate: 10,
		KeyEpoch: 11, SrcPort: 12, DstPort: 13, Proto: 14, TCPFlags: 15, SamplingSource: flow.SamplingExporter,
		Format: flow.FormatIPFIX, Class: flow.ClassInbound, Pseudo: flow.PseudoSrc | flow.PseudoDst}
	for range 500 {
		var names []string
		for _, f := range fields {
			if rng.IntN(2) == 0 {
				names = append(names, f.name)
			}
		}
		m, err := parseFields(names)
		if err != nil {
			t.Fatal(err)
		}
		want := full
		for j, f := range fields {
			if m&(1<<j) == 0 {
				f.clear(&want)
			}
		}
		got := full
		sm := m.andMask().sparse()
		sm.apply(&got)
		if diff := cmp.Diff(got, want); diff != "" {
			t.Fatalf("fields %v (-got, +want):\n%s", names, diff)
		}
	}
}
