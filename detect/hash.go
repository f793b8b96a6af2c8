package detect

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"

	"github.com/acd-org/acd/flow"
)

// Hasher hashes the addresses detectors key their state by, with random
// seeds drawn for each detector, so that nobody can choose addresses
// whose 64-bit hashes collide (state keyed by the hash would be shared).
type Hasher struct{ s [4]uint64 }

// NewHasher returns a hasher of fresh seeds.
func NewHasher() Hasher {
	return Hasher{[4]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64() | 1}}
}

// Mum is the 64×64→128-bit multiply-and-fold mixer of wyhash.
func Mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// PseudoTag marks the key tag of a pseudonym (see AddrTag).
const PseudoTag = 1 << 32

// AddrTag returns the key tag of a record's source (flag flow.PseudoSrc)
// or destination (flow.PseudoDst): a pseudonym of one key epoch is
// another address than the same bits in another epoch or real, so it is
// tagged PseudoTag | epoch, a real address 0.
func AddrTag(r *flow.Record, flag flow.Pseudo) uint64 {
	if r.Pseudo&flag != 0 {
		return PseudoTag | uint64(r.KeyEpoch)
	}
	return 0
}

// Addr hashes an address with its key tag.
func (h *Hasher) Addr(a *flow.Addr, tag uint64) uint64 {
	lo := binary.LittleEndian.Uint64(a[0:8])
	hi := binary.LittleEndian.Uint64(a[8:16])
	return Mum(Mum(lo^h.s[0], hi^h.s[1])^tag^h.s[2], h.s[3])
}

// Pair hashes a pair of hashes.
func (h *Hasher) Pair(a, b uint64) uint64 {
	return Mum(a^h.s[1], b^h.s[2]^0x9E3779B97F4A7C15)
}
