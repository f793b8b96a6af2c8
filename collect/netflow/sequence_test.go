package netflow

import (
	"testing"
	"time"
)

func TestSeqState(t *testing.T) {
	type pkt struct{ seq, n uint32 }
	for _, tc := range []struct {
		name     string
		pkts     []pkt
		wantLost int // counted once every gap is flushed
	}{
		{"late datagram in the middle of a gap splits it", []pkt{{0, 10}, {40, 10}, {20, 10}, {50, 10}}, 20},
		{"late datagrams fill a gap from both ends", []pkt{{0, 10}, {40, 10}, {10, 10}, {30, 10}, {50, 10}}, 10},
		{"late datagram overlapping the gap's end", []pkt{{0, 10}, {20, 10}, {15, 10}, {30, 10}}, 5},
		{"gap slots full: oldest counted", []pkt{{0, 1}, {2, 1}, {4, 1}, {6, 1}, {8, 1}, {10, 1}, {12, 1}, {14, 1}, {16, 1}, {18, 1}, {1, 1}}, 9},
		{"splits with no slot left keep the larger side", []pkt{{0, 1}, {2, 1}, {4, 1}, {6, 1}, {8, 1}, {10, 1}, {12, 1}, {14, 1}, {30, 1}, {17, 1}}, 7 + 2 + 12},
		{"restart then follow-on", []pkt{{500, 10}, {510, 10}, {0, 10}, {10, 10}, {25, 10}}, 5},
		{"duplicate of an old datagram", []pkt{{0, 10}, {10, 10}, {0, 10}, {20, 10}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s seqState
			lost := 0
			for _, p := range tc.pkts {
				lost += s.update(p.seq, p.n, true, 1<<20, 0)
			}
			lost += s.flushAll()
			if lost != tc.wantLost {
				t.Errorf("lost = %d, want %d", lost, tc.wantLost)
			}
		})
	}
}

func TestSeqStateAging(t *testing.T) {
	var s seqState
	lost := s.update(0, 1, true, 1<<20, 0) + s.update(5, 1, true, 1<<20, 0)
	for i := range uint32(reorderPackets) {
		lost += s.update(6+i, 1, true, 1<<20, 0)
	}
	if lost != 0 {
		t.Fatalf("gap counted after %d datagrams", reorderPackets)
	}
	if lost = s.update(6+reorderPackets, 1, true, 1<<20, 0); lost != 4 {
		t.Errorf("lost = %d after the reorder window, want 4", lost)
	}
	s.update(1000, 1, true, 1<<20, int64(time.Second))
	if n := s.flushOlder(int64(time.Second)); n != 0 {
		t.Errorf("flushed a gap not yet old: %d", n)
	}
	if n := s.flushOlder(int64(2 * time.Second)); n != 1000-6-reorderPackets-1 {
		t.Errorf("flushOlder = %d", n)
	}
}

func TestUintBE(t *testing.T) {
	for n := 1; n <= 8; n++ {
		b := []byte{1, 2, 3, 4, 5, 6, 7, 8}[:n]
		var want uint64
		for _, c := range b {
			want = want<<8 | uint64(c)
		}
		if got := uintBE(b); got != want {
			t.Errorf("uintBE(%x) = %x, want %x", b, got, want)
		}
	}
}
