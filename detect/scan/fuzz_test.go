package scan

import (
	"encoding/binary"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// FuzzObserve feeds records made of random bytes, with random watermarks:
// nothing may panic, and Stats must stay consistent.
func FuzzObserve(f *testing.F) {
	f.Add([]byte{}, int64(0))
	seed := make([]byte, 64*8)
	for i := range seed {
		seed[i] = byte(i * 7)
	}
	f.Add(seed, base)
	f.Add(seed, int64(-1)<<62)
	f.Fuzz(func(t *testing.T, data []byte, wm int64) {
		d, err := New(func() Config { c := DefaultConfig(); c.MaxKeys = 4; return c }())
		if err != nil {
			t.Fatal(err)
		}
		emit := func(x detect.Finding) {
			if s := x.Evidence.Score; s < 0 || s > 1 || s != s {
				t.Fatalf("score %v", s)
			}
		}
		const size = 48
		var recs []flow.Record
		for len(data) >= size {
			b := data[:size]
			data = data[size:]
			r := flow.Record{
				Start: int64(binary.LittleEndian.Uint64(b[0:])), Packets: uint64(b[8]), Bytes: uint64(binary.LittleEndian.Uint16(b[9:])),
				SrcPort: binary.LittleEndian.Uint16(b[11:]), DstPort: binary.LittleEndian.Uint16(b[13:]),
				Proto: b[15], TCPFlags: b[16], SamplingRate: uint32(b[17]) << (b[18] % 24), KeyEpoch: uint32(b[19]),
				Pseudo: flow.Pseudo(b[20] % 4), Class: flow.Class(b[21] % 6),
			}
			r.End = r.Start + int64(int16(binary.LittleEndian.Uint16(b[22:])))
			if b[24]&1 == 0 { // keep times near each other sometimes
				r.Start, r.End = base+int64(b[25])*1000, base+int64(b[25])*1000+int64(b[26])
			}
			copy(r.SrcAddr[12:], b[27:31])
			copy(r.DstAddr[12:], b[31:35])
			if b[35]&1 == 0 {
				r.SrcAddr[10], r.SrcAddr[11], r.DstAddr[10], r.DstAddr[11] = 0xff, 0xff, 0xff, 0xff
			}
			recs = append(recs, r)
		}
		for i := 0; i < len(recs); i += 3 {
			d.Observe(recs[i:min(i+3, len(recs))], wm, emit)
			d.Advance(wm, emit)
			wm += 30_000
		}
		if st := d.Stats(); st.Keys > 4 || st.Keys < 0 {
			t.Fatalf("stats %+v", st)
		}
		d.Flush(emit)
		if st := d.Stats(); st.Keys != 0 {
			t.Fatalf("%d keys after Flush", st.Keys)
		}
	})
}
