package verify

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/acd-org/acd/flow"
)

// Rate is what a window held, per minute of the window actually
// observed: flows, packets and bytes scaled by the sampling rate, and the
// distinct peers (the other endpoints) of the whole window, estimated.
type Rate struct {
	Flows   float64 `json:"flows_per_min"`
	Packets float64 `json:"packets_per_min"`
	Bytes   float64 `json:"bytes_per_min"`
	Peers   int     `json:"peers"`
	// Minutes is how many minutes of the window were observed (the rate
	// is over those); 0 means no data.
	Minutes int `json:"minutes"`
}

// peerBits is the size of the per-minute distinct-peer bitmap (linear
// counting): exact-ish up to a few hundred peers, saturating near
// peerBits·ln(peerBits) ≈ 3 200.
const peerBits = 512

// bucket holds one minute of a watch's matching records.
type bucket struct {
	min     int64 // minute number (ms / 60 000); math.MinInt64 when empty
	flows   float64
	packets uint64
	bytes   uint64
	peers   [peerBits / 64]uint64
}

// add counts r, whose far endpoint is peer.
func (b *bucket) add(r *flow.Record, peer flow.Addr) {
	flows := 1.0
	rate := uint64(1)
	if r.SamplingRate > 1 {
		// As detect/ddos does: a sampled one-packet record stands for
		// about rate flows; a record of many sampled packets for one
		// long flow.
		rate = uint64(r.SamplingRate)
		flows = max(1, float64(r.SamplingRate)/max(1, float64(r.Packets)))
	}
	b.flows += flows
	b.packets += r.Packets * rate
	b.bytes += r.Bytes * rate
	h := hashAddr(peer) % peerBits
	b.peers[h/64] |= 1 << (h % 64)
}

// hashAddr mixes the 16 bytes of a into a well-spread 64-bit value.
func hashAddr(a flow.Addr) uint64 {
	x := binary.LittleEndian.Uint64(a[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(a[8:])
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return x
}

// sum is the total of buckets over a range of minutes.
type sum struct {
	minutes int
	flows   float64
	packets uint64
	bytes   uint64
	peers   [peerBits / 64]uint64
}

// sumRange adds up the buckets of ring for minutes [from, to).
func sumRange(ring []bucket, from, to int64) sum {
	var s sum
	if to > from {
		s.minutes = int(to - from)
	}
	for i := range ring {
		b := &ring[i]
		if b.min < from || b.min >= to {
			continue
		}
		s.flows += b.flows
		s.packets += b.packets
		s.bytes += b.bytes
		for j := range b.peers {
			s.peers[j] |= b.peers[j]
		}
	}
	return s
}

// rate returns s per minute.
func (s sum) rate() Rate {
	if s.minutes <= 0 {
		return Rate{}
	}
	m := float64(s.minutes)
	return Rate{Flows: s.flows / m, Packets: float64(s.packets) / m, Bytes: float64(s.bytes) / m,
		Peers: estimatePeers(&s.peers), Minutes: s.minutes}
}

// estimatePeers is the linear-counting estimate of the distinct values
// set in bitmap p.
func estimatePeers(p *[peerBits / 64]uint64) int {
	set := 0
	for _, w := range p {
		set += bits.OnesCount64(w)
	}
	if set == 0 {
		return 0
	}
	zero := peerBits - set
	if zero == 0 {
		zero = 1 // saturated: report the largest estimate the bitmap can give
	}
	return int(math.Round(-peerBits * math.Log(float64(zero)/peerBits)))
}
