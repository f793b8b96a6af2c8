package beacon

import (
	"testing"
)

// TestSizeCodec: sizes below 2048 are exact, larger ones within 0.05 %,
// never above the true value.
func TestSizeCodec(t *testing.T) {
	for _, x := range []uint32{0, 1, 800, 2047, 2048, 4095, 4096, 8000, 123_456, 1 << 31, 1<<32 - 1} {
		got := decSize(encSize(x))
		if x < 2048 && got != x || got > x || float64(x-got) > float64(x)*0.0005 {
			t.Errorf("size %d decodes as %d", x, got)
		}
	}
}

// TestSlots: a set keeps ways pairs; a new one replaces a pair idle
// beyond the time to live (no eviction counted), else the one with the
// fewest connections, else the one seen longest ago; pairs with a series
// are never replaced, and growth keeps every slot.
func TestSlots(t *testing.T) {
	const ttl = 1000
	if slotBytes != 32 {
		t.Fatalf("a slot takes %d bytes, want 32 (two per cache line)", slotBytes)
	}
	tab := newSlots(1 << 14) // starts at initialSlots
	sets := tab.mask + 1
	h := func(i uint64) uint64 { return 5 + i*sets } // all in set 5
	ser := []series{{inUse: true, h: h(10)}, {inUse: true, h: h(11)}, {inUse: true, h: h(12)}, {inUse: true, h: h(13)}}
	put := func(i uint64, at int64, n uint8) *slot {
		s := tab.put(h(i), at, ttl, ser)
		if s != nil {
			s.n, s.last = n, uint32(at)
		}
		return s
	}
	promote := func(i uint64, at int32) {
		p := tab.find(h(i))
		p.flags |= slotPromoted
		p.d[0] = uint32(at)
	}
	for i := range uint64(ways) {
		put(i, 100+int64(i), 2)
	}
	if tab.used != ways || tab.evictions != 0 {
		t.Fatalf("%d used, %d evictions: want %d, 0", tab.used, tab.evictions, ways)
	}
	tab.find(h(2)).n = 1
	put(20, 300, 1) // replaces 2: fewest connections
	if tab.find(h(2)) != nil || tab.find(h(20)) == nil || tab.evictions != 1 {
		t.Fatalf("pair with fewest connections not replaced (evictions %d)", tab.evictions)
	}
	put(21, 400, 1) // replaces 20 (1 connection) rather than 0 (older, 2)
	if tab.find(h(20)) != nil || tab.find(h(0)) == nil {
		t.Fatal("one-off pair not replaced first")
	}
	put(22, 1300, 1) // all idle beyond ttl but 21: replaces 0 (oldest), no eviction
	if tab.find(h(0)) != nil || tab.find(h(22)) == nil || tab.evictions != 2 {
		t.Fatalf("idle pair: evictions %d, want 2", tab.evictions)
	}
	// Pin every way: a new pair is not kept.
	for i, k := range []uint64{1, 3, 21, 22} {
		tab.find(h(k)).h = h(uint64(10 + i)) // take the hash of series i
		promote(uint64(10+i), int32(i))
	}
	if put(30, 6000, 1) != nil || tab.crowded != 1 {
		t.Fatal("a pair with a series was replaced")
	}
	// Fill to growth: every pair stays findable.
	for i := uint64(0); i < 6000; i++ {
		if s := tab.put(i*0x9e3779b97f4a7c15+1, 7000, ttl, ser); s != nil {
			s.n, s.last = 1, 7000
		}
	}
	if len(tab.a) <= initialSlots {
		t.Errorf("array of %d slots did not grow", len(tab.a))
	}
	for i := range uint64(ways) {
		if tab.find(h(10+i)) == nil {
			t.Errorf("promoted pair %d lost in growth", i)
		}
	}
	if len(tab.a) > tab.max || tab.used > len(tab.a) {
		t.Errorf("%d slots, %d used, max %d", len(tab.a), tab.used, tab.max)
	}
	tab.sweep(len(tab.a), 100_000, ser) // everything idle: only promoted pairs stay
	if tab.used != ways {
		t.Errorf("%d slots used after the sweep, want %d", tab.used, ways)
	}
	// A pair whose series was dropped is no longer pinned.
	ser[0].inUse = false
	if tab.find(h(10)).series(ser) != nil {
		t.Error("stale series still found")
	}
	tab.sweep(len(tab.a), 100_000, ser)
	if tab.used != ways-1 || tab.find(h(10)) != nil {
		t.Errorf("stale promoted slot not swept (%d used)", tab.used)
	}
}
