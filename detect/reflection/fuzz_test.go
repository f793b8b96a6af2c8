package reflection

import (
	"encoding/binary"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// FuzzObserve feeds arbitrary records (and watermarks) to a small
// detector: it must never panic, and its bounds must hold.
func FuzzObserve(f *testing.F) {
	f.Add([]byte("\x00\x35\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x05\x00\x00\x11"))
	seed := make([]byte, 64*24)
	for i := range 64 {
		b := seed[i*24:]
		binary.LittleEndian.PutUint16(b, 53)
		binary.LittleEndian.PutUint16(b[2:], uint16(i))
		binary.LittleEndian.PutUint32(b[4:], uint32(i*100))
		binary.LittleEndian.PutUint32(b[8:], 14000)
		b[12], b[13], b[16] = 10, byte(i), 17
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := DefaultConfig()
		cfg.MaxKeys, cfg.MaxReflectors, cfg.MinReflectors, cfg.MinBps = 4, 8, 2, 1
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var recs []flow.Record
		for len(data) >= 24 {
			b := data[:24]
			data = data[24:]
			r := flow.Record{
				SrcPort: binary.LittleEndian.Uint16(b), DstPort: binary.LittleEndian.Uint16(b[2:]),
				Start: int64(int32(binary.LittleEndian.Uint32(b[4:]))), Bytes: uint64(binary.LittleEndian.Uint32(b[8:])),
				Packets: uint64(b[12]), Proto: b[16], Pseudo: flow.Pseudo(b[17]), KeyEpoch: uint32(b[18]),
				SamplingRate: uint32(b[19]) << (b[20] % 32),
			}
			r.End = r.Start + int64(int8(b[21]))*1000
			r.SrcAddr[15], r.DstAddr[15] = b[13], b[14]%4
			r.SrcAddr[0] = b[15]
			recs = append(recs, r)
		}
		emit := func(f detect.Finding) {
			if s := f.Evidence.Score; s < 0 || s > 1 || s != s {
				t.Fatalf("score %v", s)
			}
		}
		for i := 0; i < len(recs); i += 7 {
			batch := recs[i:min(i+7, len(recs))]
			wm := batch[0].End - 60_000
			d.Observe(batch, wm, emit)
			d.Advance(wm, emit)
		}
		if st := d.Stats(); st.Keys > st.MaxKeys {
			t.Fatalf("stats %+v", st)
		}
		d.Flush(emit)
	})
}
