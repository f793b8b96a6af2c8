package scan

import (
	"math"

	"github.com/acd-org/acd/flow"
)

// sketchBits is the size of a linear-counting bitmap: it estimates
// distinct counts to a few percent up to about 500 and saturates near
// 1400.
const sketchBits = 256

// seriesLen is the number of intervals a window's probe series holds.
const seriesLen = 8

// Slot flags.
const (
	slotUsed     = 1 << iota // the slot holds a window
	slotEmitted              // the window crossed a threshold and was reported
	slotReported             // (slow slot) a fast finding was reported within it
)

// slot counts one source's probes in one window.
type slot struct {
	start  int64                   // window start, ms
	hosts  [sketchBits / 64]uint64 // distinct destination hosts of probes
	ports  [sketchBits / 64]uint64 // distinct destination ports of probes
	fail   float32                 // failed probes, weighted and scaled
	probes uint32                  // probes, scaled
	other  uint32                  // other flows of the source, scaled
	first  uint32                  // first record counted, ms after start
	last   uint32                  // last record counted, ms after start
	nh, np uint16                  // bits set in hosts, ports
	port   uint16                  // majority vote of the probed port (Boyer-Moore)
	votes  uint16
	series [seriesLen]uint16 // probes per interval, scaled
	proto  uint8             // protocol of port
	flags  uint8
}

func (s *slot) used() bool { return s.flags&slotUsed != 0 }

// reset makes s an empty window starting at start.
func (s *slot) reset(start int64) {
	*s = slot{start: start, flags: slotUsed, first: math.MaxUint32}
}

// touch records that a record of time t (ms) was counted in s, a window
// of length ms, and returns t's offset in it.
func (s *slot) touch(t, length int64) int64 {
	off := t - s.start
	if off < 0 || off >= length { // folded or garbage times: clamp
		off = min(max(off, 0), length-1)
	}
	o := uint32(off)
	s.first = min(s.first, o)
	s.last = max(s.last, o)
	return off
}

// bucket returns the series interval of offset off, given the number of
// intervals per millisecond.
func bucket(off int64, perMs float64) int {
	return min(max(int(float64(off)*perMs), 0), seriesLen-1)
}

// addProbe counts a probe to host hash hh on port (hash ph); it reports
// whether the host was new in s.
func (s *slot) addProbe(hh, ph uint64, port uint16, proto uint8, n uint32, fail float32, bucket int) bool {
	s.probes = satAdd(s.probes, n)
	s.fail += fail
	s.series[bucket] = uint16(min(uint32(s.series[bucket])+n, math.MaxUint16))
	switch {
	case s.votes == 0:
		s.port, s.proto, s.votes = port, proto, 1
	case s.port == port && s.proto == proto:
		s.votes = uint16(min(uint32(s.votes)+1, math.MaxUint16))
	default:
		s.votes--
	}
	if w, b := ph>>(64-8)/64, ph>>(64-8)%64; s.ports[w]&(1<<b) == 0 {
		s.ports[w] |= 1 << b
		s.np++
	}
	if w, b := hh>>(64-8)/64, hh>>(64-8)%64; s.hosts[w]&(1<<b) == 0 {
		s.hosts[w] |= 1 << b
		s.nh++
		return true
	}
	return false
}

func satAdd(a, b uint32) uint32 {
	if c := a + b; c >= a {
		return c
	}
	return math.MaxUint32
}

// estimates returns the linear-counting estimate for each number of set
// bits (a full bitmap counts as half a bit still free).
func estimates() [sketchBits + 1]float64 {
	var e [sketchBits + 1]float64
	for b := range e {
		free := float64(sketchBits - b)
		if b == sketchBits {
			free = 0.5
		}
		e[b] = -sketchBits * math.Log(free/sketchBits)
	}
	return e
}

// hashAddr mixes an address into 64 bits (the top bits index sketches).
func hashAddr(a *flow.Addr) uint64 {
	lo := uint64(a[0]) | uint64(a[1])<<8 | uint64(a[2])<<16 | uint64(a[3])<<24 |
		uint64(a[4])<<32 | uint64(a[5])<<40 | uint64(a[6])<<48 | uint64(a[7])<<56
	hi := uint64(a[8]) | uint64(a[9])<<8 | uint64(a[10])<<16 | uint64(a[11])<<24 |
		uint64(a[12])<<32 | uint64(a[13])<<40 | uint64(a[14])<<48 | uint64(a[15])<<56
	return mix(lo*0x9e3779b97f4a7c15 ^ hi)
}

// hashPort mixes a protocol and port.
func hashPort(proto uint8, port uint16) uint64 {
	return mix(uint64(proto)<<16 | uint64(port) | 1<<40)
}

// mix is the splitmix64 finalizer.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
