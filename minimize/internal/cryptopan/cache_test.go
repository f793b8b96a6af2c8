package cryptopan

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

// randAddrs returns n distinct random addresses, every third one IPv6,
// plus 0.0.0.0 and the zero Addr.
func randAddrs(r *rand.Rand, n int) []flow.Addr {
	seen := map[flow.Addr]bool{}
	out := []flow.Addr{flow.AddrFrom4([4]byte{}), {}}
	for len(out) < n+2 {
		var a flow.Addr
		if len(out)%3 == 0 {
			a = flow.Addr(randBytes(r, 16))
		} else {
			a = flow.AddrFrom4([4]byte(randBytes(r, 4)))
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

func TestCacheMatchesCipher(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	c := mustNew(t, randKey(r))
	tests := []struct {
		name    string
		entries int
		addrs   int
	}{
		{"tiny-thrashing", 16, 500}, // far more addresses than slots
		{"small", 64, 100},
		{"roomy", 4096, 300}, // fits: few evictions
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := NewCache(c, tt.entries)
			addrs := randAddrs(r, tt.addrs)
			want := make(map[flow.Addr]flow.Addr, len(addrs))
			for _, a := range addrs {
				want[a] = c.AnonymizeAddr(a)
			}
			// Repeats (hits), collisions and evictions in random order.
			for range 20 * len(addrs) {
				a := addrs[r.IntN(len(addrs))]
				if r.IntN(4) == 0 {
					a = addrs[r.IntN(min(8, len(addrs)))] // a hot set
				}
				if got := k.Anonymize(a); got != want[a] {
					t.Fatalf("Cache.Anonymize(%s) = %s, want %s", a, got, want[a])
				}
			}
			hits, misses := k.Stats()
			if hits == 0 || misses < uint64(len(addrs)-2) {
				t.Errorf("Stats() = %d hits, %d misses: want both, misses >= %d", hits, misses, len(addrs)-2)
			}
		})
	}
}

func TestCacheEvicts(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	c := mustNew(t, randKey(r))
	k := NewCache(c, 16) // 8 IPv4 sets, 8 IPv6 sets of 2
	addrs := randAddrs(r, 1000)
	for _, a := range addrs {
		k.Anonymize(a)
	}
	_, before := k.Stats()
	for _, a := range addrs {
		if got, want := k.Anonymize(a), c.AnonymizeAddr(a); got != want {
			t.Fatalf("Cache.Anonymize(%s) = %s, want %s", a, got, want)
		}
	}
	// At most 16+16 of the 1000 can still be cached.
	if _, after := k.Stats(); after-before < uint64(len(addrs)-2-32) {
		t.Errorf("second pass: %d misses, want >= %d (bounded size)", after-before, len(addrs)-2-32)
	}
}

func TestCacheReset(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	c1, c2 := mustNew(t, randKey(r)), mustNew(t, randKey(r))
	k := NewCache(c1, 256)
	addrs := randAddrs(r, 50)
	for _, a := range addrs {
		k.Anonymize(a)
	}
	k.Reset(c2)
	for _, a := range addrs {
		if got, want := k.Anonymize(a), c2.AnonymizeAddr(a); got != want {
			t.Errorf("after Reset, Anonymize(%s) = %s, want %s (new key)", a, got, want)
		}
	}
}

func TestNewCacheSizes(t *testing.T) {
	c := mustNew(t, [32]byte{7})
	tests := []struct {
		entries      int
		want4, want6 int // slots
	}{
		{-1, 16, 16},
		{0, 16, 16},
		{16, 16, 16},
		{17, 32, 16},
		{1000, 1024, 256},
		{1 << 16, 1 << 16, 1 << 14},
		{1 << 30, 1 << 24, 1 << 22},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.entries), func(t *testing.T) {
			k := NewCache(c, tt.entries)
			got := []int{2 * len(k.v4), 2 * len(k.v6)}
			if diff := cmp.Diff(got, []int{tt.want4, tt.want6}); diff != "" {
				t.Errorf("slots (v4, v6) (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestCacheAllocs(t *testing.T) {
	c := mustNew(t, [32]byte{8})
	k := NewCache(c, 64)
	r := rand.New(rand.NewPCG(17, 18))
	addrs := randAddrs(r, 200)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		k.Anonymize(addrs[i%len(addrs)])
		i++
	})
	if allocs != 0 {
		t.Errorf("Cache.Anonymize: %v allocs per call, want 0", allocs)
	}
}
