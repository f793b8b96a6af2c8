package peertest

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/acd-org/acd/collect/netflow"
	"github.com/acd-org/acd/collect/sflow"
	"github.com/acd-org/acd/flow"
)

// decodeAll feeds every datagram to dec as if from one exporter,
// received at its capture time, and returns the records. It fails the
// test on any decoding error.
func decodeAll(t *testing.T, dec flow.Decoder, dgs []Datagram) []Flow {
	t.Helper()
	exp := flow.Exporter{Addr: flow.AddrFromNetip(netip.MustParseAddr("127.0.0.1")), Port: 9}
	var recs []flow.Record
	for i, d := range dgs {
		var err error
		recs, _, err = dec.Decode(d.Data, exp, d.At, recs)
		if err != nil {
			t.Errorf("datagram %d: %v", i, err)
		}
	}
	return flowsOf(recs)
}

// TestReplayCaptures decodes the committed exporter captures
// (collect/netflow/testdata, collect/sflow/testdata) with acd's decoders,
// no sockets involved, and compares them with what the reference
// collector makes of the same datagrams: nfcapd receiving them replayed
// on the loopback, or sfacctd reading the capture.
func TestReplayCaptures(t *testing.T) {
	quirks := map[string]nfdumpQuirks{}
	for _, tc := range exporterCases() {
		quirks[tc.name] = tc.quirks
	}
	for _, name := range []string{"softflowd-v5", "softflowd-v9", "softflowd-ipfix", "pmacct-v9", "pmacct-ipfix"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			Require(t, "nfcapd", "nfdump")
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			dgs := readCapture(t, filepath.Join("..", "collect", "netflow", "testdata", name+".pcap"))
			cfg := netflow.DefaultConfig()
			cfg.MaxFlowAge = pastFlowAge // see pastCaptures
			got := decodeAll(t, netflow.New(cfg, flow.NopObserver{}), dgs)
			nf := StartNfcapd(ctx, t)
			if err := Replay(dgs, nf.Addr()); err != nil {
				t.Fatal(err)
			}
			nf.Stop(ctx, t)
			want := NfdumpFlows(ctx, t, nf.Dir)
			t.Logf("%d datagrams; nfdump: %v; acd: %v", len(dgs), Sum(want), Sum(got))
			got, want = quirks[name].undo(t, got, want)
			compareFlows(t, got, want, "nfdump")
		})
	}
	t.Run("pmacct-sflow", func(t *testing.T) {
		t.Parallel()
		Require(t, "sfacctd")
		ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
		defer cancel()
		path, err := filepath.Abs(filepath.Join("..", "collect", "sflow", "testdata", "pmacct-sflow.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		dgs := readCapture(t, path)
		got := Aggregate(zeroICMPPorts(decodeAll(t, sflow.New(sflow.DefaultConfig(), flow.NopObserver{}), dgs)))
		want := SfacctdFlows(ctx, t, path)
		t.Logf("%d datagrams; sfacctd: %v; acd: %v (aggregated by 5-tuple)", len(dgs), Sum(want), Sum(got))
		compareFlows(t, got, want, "sfacctd")
	})
}

func readCapture(t *testing.T, path string) []Datagram {
	t.Helper()
	dgs, err := ReadDatagrams(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(dgs) == 0 {
		t.Fatalf("%s holds no UDP datagrams", path)
	}
	return dgs
}
