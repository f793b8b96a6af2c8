package detect

import "unsafe"

// Table is a bounded map from keys to detector state, built for the hot
// path: values live in one slab (no allocation per key once the slab has
// grown), and when the table is full, inserting a key evicts another one,
// chosen as the first in eviction order among a few sampled keys (the way
// Redis approximates LRU). Evictions are counted.
//
// Pointers returned by Get and Put stay valid until the next Put or
// Delete. A Table is not safe for concurrent use.
type Table[K comparable, V any] struct {
	idx       map[K]int32
	keys      []K
	vals      []V
	free      []int32
	max       int
	peak      int
	evictions uint64
	before    func(a, b *V) bool
	extra     func(v *V) int // bytes a value holds outside the slab
	onEvict   func(k K, v *V)
}

// evictSample is how many keys are compared to choose one to evict.
const evictSample = 8

// NewTable returns a table holding at most max keys. before(a, b) reports
// whether a should be evicted before b (for instance: a was last seen
// earlier); nil evicts any sampled key.
func NewTable[K comparable, V any](max int, before func(a, b *V) bool) *Table[K, V] {
	if max < 1 {
		max = 1
	}
	return &Table[K, V]{idx: make(map[K]int32), max: max, before: before}
}

// SetExtra gives a function that returns the bytes a value holds outside
// the table (slices it owns), for StateBytes.
func (t *Table[K, V]) SetExtra(f func(v *V) int) { t.extra = f }

// SetOnEvict gives a function called with each key evicted to make room
// (not for Delete or Reset), before its value is cleared: a detector can
// report a key's last findings or drop what refers to it.
func (t *Table[K, V]) SetOnEvict(f func(k K, v *V)) { t.onEvict = f }

// Get returns the value of k, or nil.
func (t *Table[K, V]) Get(k K) *V {
	i, ok := t.idx[k]
	if !ok {
		return nil
	}
	return &t.vals[i]
}

// Put returns the value of k, inserting a zero value (and evicting
// another key when the table is full) if k is absent; created says which.
func (t *Table[K, V]) Put(k K) (v *V, created bool) {
	if i, ok := t.idx[k]; ok {
		return &t.vals[i], false
	}
	if len(t.idx) >= t.max {
		t.evict()
	}
	var i int32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
		t.keys[i] = k
	} else {
		i = int32(len(t.vals))
		t.keys = append(t.keys, k)
		var zero V
		t.vals = append(t.vals, zero)
	}
	t.idx[k] = i
	if n := len(t.idx); n > t.peak {
		t.peak = n
	}
	return &t.vals[i], true
}

func (t *Table[K, V]) evict() {
	victim, n := int32(-1), 0
	for _, i := range t.idx {
		if victim < 0 || (t.before != nil && t.before(&t.vals[i], &t.vals[victim])) {
			victim = i
		}
		if n++; n == evictSample {
			break
		}
	}
	if victim >= 0 {
		if t.onEvict != nil {
			t.onEvict(t.keys[victim], &t.vals[victim])
		}
		t.remove(victim)
		t.evictions++
	}
}

// Delete removes k.
func (t *Table[K, V]) Delete(k K) {
	if i, ok := t.idx[k]; ok {
		t.remove(i)
	}
}

func (t *Table[K, V]) remove(i int32) {
	delete(t.idx, t.keys[i])
	var zk K
	var zv V
	t.keys[i], t.vals[i] = zk, zv
	t.free = append(t.free, i)
}

// Len returns the number of keys.
func (t *Table[K, V]) Len() int { return len(t.idx) }

// Range calls f for every key until f returns false. f may Delete the key
// it was given, and no other; it must not Put.
func (t *Table[K, V]) Range(f func(k K, v *V) bool) {
	for k, i := range t.idx {
		if !f(k, &t.vals[i]) {
			return
		}
	}
}

// Reset removes every key (the slab is kept for reuse).
func (t *Table[K, V]) Reset() {
	clear(t.idx)
	clear(t.keys)
	clear(t.vals)
	t.keys, t.vals, t.free = t.keys[:0], t.vals[:0], t.free[:0]
}

// Stats returns the table's part of a detector's Stats (Late is left to
// the detector).
func (t *Table[K, V]) Stats() Stats {
	var k K
	var v V
	// A map entry costs the key, the int32 index and about a byte of
	// control word, at a load factor of 7/8; the slab costs key and value.
	per := int64(unsafe.Sizeof(k))*2 + int64(unsafe.Sizeof(v)) + 6
	bytes := per * int64(len(t.idx))
	if t.extra != nil {
		for _, i := range t.idx {
			bytes += int64(t.extra(&t.vals[i]))
		}
	}
	return Stats{Keys: len(t.idx), MaxKeys: t.max, PeakKeys: t.peak, StateBytes: bytes, Evictions: t.evictions}
}
