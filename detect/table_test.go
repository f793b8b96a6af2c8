package detect

import (
	"testing"
)

type tv struct {
	last int64
	n    int
}

func TestTablePutGetDelete(t *testing.T) {
	tb := NewTable[uint32, tv](4, func(a, b *tv) bool { return a.last < b.last })
	for i := range uint32(4) {
		v, created := tb.Put(i)
		if !created {
			t.Fatalf("Put(%d): not created", i)
		}
		v.last = int64(10 + i)
	}
	if v, created := tb.Put(2); created || v.last != 12 {
		t.Fatalf("Put(2) again: created %v last %d, want existing 12", created, v.last)
	}
	if tb.Get(9) != nil {
		t.Fatal("Get(9) of a missing key is not nil")
	}
	// Full: inserting evicts the least recently seen (key 0: the table is
	// smaller than the sample, so the choice is exact).
	var evicted []uint32
	tb.SetOnEvict(func(k uint32, v *tv) { evicted = append(evicted, k) })
	v, _ := tb.Put(100)
	if len(evicted) != 1 || evicted[0] != 0 {
		t.Errorf("evicted %v, want [0]", evicted)
	}
	v.last = 1000
	if tb.Get(0) != nil {
		t.Error("key 0 (oldest) survived the eviction")
	}
	st := tb.Stats()
	if st.Keys != 4 || st.Evictions != 1 || st.MaxKeys != 4 || st.PeakKeys != 4 || st.StateBytes <= 0 {
		t.Errorf("stats %+v", st)
	}
	tb.Delete(1)
	if tb.Len() != 3 || tb.Get(1) != nil {
		t.Errorf("after Delete(1): len %d", tb.Len())
	}
	// The freed slot is reused and zeroed.
	v, created := tb.Put(7)
	if !created || v.last != 0 {
		t.Errorf("reused slot: created %v value %+v, want a zero value", created, *v)
	}
	n := 0
	tb.Range(func(k uint32, v *tv) bool {
		if k == 7 {
			tb.Delete(k)
		}
		n++
		return true
	})
	if n != 4 || tb.Len() != 3 {
		t.Errorf("Range saw %d keys, len after %d", n, tb.Len())
	}
	tb.Reset()
	if tb.Len() != 0 || tb.Get(100) != nil {
		t.Error("Reset left keys")
	}
}

func TestTableExtraBytes(t *testing.T) {
	type sv struct{ b []byte }
	tb := NewTable[uint64, sv](10, nil)
	v, _ := tb.Put(1)
	v.b = make([]byte, 100)
	base := tb.Stats().StateBytes
	tb.SetExtra(func(v *sv) int { return cap(v.b) })
	if got := tb.Stats().StateBytes; got != base+100 {
		t.Errorf("StateBytes with extra %d, want %d", got, base+100)
	}
}

func TestTableBoundHolds(t *testing.T) {
	tb := NewTable[uint64, tv](1000, func(a, b *tv) bool { return a.last < b.last })
	for i := range uint64(100_000) {
		v, _ := tb.Put(i)
		v.last = int64(i)
	}
	st := tb.Stats()
	if st.Keys != 1000 || st.Evictions != 99_000 {
		t.Fatalf("keys %d evictions %d", st.Keys, st.Evictions)
	}
	// Sampled eviction favours old keys: the newest key always survives.
	if tb.Get(99_999) == nil {
		t.Error("the newest key was evicted")
	}
}

func TestWindowStart(t *testing.T) {
	for _, c := range []struct{ t, w, want int64 }{
		{0, 60, 0}, {59, 60, 0}, {60, 60, 60}, {-1, 60, -60}, {-60, 60, -60}, {-61, 60, -120},
	} {
		if got := WindowStart(c.t, c.w); got != c.want {
			t.Errorf("WindowStart(%d, %d) = %d, want %d", c.t, c.w, got, c.want)
		}
	}
}

func BenchmarkTablePutHit(b *testing.B) {
	tb := NewTable[[16]byte, tv](1<<16, func(a, b *tv) bool { return a.last < b.last })
	keys := make([][16]byte, 1<<12)
	for i := range keys {
		keys[i][0], keys[i][1] = byte(i), byte(i>>8)
		tb.Put(keys[i])
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, _ := tb.Put(keys[i&(len(keys)-1)])
		v.n++
	}
}
