package pcap

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/acd-org/acd/collect/pcap/pcaptest"
	"github.com/acd-org/acd/flow"
)

// maxSeedSize keeps large captures out of the fuzz corpus: the fuzzer
// mutates small inputs far faster.
const maxSeedSize = 8 << 10

// FuzzRead reads arbitrary bytes as a capture and meters them. It checks
// that nothing panics, that the flow table stays bounded, and that the
// records account for every metered packet.
func FuzzRead(f *testing.F) {
	for _, file := range trafficFiles(f, true) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > maxSeedSize {
			b = b[:maxSeedSize] // a truncated capture is a fine seed too
		}
		f.Add(b)
	}
	pkts := testPackets()
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, pcaptest.LinkLinuxSLL2, true, pkts); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	buf.Reset()
	var ngp []pcaptest.NGPacket
	for i, p := range pkts {
		ngp = append(ngp, pcaptest.NGPacket{Iface: i % 2, Packet: p})
	}
	if err := pcaptest.WritePcapNG(&buf, []uint32{pcaptest.LinkEthernet, pcaptest.LinkNull}, ngp); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxFlows = 8
		m, r := newTestMeter(t, Config{ActiveTimeout: 60e9, IdleTimeout: 15e9, MaxFlows: maxFlows}, 4)
		err := m.Read(context.Background(), "fuzz", bytes.NewReader(data), nil)
		var fe *FileError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("Read() error = %v (%T), want nil or *FileError", err, err)
		}
		if len(m.entries) > maxFlows || m.Flows() != 0 {
			t.Fatalf("%d entries, %d flows left after Read", len(m.entries), m.Flows())
		}
		st := m.Stats()
		var pk, by uint64
		for _, rc := range r.records {
			pk += rc.Packets
			by += rc.Bytes
			if rc.Start > rc.End || rc.Format != flow.FormatPcap {
				t.Fatalf("implausible record %+v", rc)
			}
		}
		if pk != st.Metered || by != st.Bytes || st.Metered+st.ErrorCount() != st.Packets {
			t.Fatalf("records %d packets %d bytes; stats %+v", pk, by, st)
		}
	})
}
