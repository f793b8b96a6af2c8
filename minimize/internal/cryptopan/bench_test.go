package cryptopan

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/acd-org/acd/flow"
)

func BenchmarkNew(b *testing.B) {
	key := [32]byte{1, 2, 3}
	for b.Loop() {
		if _, err := New(key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnonymize4(b *testing.B) {
	c := mustNew(b, [32]byte{1, 2, 3})
	a := [4]byte{192, 0, 2, 1}
	for b.Loop() {
		a = c.Anonymize4(a)
	}
}

func BenchmarkDeanonymize4(b *testing.B) {
	c := mustNew(b, [32]byte{1, 2, 3})
	a := [4]byte{192, 0, 2, 1}
	for b.Loop() {
		a = c.Deanonymize4(a)
	}
}

func BenchmarkAnonymize16(b *testing.B) {
	c := mustNew(b, [32]byte{1, 2, 3})
	a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	for b.Loop() {
		a = c.Anonymize16(a)
	}
}

// BenchmarkCache looks up a Zipf-distributed stream (s=1.1) over 100k
// distinct addresses (90% IPv4, 10% IPv6) in a warm per-worker cache.
// hit% is the hit rate during the timed loop; ns/op is per address.
func BenchmarkCache(b *testing.B) {
	r := rand.New(rand.NewPCG(21, 22))
	c := mustNew(b, randKey(r))
	const distinct = 100_000
	pool := make([]flow.Addr, distinct)
	for i := range pool {
		if i%10 == 9 {
			pool[i] = flow.Addr(randBytes(r, 16))
		} else {
			pool[i] = flow.AddrFrom4([4]byte(randBytes(r, 4)))
		}
	}
	z := rand.NewZipf(r, 1.1, 1, distinct-1)
	stream := make([]flow.Addr, 1<<20)
	for i := range stream {
		stream[i] = pool[z.Uint64()]
	}
	for _, entries := range []int{1 << 14, 1 << 16} {
		b.Run(fmt.Sprintf("entries=%d", entries), func(b *testing.B) {
			k := NewCache(c, entries)
			for _, a := range stream { // warm up
				k.Anonymize(a)
			}
			h0, m0 := k.Stats()
			var sink flow.Addr
			i := 0
			for b.Loop() {
				sink = k.Anonymize(stream[i&(len(stream)-1)])
				i++
			}
			_ = sink
			h, m := k.Stats()
			b.ReportMetric(100*float64(h-h0)/float64(h-h0+m-m0), "hit%")
		})
	}
}

// BenchmarkCacheHit is the hit path alone: a few hot addresses.
func BenchmarkCacheHit(b *testing.B) {
	c := mustNew(b, [32]byte{1, 2, 3})
	k := NewCache(c, 1<<16)
	addrs := []flow.Addr{
		flow.AddrFrom4([4]byte{192, 0, 2, 1}), flow.AddrFrom4([4]byte{198, 51, 100, 7}),
		flow.AddrFrom4([4]byte{203, 0, 113, 9}), flow.Addr{0x20, 0x01, 0x0d, 0xb8, 15: 1},
	}
	var sink flow.Addr
	i := 0
	for b.Loop() {
		sink = k.Anonymize(addrs[i&3])
		i++
	}
	_ = sink
}
