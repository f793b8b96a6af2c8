package nft

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/nftables"
)

// fuzzElements reads b as a kernel dump of an IPv4 interval set: 7
// bytes per element (flags, key, expires in seconds).
func fuzzElements(b []byte) []nftables.SetElement {
	var els []nftables.SetElement
	for ; len(b) >= 7; b = b[7:] {
		els = append(els, nftables.SetElement{IntervalEnd: b[0]&1 == 1, Key: append([]byte(nil), b[1:5]...),
			Expires: time.Duration(binary.BigEndian.Uint16(b[5:7])) * time.Second})
	}
	return els
}

// FuzzDecodeElements checks that any dump decodes without panicking
// into sorted disjoint ranges, and that re-encoding them reads back the
// same.
func FuzzDecodeElements(f *testing.F) {
	// The dump of nft's `add element … { 10.0.0.0/24, 10.0.1.0-10.0.1.5,
	// 10.0.2.7 }` on this kernel, in its order, with nft's anchor.
	f.Add([]byte{1, 10, 0, 2, 8, 0, 0, 0, 10, 0, 2, 7, 0, 60, 1, 10, 0, 1, 6, 0, 0, 0, 10, 0, 1, 0, 0, 120,
		1, 10, 0, 1, 0, 0, 0, 0, 10, 0, 0, 0, 0, 180, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 255, 255, 255, 0, 0, 1})
	f.Add([]byte{0, 10, 0, 0, 1, 0, 1, 0, 10, 0, 0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		segs, err := decodeElements(fuzzElements(b), 4, t0)
		if err != nil {
			return
		}
		for i, s := range segs {
			if !s.from.Is4() || s.from.Compare(s.to) > 0 {
				t.Fatalf("segment %d: %s-%s", i, s.from, s.to)
			}
			if i > 0 && segs[i-1].to.Compare(s.from) >= 0 {
				t.Fatalf("segments %d and %d overlap or are out of order: %v", i-1, i, segs)
			}
		}
		var els []nftables.SetElement
		for _, e := range encode(segs, t0) {
			e.Expires = e.Timeout
			els = append(els, e)
		}
		back, err := decodeElements(els, 4, t0)
		if err != nil {
			t.Fatalf("re-encoded %v: %v", segs, err)
		}
		if len(back) != len(segs) {
			t.Fatalf("re-encoded %v read back as %v", segs, back)
		}
		for i := range back {
			if back[i].from != segs[i].from || back[i].to != segs[i].to {
				t.Fatalf("re-encoded %v read back as %v", segs, back)
			}
		}
	})
}
