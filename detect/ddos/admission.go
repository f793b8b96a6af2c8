package ddos

import (
	"math"

	"github.com/acd-org/acd/detect"
)

// admitCells is the width of each row of the admission sketch.
const admitCells = 4096

// admission keeps the destinations table for the destinations that
// matter: a count-min sketch (two rows) counts every destination's
// flood-vector traffic in the current bucket, and only a destination
// whose estimate reaches the admission level (the lowest floor divided
// by the multiplier, or by the watch fraction when smaller) gets a
// table entry. Below that level neither the baseline (multiplier ×
// baseline stays under every floor) nor the watch can matter. The
// records of tracked destinations skip the sketch: the destinations
// store's index tells them apart without a map lookup.
type admission struct {
	bucket int64
	level  [nMet]float32
	cells  [2][admitCells][nMet]float32
}

// cellsOf returns the sketch cells of a key hash (bits the store's index
// does not use first).
func cellsOf(h uint64) (i, j uint32) { return uint32(h>>40) % admitCells, uint32(h>>20) % admitCells }

// touch loads h's cells into the cache ahead of add.
func (a *admission) touch(h uint64) uint64 {
	i, j := cellsOf(h)
	return uint64(a.cells[0][i][0]) + uint64(a.cells[1][j][0])
}

// add counts x for h in the bucket of time t (the current one if t is
// earlier) and returns the estimate and whether it
// reaches the admission level.
func (a *admission) add(h uint64, t, bucketMs int64, x [nMet]float32) (est [nMet]float32, admit bool) {
	if t >= a.bucket+bucketMs {
		a.bucket = detect.WindowStart(t, bucketMs)
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
