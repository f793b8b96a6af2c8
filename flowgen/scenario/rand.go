package scenario

import (
	"math"
	"math/bits"
)

// rng is splitmix64: tiny, fast, and good enough for traffic shapes.
type rng struct{ s uint64 }

func newRNG(seed, stream uint64) rng {
	r := rng{s: seed ^ (stream+1)*0xd1342543de82ef95}
	r.u64()
	return r
}

func (r *rng) u64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// intn returns a uniform int in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.u64(), uint64(n))
	return int(hi)
}

// between returns a uniform int in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// float returns a uniform float64 in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) / (1 << 53) }

// exp returns an exponential variate of the given mean.
func (r *rng) exp(mean float64) float64 { return -mean * math.Log(1-r.float()) }

// jitter returns d scaled by a uniform factor in [1-j, 1+j].
func (r *rng) jitter(d float64, j float64) float64 { return d * (1 + j*(2*r.float()-1)) }

// skewed returns an index in [0, n) favouring small ones.
func (r *rng) skewed(n int) int {
	u := r.float()
	return min(int(u*u*u*float64(n)), n-1)
}
