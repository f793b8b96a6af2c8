package ddos

import (
	"encoding/binary"
	"math"

	"github.com/acd-org/acd/flow"
)

// admitCells is the width of each row of the admission sketch.
const admitCells = 4096

// admission keeps the destinations table for the destinations that
// matter: a count-min sketch (two rows) counts every destination's
// flood-vector traffic in the current bucket, and only a destination
// whose estimate reaches the admission level (the lowest floor divided
// by the multiplier, or by the watch fraction when smaller) gets a
// table entry. Below that level neither the baseline (multiplier ×
// baseline stays under every floor) nor the watch can matter. A bitmap
// of the cells of tracked destinations lets their records skip the
// sketch; it is rebuilt from the table when a window closes.
type admission struct {
	bucket  int64
	level   [nMet]float32
	cells   [2][admitCells][nMet]float32
	tracked [2][admitCells / 64]uint64
}

// hashAddr mixes an address into 64 bits.
func hashAddr(a *flow.Addr) uint64 {
	h := binary.LittleEndian.Uint64(a[0:8])*0x9E3779B97F4A7C15 ^ binary.LittleEndian.Uint64(a[8:16])*0xC2B2AE3D27D4EB4F
	h ^= h >> 31
	h *= 0x94D049BB133111EB
	return h ^ h>>29
}

func cellsOf(h uint64) (i, j uint32) { return uint32(h) % admitCells, uint32(h>>32) % admitCells }

// isTracked reports whether both cells of h hold a tracked destination.
func (a *admission) isTracked(h uint64) bool {
	i, j := cellsOf(h)
	return a.tracked[0][i/64]&(1<<(i%64)) != 0 && a.tracked[1][j/64]&(1<<(j%64)) != 0
}

func (a *admission) track(h uint64) {
	i, j := cellsOf(h)
	a.tracked[0][i/64] |= 1 << (i % 64)
	a.tracked[1][j/64] |= 1 << (j % 64)
}

// add counts x for h in bucket b and returns the estimate and whether it
// reaches the admission level.
func (a *admission) add(h uint64, b int64, x [nMet]float32) (est [nMet]float32, admit bool) {
	if b > a.bucket {
		a.bucket = b
		a.cells = [2][admitCells][nMet]float32{}
	}
	i, j := cellsOf(h)
	c0, c1 := &a.cells[0][i], &a.cells[1][j]
	for m := range nMet {
		c0[m] += x[m]
		c1[m] += x[m]
		est[m] = min(c0[m], c1[m])
		admit = admit || est[m] >= a.level[m]
	}
	return est, admit
}

// admissionLevel returns the per-bucket admission level of each metric.
func admissionLevel(floor *[nVec][nMet]float32, watch, mult float64) (l [nMet]float32) {
	f := float32(min(watch, 1/mult))
	for m := range nMet {
		l[m] = float32(math.Inf(1))
		for v := range nVec {
			l[m] = min(l[m], floor[v][m]*f)
		}
	}
	return l
}
