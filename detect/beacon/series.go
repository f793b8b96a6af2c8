package beacon

import (
	"math"

	"github.com/acd-org/acd/flow"
)

// ringLen is how many intervals a full series keeps (the newest ones).
const ringLen = 32

// firstLen is how many intervals a first-sight pair keeps before it is
// promoted to a full series.
const firstLen = 2

// pairKey is one (internal client, external server, service) series.
type pairKey struct {
	client flow.Addr
	server flow.Addr
	port   uint16
	proto  uint8
}

// serverKey is one server's service: what a C2 finding is about.
type serverKey struct {
	server flow.Addr
	port   uint16
	proto  uint8
}

// groupKey is a service and a period bucket: the hosts beaconing at
// about one period to one service, whatever the server address.
type groupKey struct {
	port   uint16
	proto  uint8
	bucket int16
}

// bucketOf returns the period bucket of a median interval (ms): buckets
// grow by 20 %.
func bucketOf(ms float64) int16 {
	if ms < 1 {
		return 0
	}
	return int16(math.Floor(math.Log(ms) / math.Log(1.2)))
}

func (k *pairKey) serverKey() serverKey {
	return serverKey{server: k.server, port: k.port, proto: k.proto}
}

// conns is a view of a short history of connections: the start of the
// newest, the intervals between consecutive starts (oldest first, ms)
// and the size of every connection (bytes, client to server, oldest
// first; one more than the intervals). d and sz have room for one more
// value than the history keeps.
type conns struct {
	last int64    // start of the newest connection, ms
	d    []uint32 // intervals, oldest first
	sz   []uint32 // sizes, oldest first
}

// insert files a connection at start t (ms) of size b, keeping at most
// capD intervals (the newest), and reports whether it was kept (a
// connection older than a full history is dropped).
func (c *conns) insert(t int64, b uint32, capD int) bool {
	if len(c.sz) == 0 {
		c.last, c.sz = t, c.sz[:1]
		c.sz[0] = b
		return true
	}
	if t >= c.last {
		c.put(len(c.d), delta(t-c.last), len(c.sz), b, capD)
		c.last = t
		return true
	}
	// Out of order: walk back from the newest connection to the interval
	// that holds t, and split it.
	cur := c.last
	for i := len(c.d) - 1; i >= 0; i-- {
		prev := cur - int64(c.d[i])
		if t >= prev {
			c.d[i] = delta(cur - t)
			c.put(i, delta(t-prev), i+1, b, capD)
			return true
		}
		cur = prev
	}
	if len(c.d) >= capD {
		return false // older than the oldest connection of a full history
	}
	c.put(0, delta(cur-t), 0, b, capD)
	return true
}

// put inserts interval x at index i of d and size b at index j of sz,
// then drops the oldest interval and size beyond capD intervals.
func (c *conns) put(i int, x uint32, j int, b uint32, capD int) {
	c.d = c.d[:len(c.d)+1]
	copy(c.d[i+1:], c.d[i:])
	c.d[i] = x
	c.sz = c.sz[:len(c.sz)+1]
	copy(c.sz[j+1:], c.sz[j:])
	c.sz[j] = b
	if len(c.d) > capD {
		copy(c.d, c.d[1:])
		copy(c.sz, c.sz[1:])
		c.d, c.sz = c.d[:len(c.d)-1], c.sz[:len(c.sz)-1]
	}
}

// first returns the start of the oldest connection kept.
func (c conns) first() int64 {
	t := c.last
	for _, x := range c.d {
		t -= int64(x)
	}
	return t
}

func delta(x int64) uint32 {
	if x > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(max(x, 0))
}

func clampU32(x uint64) uint32 {
	if x > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(x)
}

// series is the full state of a promoted pair.
type series struct {
	// The header first: the eviction hand reads last and inUse, one
	// cache line per series.
	last    int64   // start of the newest connection, ms
	inUse   bool    // the slab entry holds a series
	cand    bool    // counted in the server's candidates
	pseudo  bool    // the client is a pseudonym
	misses  uint8   // evaluations in a row that found no beacon
	nd, nsz uint8   // intervals and sizes kept
	bucket  int16   // period bucket the pair is counted in (when llr > 0)
	h       uint64  // hash of the pair (finds its slot)
	firstAt int64   // start of the first connection ever seen, ms
	evalAt  int64   // start of the connection last evaluated, ms
	total   uint32  // connections seen
	nextN   uint32  // total at which the pair is evaluated next
	llr     float32 // contribution to the server's sum (0 when not a candidate)
	key     pairKey // the pair (its addresses, for evidence)
	d       [ringLen + 1]uint32
	sz      [ringLen + 2]uint32
}

func (s *series) view() conns { return conns{last: s.last, d: s.d[:s.nd], sz: s.sz[:s.nsz]} }

func (s *series) store(c *conns) { s.last, s.nd, s.nsz = c.last, uint8(len(c.d)), uint8(len(c.sz)) }

// peers are the most regular beaconing clients of a server.
type peers struct {
	n    uint8
	list [maxPeers]peerRef
}

type peerRef struct {
	client flow.Addr
	llr    float32
	pseudo bool
}

// put records (or updates) a beaconing client, replacing the least
// regular one when full.
func (p *peers) put(a flow.Addr, llr float32, pseudo bool) {
	low := -1
	for i := range p.list[:p.n] {
		if p.list[i].client == a {
			p.list[i].llr = llr
			return
		}
		if low < 0 || p.list[i].llr < p.list[low].llr {
			low = i
		}
	}
	switch {
	case int(p.n) < len(p.list):
		p.list[p.n] = peerRef{client: a, llr: llr, pseudo: pseudo}
		p.n++
	case llr > p.list[low].llr:
		p.list[low] = peerRef{client: a, llr: llr, pseudo: pseudo}
	}
}

// remove forgets a client.
func (p *peers) remove(a flow.Addr) {
	for i := range p.list[:p.n] {
		if p.list[i].client == a {
			p.n--
			p.list[i] = p.list[p.n]
			p.list[p.n] = peerRef{}
			return
		}
	}
}
