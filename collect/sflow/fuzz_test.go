package sflow

import (
	"errors"
	"testing"

	"github.com/acd-org/acd/flow"
)

// FuzzDecode feeds arbitrary datagrams to the decoder, seeded with the
// captured pmacct datagrams and built ones.
func FuzzDecode(f *testing.F) {
	for _, p := range benchDatagrams(f) {
		f.Add(p)
	}
	cfg := DefaultConfig()
	cfg.MaxAgents, cfg.MaxSourcesPerAgent = 4, 4
	f.Fuzz(func(t *testing.T, pkt []byte) {
		d := New(cfg, nil)
		// Twice: the second pass runs on sequence state.
		for range 2 {
			out, format, err := d.Decode(pkt, testExp, testNow, nil)
			if format != flow.FormatSFlow {
				t.Fatalf("format %v", format)
			}
			if err != nil {
				var de *flow.DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("error %v is not a *flow.DecodeError", err)
				}
			}
			// A flow sample takes at least 8+32 bytes.
			if len(out) > len(pkt)/40 {
				t.Fatalf("%d records from %d bytes", len(out), len(pkt))
			}
			for _, r := range out {
				if r.Packets != 1 || r.Format != flow.FormatSFlow || r.SamplingRate == 0 {
					t.Fatalf("bad record %+v", r)
				}
			}
		}
		if len(d.agents) > cfg.MaxAgents {
			t.Fatalf("%d agents tracked", len(d.agents))
		}
	})
}
