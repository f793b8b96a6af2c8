package pcap

import (
	"testing"
	"time"

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
