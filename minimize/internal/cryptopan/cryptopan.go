// Package cryptopan implements Crypto-PAn, the prefix-preserving
// pseudonymization of IP addresses of Xu, Fan, Ammar and Moon
// ("Prefix-preserving IP address anonymization: measurement-based security
// evaluation and a new cryptography-based scheme", 2002), for IPv4 (32 bits)
// and IPv6 (128 bits).
//
// # Key layout
//
// A key is 32 bytes. key[0:16] is the AES-128 key K. key[16:32] is encrypted
// once with K to give the 128-bit secret pad P = AES_K(key[16:32]).
//
// # Scheme
//
// For an n-bit address a = a_0 a_1 … a_{n-1} (a_0 the most significant bit,
// n = 32 or 128), output bit i is
//
//	a_i XOR msb(AES_K(a_0 … a_{i-1} ‖ P_i … P_127))
//
// that is, the AES input block is the pad with its first i bits replaced by
// the first i bits of the address. An IPv4 address occupies the first 32
// bits of the block. Output bit i depends only on input bits 0…i, so two
// addresses that share exactly a k-bit prefix get pseudonyms that share
// exactly a k-bit prefix, and the mapping is a bijection that can be inverted
// bit by bit (Deanonymize).
//
// # Performance
//
// The flip bits of the first 16 positions depend only on the first 16 bits
// of the address and are the same for IPv4 and IPv6; New computes them for
// all 65536 prefixes (65535 AES blocks, a 128 KiB table), so an IPv4 address
// costs 16 AES blocks and an IPv6 address 112. Cache memoizes pseudonyms for
// the hot path.
//
// The package is internal: only package minimize, which owns the keys and
// the one re-identification door, may use it.
package cryptopan

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/acd-org/acd/flow"
)

// ErrZeroKey is returned by New for the all-zero key, which is never real
// key material (it is what a missing or unread key file looks like).
var ErrZeroKey = errors.New("cryptopan: key is all zeros")

// tableBits is the number of leading address bits whose flip bits New
// precomputes.
const tableBits = 16

// Cipher is a keyed Crypto-PAn pseudonymizer. It is immutable after New and
// safe for concurrent use.
type Cipher struct {
	block cipher.Block
	pad   [16]byte // P = AES_K(key[16:32])
	padHi uint64   // P bits 0…63
	padLo uint64   // P bits 64…127
	pad4  uint32   // P bits 0…31
	// flips[p] holds the flip bits of positions 0…15 of any address whose
	// first 16 bits are p; bit 15 is position 0. Flip bit i depends only
	// on the first i bits, so flips[p] bit 15-i is also right for any p
	// whose bits after i are zero (Deanonymize relies on that).
	flips *[1 << tableBits]uint16
	// pool holds *scratch buffers for the exported methods: handing stack
	// buffers to cipher.Block.Encrypt (an interface call) would make them
	// escape, i.e. allocate on every call.
	pool sync.Pool
}

// scratch holds the AES blocks of one computation. in and out serve the
// bit-by-bit loops (New, Deanonymize). in4 and in6 hold one input block per
// address bit from bit 16 on, for Anonymize: every block is written before
// the first is encrypted, so the CPU overlaps the encryptions (rewriting a
// single block between encryptions stalls each AES load on the previous
// narrow store and serializes them, twice as slow). fill puts the pad in
// the bytes that the address never overwrites.
type scratch struct {
	in, out [16]byte
	in4     [32 - tableBits][16]byte  // bits 16…31; bytes 4…15 stay pad
	in6     [128 - tableBits][16]byte // bits 16…127; bytes 8…15 of bits < 64 stay pad
	outs    [128 - tableBits][16]byte
}

// fill resets s for the Cipher whose pad is pad.
func (s *scratch) fill(pad [16]byte) {
	for i := range s.in4 {
		s.in4[i] = pad
	}
	for i := range s.in6 {
		s.in6[i] = pad
	}
}

// New returns the Cipher of key (see the package documentation for the
// layout). It costs 65536 AES blocks (about a millisecond with AES-NI).
func New(key [32]byte) (*Cipher, error) {
	if key == ([32]byte{}) {
		return nil, ErrZeroKey
	}
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		return nil, fmt.Errorf("unable to create AES-128 cipher: %w", err)
	}
	c := &Cipher{block: block, flips: new([1 << tableBits]uint16)}
	block.Encrypt(c.pad[:], key[16:32])
	c.padHi = binary.BigEndian.Uint64(c.pad[:8])
	c.padLo = binary.BigEndian.Uint64(c.pad[8:])
	c.pad4 = uint32(c.padHi >> 32)
	c.pool.New = func() any {
		s := new(scratch)
		s.fill(c.pad)
		return s
	}
	c.buildTable()
	return c, nil
}

// String returns a fixed text so that printing a Cipher never shows the
// pad or the key schedule.
func (c *Cipher) String() string { return "cryptopan.Cipher{redacted}" }

// GoString is like String, for %#v.
func (c *Cipher) GoString() string { return c.String() }

// buildTable fills c.flips: first the flip bit of every prefix of length
// 0…15 (a binary tree of 65535 nodes, node 1<<l|p for prefix p of length
// l), then, level by level, the flip bits along the path to every prefix.
func (c *Cipher) buildTable() {
	s := new(scratch)
	s.fill(c.pad)
	blocks := s.in6[:] // a batch of blocks, filled before encryption (see scratch)
	pad16 := uint16(c.padHi >> 48)
	nodes := make([]byte, 1<<tableBits)
	for l := range tableBits {
		low := uint16(0xffff >> l) // the pad bits kept
		for p0 := 0; p0 < 1<<l; p0 += len(blocks) {
			n := min(len(blocks), 1<<l-p0)
			for i := range n {
				v := uint16(uint32(p0+i)<<(16-l)) | pad16&low
				binary.BigEndian.PutUint16(blocks[i][:2], v)
			}
			for i := range n {
				c.block.Encrypt(s.outs[i][:], blocks[i][:])
			}
			for i := range n {
				nodes[1<<l|(p0+i)] = s.outs[i][0] >> 7
			}
		}
	}
	// After the pass for level l, flips[q] holds the flip bits of
	// positions 0…l of the (l+1)-bit prefix q. Going down, flips[q>>1] is
	// still the previous level's value when flips[q] is written.
	for l := range tableBits {
		for q := 1<<(l+1) - 1; q >= 0; q-- {
			c.flips[q] = c.flips[q>>1] | uint16(nodes[1<<l|q>>1])<<(15-l)
		}
	}
}

// get and put borrow a scratch block from the pool.
func (c *Cipher) get() *scratch  { return c.pool.Get().(*scratch) }
func (c *Cipher) put(s *scratch) { c.pool.Put(s) }

// msb encrypts s.in into s.out and returns the first output bit.
func (c *Cipher) msb(s *scratch) uint8 {
	c.block.Encrypt(s.out[:], s.in[:])
	return s.out[0] >> 7
}

// Anonymize4 returns the pseudonym of the IPv4 address a.
func (c *Cipher) Anonymize4(a [4]byte) [4]byte {
	s := c.get()
	r := c.anonymize4(binary.BigEndian.Uint32(a[:]), s)
	c.put(s)
	return be32(r)
}

// Deanonymize4 returns the IPv4 address whose pseudonym is p: it inverts
// Anonymize4 exactly.
func (c *Cipher) Deanonymize4(p [4]byte) [4]byte {
	s := c.get()
	r := c.deanonymize4(binary.BigEndian.Uint32(p[:]), s)
	c.put(s)
	return be32(r)
}

// Anonymize16 returns the pseudonym of the IPv6 address a (all 128 bits;
// use Anonymize4 or AnonymizeAddr for IPv4-mapped addresses).
func (c *Cipher) Anonymize16(a [16]byte) [16]byte {
	s := c.get()
	hi, lo := c.anonymize16(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), s)
	c.put(s)
	return be128(hi, lo)
}

// Deanonymize16 returns the IPv6 address whose pseudonym is p: it inverts
// Anonymize16 exactly.
func (c *Cipher) Deanonymize16(p [16]byte) [16]byte {
	s := c.get()
	hi, lo := c.deanonymize16(binary.BigEndian.Uint64(p[:8]), binary.BigEndian.Uint64(p[8:]), s)
	c.put(s)
	return be128(hi, lo)
}

// AnonymizeAddr returns the pseudonym of a: an IPv4(-mapped) address is
// pseudonymized as 32 bits and stays IPv4-mapped, any other address as 128
// bits. The zero Addr ("no address") stays zero.
func (c *Cipher) AnonymizeAddr(a flow.Addr) flow.Addr {
	s := c.get()
	r := c.anonymizeAddr(a, s)
	c.put(s)
	return r
}

// DeanonymizeAddr inverts AnonymizeAddr. (An IPv6 pseudonym that happens to
// be IPv4-mapped or zero, probability 2^-96, would not round-trip.)
func (c *Cipher) DeanonymizeAddr(p flow.Addr) flow.Addr {
	switch {
	case p.IsZero():
		return p
	case p.Is4():
		return flow.AddrFrom4(c.Deanonymize4([4]byte(p[12:])))
	default:
		return flow.Addr(c.Deanonymize16(p))
	}
}

// anonymizeAddr is AnonymizeAddr with the caller's scratch block.
func (c *Cipher) anonymizeAddr(a flow.Addr, s *scratch) flow.Addr {
	switch {
	case a.IsZero():
		return a
	case a.Is4():
		return flow.AddrFrom4(be32(c.anonymize4(binary.BigEndian.Uint32(a[12:]), s)))
	default:
		hi, lo := c.anonymize16(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:]), s)
		return flow.Addr(be128(hi, lo))
	}
}

// anonymize4 pseudonymizes the IPv4 address a: table lookup for bits
// 0…15, one AES block for each of bits 16…31.
func (c *Cipher) anonymize4(a uint32, s *scratch) uint32 {
	for i := range s.in4 {
		m := ^uint32(0) << (32 - tableBits - i)
		binary.BigEndian.PutUint32(s.in4[i][:4], a&m|c.pad4&^m)
	}
	for i := range s.in4 {
		c.block.Encrypt(s.outs[i][:], s.in4[i][:])
	}
	f := uint32(c.flips[a>>16]) << 16
	for i := range s.in4 {
		f |= uint32(s.outs[i][0]>>7) << (15 - i)
	}
	return a ^ f
}

// deanonymize4 recovers the IPv4 address of pseudonym p bit by bit: the
// flip of bit i only needs the bits before i, already recovered.
func (c *Cipher) deanonymize4(p uint32, s *scratch) uint32 {
	var a uint32
	for i := range tableBits {
		f := uint32(c.flips[a>>16]>>(15-i)) & 1
		a |= (p>>(31-i)&1 ^ f) << (31 - i)
	}
	s.in = c.pad
	for i := tableBits; i < 32; i++ {
		m := ^uint32(0) << (32 - i)
		binary.BigEndian.PutUint32(s.in[:4], a&m|c.pad4&^m)
		a |= (p>>(31-i)&1 ^ uint32(c.msb(s))) << (31 - i)
	}
	return a
}

// anonymize16 pseudonymizes the IPv6 address hi‖lo: table lookup for bits
// 0…15, one AES block for each of bits 16…127.
func (c *Cipher) anonymize16(hi, lo uint64, s *scratch) (uint64, uint64) {
	const n = 64 - tableBits // blocks for bits 16…63
	for i := range n {
		m := ^uint64(0) << (n - i)
		binary.BigEndian.PutUint64(s.in6[i][:8], hi&m|c.padHi&^m)
	}
	for j := range 64 {
		m := ^uint64(0) << (64 - j) // 0 for j == 0
		b := &s.in6[n+j]
		binary.BigEndian.PutUint64(b[:8], hi)
		binary.BigEndian.PutUint64(b[8:], lo&m|c.padLo&^m)
	}
	for i := range s.in6 {
		c.block.Encrypt(s.outs[i][:], s.in6[i][:])
	}
	fhi := uint64(c.flips[hi>>48]) << 48
	for i := range n {
		fhi |= uint64(s.outs[i][0]>>7) << (n - 1 - i)
	}
	var flo uint64
	for j := range 64 {
		flo |= uint64(s.outs[n+j][0]>>7) << (63 - j)
	}
	return hi ^ fhi, lo ^ flo
}

// deanonymize16 recovers the IPv6 address of pseudonym phi‖plo bit by bit.
func (c *Cipher) deanonymize16(phi, plo uint64, s *scratch) (uint64, uint64) {
	var hi, lo uint64
	for i := range tableBits {
		f := uint64(c.flips[hi>>48]>>(15-i)) & 1
		hi |= (phi>>(63-i)&1 ^ f) << (63 - i)
	}
	s.in = c.pad
	for i := tableBits; i < 64; i++ {
		m := ^uint64(0) << (64 - i)
		binary.BigEndian.PutUint64(s.in[:8], hi&m|c.padHi&^m)
		hi |= (phi>>(63-i)&1 ^ uint64(c.msb(s))) << (63 - i)
	}
	binary.BigEndian.PutUint64(s.in[:8], hi)
	for i := range 64 {
		m := ^uint64(0) << (64 - i)
		binary.BigEndian.PutUint64(s.in[8:], lo&m|c.padLo&^m)
		lo |= (plo>>(63-i)&1 ^ uint64(c.msb(s))) << (63 - i)
	}
	return hi, lo
}

// be32 returns v as 4 big-endian bytes.
func be32(v uint32) [4]byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return b
}

// be128 returns hi‖lo as 16 big-endian bytes.
func be128(hi, lo uint64) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return b
}
