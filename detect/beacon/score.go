package beacon

import "math"

// This file scores a series of connections. The timing test is a
// likelihood ratio between two models of the intervals between
// connections:
//
//   - beaconing (H1): intervals spread uniformly over a band c·(1±J)
//     around a period c (jitter J), except for a share ε of outliers
//     (missed or extra check-ins) distributed like the null;
//   - random (H0): connections as a Poisson process, intervals
//     exponential with the series' own median.
//
// The band (c, J) is searched (J on a fixed grid up to the configured
// jitter tolerance, c among the sorted intervals), so the ratio is a
// maximum likelihood ratio: its value under H0 is calibrated by the
// threshold, not by the formula. The same test on request sizes adds
// (weighted, and never more than the timing part) to the score.

// jitterGrid holds the jitter tolerances tried, in increasing order.
var jitterGrid = [...]float64{0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.65, 0.8}

// scorer holds the precomputed constants of the test.
type scorer struct {
	grid     []float64 // jitters tried (a prefix of jitterGrid, the last one the configured maximum)
	logBand  []float64 // log((1-ε)/(2J)) per jitter
	logEps   float64   // log ε: the cost of an outlier
	penalty  float64   // log(len(grid)): the price of trying several jitters
	sizeW    float64   // weight of the size test
	minIvl   float64   // ms: median interval at least
	maxIvl   float64   // ms: median interval at most
	ratio    []float64 // (1+J)/(1-J) per jitter: the band's width
	log1mJ   []float64 // log(1-J) per jitter
	scratchA [ringLen + 2]uint32
	fv       [ringLen + 3]float64 // bandLLR scratch: the values and a sentinel
	pre      [ringLen + 3]float64 // bandLLR scratch: prefix sums
}

func newScorer(maxJitter, eps, sizeW float64, minIvl, maxIvl int64) *scorer {
	s := &scorer{logEps: math.Log(eps), sizeW: sizeW, minIvl: float64(minIvl), maxIvl: float64(maxIvl)}
	for _, j := range jitterGrid {
		if j >= maxJitter {
			break
		}
		s.grid = append(s.grid, j)
	}
	s.grid = append(s.grid, maxJitter)
	for _, j := range s.grid {
		s.logBand = append(s.logBand, math.Log((1-eps)/(2*j)))
		s.ratio = append(s.ratio, (1+j)/(1-j))
		s.log1mJ = append(s.log1mJ, math.Log(1-j))
	}
	s.penalty = math.Log(float64(len(s.grid)))
	return s
}

// bandLLR returns the best log likelihood ratio of "values within a
// jittered band, with outliers" against "exponential with the maximum
// likelihood rate" for the sorted values v, and the jitter of the best
// band.
func (s *scorer) bandLLR(v []uint32) (best, jitter float64) {
	n := len(v)
	if n == 0 {
		return 0, 0
	}
	// Floats once, with a sentinel, and prefix sums: each band is then a
	// two-pointer walk without bound checks and an O(1) sum.
	fv := s.fv[:n+1]
	pre := s.pre[:n+1]
	var total float64
	for i, x := range v {
		pre[i] = total
		f := float64(x)
		fv[i] = f
		total += f
	}
	pre[n], fv[n] = total, math.Inf(1)
	if total <= 0 {
		return 0, 0
	}
	rate := float64(n) / total // the exponential that fits best (maximum likelihood)
	logRate := math.Log(rate)
	best = math.Inf(-1)
	for g := range s.grid {
		ratio := s.ratio[g]
		// Slide a band [lo, lo·ratio] over the sorted values: the one
		// holding the most values (ties: the narrowest center) wins.
		bestK, bestI := 0, 0
		j := 0
		for i := 0; i < n; i++ {
			j = max(j, i)
			hi := fv[i] * ratio
			for fv[j+1] <= hi {
				j++
			}
			if k := j - i + 1; k > bestK {
				bestK, bestI = k, i
			}
			if j == n-1 {
				break
			}
		}
		if fv[bestI] <= 0 {
			continue
		}
		logC := math.Log(fv[bestI]) - s.log1mJ[g] // c = v[bestI]/(1-J)
		k := float64(bestK)
		sum := pre[bestI+bestK] - pre[bestI]
		llr := k*(s.logBand[g]-logC-logRate) + rate*sum + float64(n-bestK)*s.logEps
		if llr > best {
			best, jitter = llr, s.grid[g]
		}
	}
	if math.IsInf(best, -1) {
		return 0, 0
	}
	return best - s.penalty, jitter
}

// result is the score of one series.
type result struct {
	cand   bool    // enough regular data to be judged (median interval within bounds)
	llr    float64 // timing + weighted size log likelihood ratio
	timing float64 // the timing part
	size   float64 // the size part (before weighting)
	jitter float64 // jitter of the best timing band
	median float64 // median interval, ms
}

// score judges the intervals d (ms, any order) and the sizes sz (bytes).
// It sorts copies, never d and sz themselves.
func (s *scorer) score(d, sz []uint32) result {
	var r result
	if len(d) == 0 {
		return r
	}
	iv := s.scratchA[:len(d)]
	copy(iv, d)
	sortU32(iv)
	r.median = medianU32(iv)
	if r.median < s.minIvl || r.median > s.maxIvl {
		return r
	}
	r.cand = true
	r.timing, r.jitter = s.bandLLR(iv)
	llr := r.timing
	// The size test only weighs in on regular timing (it is the costlier
	// half of the score, and never outweighs the timing part).
	if r.timing > 0 && len(sz) > 1 && s.sizeW > 0 {
		bs := s.scratchA[:len(sz)]
		copy(bs, sz)
		sortU32(bs)
		if m := medianU32(bs); m > 0 {
			r.size, _ = s.bandLLR(bs)
			llr += s.sizeW * min(r.size, r.timing)
		}
	}
	r.llr = llr
	return r
}

// sortU32 sorts a short slice in place (insertion sort: at most 33
// values, no allocation).
func sortU32(a []uint32) {
	for i := 1; i < len(a); i++ {
		x := a[i]
		j := i
		for j > 0 && a[j-1] > x {
			a[j] = a[j-1]
			j--
		}
		a[j] = x
	}
}

// medianU32 returns the median of sorted values.
func medianU32(a []uint32) float64 {
	n := len(a)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return float64(a[n/2])
	}
	return (float64(a[n/2-1]) + float64(a[n/2])) / 2
}

// dispersion returns the RITA-style statistics of sorted values: median,
// median absolute deviation and Bowley skewness. tmp must be as long as a.
func dispersion(a, tmp []uint32) (med, mad, bowley float64) {
	n := len(a)
	if n == 0 {
		return 0, 0, 0
	}
	med = medianU32(a)
	for i, x := range a {
		tmp[i] = uint32(math.Abs(float64(x) - med))
	}
	sortU32(tmp[:n])
	mad = medianU32(tmp[:n])
	q1, q3 := float64(a[n/4]), float64(a[(3*n)/4])
	if n >= 4 {
		q1, q3 = medianU32(a[:n/2]), medianU32(a[(n+1)/2:])
	}
	if q3 > q1 {
		bowley = (q3 + q1 - 2*med) / (q3 - q1)
	}
	return med, mad, bowley
}
