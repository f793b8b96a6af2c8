package pcap

import (
	"fmt"

	"github.com/acd-org/acd/collect/packet"
	"github.com/acd-org/acd/flow"
)

// nilIdx ends the meter's intrusive lists.
const nilIdx = -1

// flowKey is the 5-tuple a flow is keyed on.
type flowKey struct {
	src, dst     flow.Addr
	sport, dport uint16
	proto        uint8
}

// entry is one tracked flow. Entries live in Meter.entries and are linked
// into two lists by index: lru (by last update, least recent first) and
// age (by creation, oldest first).
type entry struct {
	rec              flow.Record // addresses, ports, protocol, counters, flags
	first, last      int64       // packet times, ns since the epoch
	seen, created    int64       // meter clock at the last update and at creation
	lruPrev, lruNext int32
	agePrev, ageNext int32
}

type list struct{ head, tail int32 }

// Meter turns packets into unidirectional flow records keyed on the
// 5-tuple (source and destination address, source and destination port,
// IP protocol). VLAN ids are not part of the key: the same 5-tuple on two
// VLANs is one flow. Non-first IP fragments carry no ports and are metered
// under ports 0.
//
// Time is packet time: the meter's clock is the latest packet timestamp
// seen, so a file gives the same flows on every run. Before each packet is
// counted, flows idle for longer than IdleTimeout and flows older than
// ActiveTimeout are exported; a TCP packet with FIN or RST is counted and
// then its flow is exported; when a new flow would exceed MaxFlows the
// least recently seen flow is exported (evicted). Flush exports the rest.
//
// Records are appended to batches from the pool and handed to the sink
// when a batch is full and on Flush. A Meter is not safe for concurrent
// use. Steady-state metering does not allocate.
type Meter struct {
	cfg          Config
	idle, active int64 // timeouts in ns
	pool         *flow.BatchPool
	sink         flow.Sink
	batch        *flow.Batch // batch being filled, nil if none

	table   map[flowKey]int32
	entries []entry
	free    int32 // free entries, linked through lruNext
	count   int   // tracked flows
	lru     list
	age     list
	now     int64 // clock: latest packet time seen (ns)
	started bool  // now is set

	stats Stats
}

// NewMeter returns a meter that hands batches from pool to sink.
func NewMeter(cfg Config, pool *flow.BatchPool, sink flow.Sink) (*Meter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pool == nil || sink == nil {
		return nil, fmt.Errorf("unable to create pcap meter: pool and sink are required")
	}
	return &Meter{
		cfg:    cfg,
		idle:   int64(cfg.IdleTimeout),
		active: int64(cfg.ActiveTimeout),
		pool:   pool,
		sink:   sink,
		table:  make(map[flowKey]int32, min(cfg.MaxFlows, 4096)),
		free:   nilIdx,
		lru:    list{nilIdx, nilIdx},
		age:    list{nilIdx, nilIdx},
		stats:  Stats{Errors: map[string]uint64{}},
	}, nil
}

// Stats returns a copy of the meter's counters.
func (m *Meter) Stats() Stats { return m.stats.clone() }

// Flows returns the number of flows being tracked.
func (m *Meter) Flows() int { return m.count }

// Add meters one parsed packet captured at ts (ns since the Unix epoch).
// h.IPLen is the byte count added to the flow.
func (m *Meter) Add(ts int64, h *packet.Header) {
	m.advance(ts)
	k := flowKey{src: h.Src, dst: h.Dst, sport: h.SrcPort, dport: h.DstPort, proto: h.Proto}
	i, ok := m.table[k]
	var e *entry
	if ok {
		e = &m.entries[i]
		m.lruUnlink(i)
		m.lruPush(i)
		e.seen = m.now
		e.first = min(e.first, ts)
		e.last = max(e.last, ts)
	} else {
		if m.count >= m.cfg.MaxFlows {
			m.export(m.lru.head, ExportEvicted)
		}
		i = m.alloc()
		e = &m.entries[i]
		*e = entry{
			rec: flow.Record{
				SrcAddr: h.Src, DstAddr: h.Dst, SrcPort: h.SrcPort, DstPort: h.DstPort,
				Proto: h.Proto, SamplingRate: 1, Format: flow.FormatPcap,
			},
			first: ts, last: ts, seen: m.now, created: m.now,
		}
		m.table[k] = i
		m.lruPush(i)
		m.agePush(i)
	}
	e.rec.Packets++
	e.rec.Bytes += uint64(h.IPLen)
	e.rec.TCPFlags |= h.TCPFlags
	m.stats.Metered++
	m.stats.Bytes += uint64(h.IPLen)
	if h.Fragment {
		m.stats.Fragments++
	}
	if h.Truncated {
		m.stats.Truncated++
	}
	if h.Proto == 6 && h.TCPFlags&(flow.TCPFin|flow.TCPRst) != 0 {
		m.export(i, ExportTCPEnd)
	}
}

// advance moves the clock to ts if it is later and exports the flows that
// expired by then.
func (m *Meter) advance(ts int64) {
	if !m.started || ts > m.now {
		m.now, m.started = ts, true
	}
	for m.lru.head != nilIdx && m.now-m.entries[m.lru.head].seen > m.idle {
		m.export(m.lru.head, ExportIdle)
	}
	for m.age.head != nilIdx && m.now-m.entries[m.age.head].created > m.active {
		m.export(m.age.head, ExportActive)
	}
}

// Flush exports every tracked flow (oldest first), hands the batch being
// filled to the sink and resets the clock: the next packet may be from
// another capture, at any time.
func (m *Meter) Flush() {
	for m.age.head != nilIdx {
		m.export(m.age.head, ExportEnd)
	}
	if m.batch != nil && len(m.batch.Records) > 0 {
		m.sink.Consume(m.batch)
		m.batch = nil
	}
	m.started, m.now = false, 0
}

// export appends flow i to the batch and stops tracking it.
func (m *Meter) export(i int32, why ExportReason) {
	e := &m.entries[i]
	if m.batch == nil {
		m.batch = m.pool.Get()
	}
	rec := e.rec
	rec.Start, rec.End = unixMilli(e.first), unixMilli(e.last)
	m.batch.Records = append(m.batch.Records, rec)
	if len(m.batch.Records) >= cap(m.batch.Records) {
		m.sink.Consume(m.batch)
		m.batch = nil
	}
	m.stats.Flows++
	m.stats.Exports[why]++
	delete(m.table, flowKey{src: e.rec.SrcAddr, dst: e.rec.DstAddr, sport: e.rec.SrcPort, dport: e.rec.DstPort, proto: e.rec.Proto})
	m.lruUnlink(i)
	m.ageUnlink(i)
	e.lruNext = m.free
	m.free = i
	m.count--
}

// unixMilli converts ns since the epoch to ms, rounding down.
func unixMilli(ns int64) int64 {
	ms := ns / 1e6
	if ns%1e6 < 0 {
		ms--
	}
	return ms
}

// alloc returns a free entry index.
func (m *Meter) alloc() int32 {
	m.count++
	if m.free != nilIdx {
		i := m.free
		m.free = m.entries[i].lruNext
		return i
	}
	m.entries = append(m.entries, entry{})
	return int32(len(m.entries) - 1)
}

func (m *Meter) lruPush(i int32) {
	e := &m.entries[i]
	e.lruPrev, e.lruNext = m.lru.tail, nilIdx
	if m.lru.tail != nilIdx {
		m.entries[m.lru.tail].lruNext = i
	} else {
		m.lru.head = i
	}
	m.lru.tail = i
}

func (m *Meter) lruUnlink(i int32) {
	e := &m.entries[i]
	if e.lruPrev != nilIdx {
		m.entries[e.lruPrev].lruNext = e.lruNext
	} else {
		m.lru.head = e.lruNext
	}
	if e.lruNext != nilIdx {
		m.entries[e.lruNext].lruPrev = e.lruPrev
	} else {
		m.lru.tail = e.lruPrev
	}
	e.lruPrev, e.lruNext = nilIdx, nilIdx
}

func (m *Meter) agePush(i int32) {
	e := &m.entries[i]
	e.agePrev, e.ageNext = m.age.tail, nilIdx
	if m.age.tail != nilIdx {
		m.entries[m.age.tail].ageNext = i
	} else {
		m.age.head = i
	}
	m.age.tail = i
}

func (m *Meter) ageUnlink(i int32) {
	e := &m.entries[i]
	if e.agePrev != nilIdx {
		m.entries[e.agePrev].ageNext = e.ageNext
	} else {
		m.age.head = e.ageNext
	}
	if e.ageNext != nilIdx {
		m.entries[e.ageNext].agePrev = e.agePrev
	} else {
		m.age.tail = e.agePrev
	}
	e.agePrev, e.ageNext = nilIdx, nilIdx
}
