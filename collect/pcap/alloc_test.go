package pcap

import (
	"bytes"
	"testing"
	"time"

	"github.com/acd-org/acd/collect/packet"
	"github.com/acd-org/acd/collect/pcap/pcaptest"
	"github.com/acd-org/acd/flow"
)

// TestMeterSteadyStateAllocs checks that metering a packet allocates
// nothing once the table and the batch pool are warm.
func TestMeterSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	hs := benchHeaders(1 << 14)
	m, err := NewMeter(DefaultConfig(), flow.NewBatchPool(0), &discard{})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	i := 0
	step := func() {
		m.Add(ts, &hs[i&(len(hs)-1)])
		ts += int64(benchGap)
		i++
	}
	for range 4 * len(hs) {
		step()
	}
	if a := testing.AllocsPerRun(len(hs), step); a != 0 {
		t.Errorf("Add allocates %v times per packet in steady state, want 0", a)
	}
}

// TestReadSteadyStateAllocs checks that reading, parsing and metering a
// packet from a capture allocates nothing once warm.
func TestReadSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	var pkts []pcaptest.Packet
	for range 300 {
		pkts = append(pkts, testPackets()...)
	}
	for i := range pkts {
		pkts[i].Time = pkts[i].Time.Add(time.Duration(i) * time.Millisecond)
	}
	var ngp []pcaptest.NGPacket
	for i, p := range pkts {
		ngp = append(ngp, pcaptest.NGPacket{Iface: i % 2, Packet: p})
	}
	var ng bytes.Buffer
	if err := pcaptest.WritePcapNG(&ng, []uint32{pcaptest.LinkEthernet, pcaptest.LinkRaw}, ngp); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file []byte
	}{
		{"pcap", pcapBytes(t, pcaptest.LinkEthernet, false, pkts)},
		{"pcapng", ng.Bytes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader(bytes.NewReader(tt.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewMeter(DefaultConfig(), flow.NewBatchPool(0), &discard{})
			if err != nil {
				t.Fatal(err)
			}
			var h packet.Header
			step := func() {
				p, err := rd.Next()
				if err != nil {
					t.Fatalf("Next() error = %v", err)
				}
				if err := packet.ParseLink(p.Link, p.Data, &h); err != nil {
					t.Fatalf("ParseLink() error = %v", err)
				}
				m.Add(p.Time, &h)
			}
			for range len(pkts) / 2 {
				step()
			}
			if a := testing.AllocsPerRun(len(pkts)/3, step); a != 0 {
				t.Errorf("%v allocations per packet in steady state, want 0", a)
			}
		})
	}
}
