package ddos

import (
	"encoding/binary"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// FuzzObserve: random records (times, protocols, flags, counters,
// sampling) never panic, and the bounds hold.
func FuzzObserve(f *testing.F) {
	f.Add([]byte("\x06\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add(make([]byte, 320))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := New(func() Config { c := DefaultConfig(); c.MaxKeys, c.MaxSources, c.MaxAttacks = 8, 8, 2; return c }())
		if err != nil {
			t.Fatal(err)
		}
		emit := func(f detect.Finding) {
			if f.Evidence.Score < 0 || f.Evidence.Score > 1 {
				t.Fatalf("score %v", f.Evidence.Score)
			}
		}
		var recs []flow.Record
		for len(data) >= 32 {
			b := data[:32]
			data = data[32:]
			r := flow.Record{
				Proto: b[0], TCPFlags: b[1], SrcPort: binary.LittleEndian.Uint16(b[2:]), DstPort: binary.LittleEndian.Uint16(b[4:]),
				Start:   int64(int32(binary.LittleEndian.Uint32(b[6:]))) * 1000,
				Packets: uint64(binary.LittleEndian.Uint16(b[10:])) << (b[12] % 40), Bytes: uint64(binary.LittleEndian.Uint32(b[13:])) << (b[17] % 30),
				SamplingRate: uint32(b[18]) << (b[19] % 24), Pseudo: flow.Pseudo(b[20] & 3), KeyEpoch: uint32(b[21]),
			}
			r.End = r.Start + int64(b[22])*int64(b[23])*100
			r.SrcAddr[15], r.SrcAddr[14] = b[24], b[25]
			r.DstAddr[15], r.DstAddr[0] = b[26], b[27]&1
			recs = append(recs, r)
			if b[28]&7 == 0 {
				d.Observe(recs, r.End-60_000, emit)
				d.Advance(r.End-int64(b[29])*1000, emit)
				recs = recs[:0]
			}
		}
		d.Observe(recs, 0, emit)
		if st := d.Stats(); st.Keys > 18 {
			t.Fatalf("stats %+v", st)
		}
		d.Flush(emit)
	})
}
