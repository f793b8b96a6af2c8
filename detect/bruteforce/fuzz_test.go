package bruteforce

import (
	"encoding/binary"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// FuzzObserve feeds random records: the detector must never panic, and
// its findings must stay well formed.
func FuzzObserve(f *testing.F) {
	f.Add([]byte("\x00\x16\x06\x1b\x0f\x00\x00\x00"), int64(0))
	f.Add(make([]byte, 64), int64(-1))
	f.Fuzz(func(t *testing.T, data []byte, wm int64) {
		cfg := DefaultConfig()
		cfg.MaxKeys = 4
		cfg.FastAttempts = 2
		cfg.SlowAttempts = 3
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		check := func(fd detect.Finding) {
			if s := fd.Evidence.Score; !(s >= 0 && s <= 1) || len(fd.Evidence.Samples) > maxSamples || len(fd.Evidence.Peers) > 10 {
				t.Fatalf("bad finding %+v", fd)
			}
		}
		var recs []flow.Record
		for len(data) >= 24 {
			u := binary.LittleEndian.Uint64
			r := flow.Record{
				Start: int64(u(data[0:])), End: int64(u(data[0:])) + int64(int16(u(data[8:]))),
				Packets: uint64(data[10]), Bytes: uint64(data[11]) << 6, SamplingRate: uint32(data[12]),
				SrcPort: []uint16{22, 3389, 993, 40000, 0, 5900}[data[13]%6], DstPort: []uint16{22, 3389, 993, 40000, 0, 5900}[data[14]%6],
				Proto: []uint8{6, 17, 1, 6}[data[15]%4], TCPFlags: data[16], Pseudo: flow.Pseudo(data[17] & 3), KeyEpoch: uint32(data[18]),
				Class: flow.Class(data[19]),
			}
			r.SrcAddr[15], r.DstAddr[15] = data[20]&3, data[21]&3
			recs = append(recs, r)
			data = data[24:]
		}
		d.Observe(recs, wm, check)
		d.Advance(wm, check)
		d.Observe(recs, wm, check)
		for _, r := range recs {
			d.Advance(r.End, check)
		}
		_ = d.Stats()
		d.Flush(check)
	})
}
