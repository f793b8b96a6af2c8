package cryptopan

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"

	"github.com/acd-org/acd/flow"
)

// Cache size limits, in entries (see NewCache).
const (
	minCacheEntries = 16
	maxCacheEntries = 1 << 24
)

// Cache memoizes the pseudonyms of one Cipher: a bounded, 2-way
// set-associative table with LRU replacement within each set, a fixed size
// chosen at NewCache and no allocation per call. IPv4 and IPv6 addresses
// have separate tables (8-byte and 32-byte entries).
//
// A Cache is NOT safe for concurrent use: give each pipeline worker its
// own. Its contents map addresses to pseudonyms, so treat it like the key.
type Cache struct {
	c      *Cipher
	v4     []set4
	v6     []set6
	shift4 uint // set index of an IPv4 address: hash >> shift4
	shift6 uint
	k4     uint64 // hash multipliers, odd, random per Cache
	k6hi   uint64
	k6lo   uint64
	zero4  uint32 // pseudonym of 0.0.0.0, whose key marks empty IPv4 slots
	hits   uint64
	misses uint64
	s      scratch
}

// set4 is a set of the IPv4 table: slot 0 is the most recently used. A
// zero key is an empty slot (0.0.0.0 is answered from Cache.zero4).
type set4 [2]struct{ key, val uint32 }

// set6 is a set of the IPv6 table; a zero key (::) is an empty slot.
type set6 [2]struct{ khi, klo, vhi, vlo uint64 }

// NewCache returns a Cache in front of c with room for about entries IPv4
// pseudonyms and entries/4 IPv6 pseudonyms. entries is rounded up to a power
// of two and clamped to [16, 1<<24]; memory is about 8 bytes per IPv4 entry
// and 32 per IPv6 entry (1<<16 entries: 512 KiB + 512 KiB).
func NewCache(c *Cipher, entries int) *Cache {
	n := min(max(entries, minCacheEntries), maxCacheEntries)
	sets4 := (1 << bits.Len(uint(n-1))) / 2 // 2 entries per set
	sets6 := max(sets4/4, minCacheEntries/2)
	var seed [24]byte
	_, _ = rand.Read(seed[:]) // never fails (crypto/rand aborts the process instead)
	k := &Cache{
		v4:     make([]set4, sets4),
		v6:     make([]set6, sets6),
		shift4: uint(64 - bits.TrailingZeros(uint(sets4))),
		shift6: uint(64 - bits.TrailingZeros(uint(sets6))),
		k4:     binary.LittleEndian.Uint64(seed[0:]) | 1,
		k6hi:   binary.LittleEndian.Uint64(seed[8:]) | 1,
		k6lo:   binary.LittleEndian.Uint64(seed[16:]) | 1,
	}
	k.Reset(c)
	return k
}

// String returns a fixed text so that printing a Cache never shows its
// address-to-pseudonym pairs.
func (k *Cache) String() string { return "cryptopan.Cache{redacted}" }

// GoString is like String, for %#v.
func (k *Cache) GoString() string { return k.String() }

// Reset empties the cache and puts it in front of c, e.g. at a key epoch
// change: no pseudonym of the previous Cipher is returned afterwards. The
// hit and miss counts are kept.
func (k *Cache) Reset(c *Cipher) {
	k.c = c
	k.s.fill(c.pad)
	clear(k.v4)
	clear(k.v6)
	k.zero4 = c.anonymize4(0, &k.s)
}

// Stats returns the number of lookups answered from the cache (hits) and
// computed with the Cipher (misses) since NewCache.
func (k *Cache) Stats() (hits, misses uint64) { return k.hits, k.misses }

// Anonymize returns the pseudonym of a under the Cache's Cipher, the same
// as Cipher.AnonymizeAddr: IPv4(-mapped) addresses as 32 bits, kept
// IPv4-mapped; other addresses as 128 bits; the zero Addr stays zero.
func (k *Cache) Anonymize(a flow.Addr) (p flow.Addr) {
	// Whole words rather than flow.Addr.Is4 and flow.AddrFrom4, whose byte
	// loads and stores cost more than the lookup itself.
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	switch {
	case hi == 0 && lo>>32 == 0xffff: // IPv4-mapped
		binary.BigEndian.PutUint64(p[8:], 0xffff<<32|uint64(k.anonymize4(uint32(lo))))
	case hi|lo != 0:
		hi, lo = k.anonymize16(hi, lo)
		binary.BigEndian.PutUint64(p[:8], hi)
		binary.BigEndian.PutUint64(p[8:], lo)
	}
	return p
}

// anonymize4 looks a up in the IPv4 table, computing it on a miss.
func (k *Cache) anonymize4(a uint32) uint32 {
	if a == 0 {
		k.hits++
		return k.zero4
	}
	set := &k.v4[(uint64(a)*k.k4)>>k.shift4]
	if set[0].key == a {
		k.hits++
		return set[0].val
	}
	if set[1].key == a {
		k.hits++
		set[0], set[1] = set[1], set[0]
		return set[0].val
	}
	k.misses++
	v := k.c.anonymize4(a, &k.s)
	set[1] = set[0]
	set[0].key, set[0].val = a, v
	return v
}

// anonymize16 looks hi‖lo (not zero) up in the IPv6 table, computing it on
// a miss.
func (k *Cache) anonymize16(hi, lo uint64) (uint64, uint64) {
	set := &k.v6[(hi*k.k6hi+lo*k.k6lo)>>k.shift6]
	if set[0].khi == hi && set[0].klo == lo {
		k.hits++
		return set[0].vhi, set[0].vlo
	}
	if set[1].khi == hi && set[1].klo == lo {
		k.hits++
		set[0], set[1] = set[1], set[0]
		return set[0].vhi, set[0].vlo
	}
	k.misses++
	vhi, vlo := k.c.anonymize16(hi, lo, &k.s)
	set[1] = set[0]
	set[0].khi, set[0].klo, set[0].vhi, set[0].vlo = hi, lo, vhi, vlo
	return vhi, vlo
}
