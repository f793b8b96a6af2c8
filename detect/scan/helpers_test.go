package scan

import (
	"cmp"
	"math"
	"slices"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// base is an event time (ms) at the start of a window.
const base = int64(1_735_689_600_000) // 2025-01-01T00:00:00Z

func v4(a, b, c, d byte) flow.Addr { return flow.AddrFrom4([4]byte{a, b, c, d}) }

// host returns the i-th address of 10.1.0.0/16.
func host(i int) flow.Addr { return v4(10, 1, byte(i>>8), byte(i)) }

// v6 returns the i-th address of 2001:db8:1::/64.
func v6(i int) flow.Addr {
	var a flow.Addr
	a[0], a[1], a[2], a[3], a[5] = 0x20, 0x01, 0x0d, 0xb8, 1
	a[14], a[15] = byte(i>>8), byte(i)
	return a
}

// syn is a failed TCP probe from src to dst:port at t.
func syn(t int64, src, dst flow.Addr, port uint16) flow.Record {
	return flow.Record{Start: t, End: t, SrcAddr: src, DstAddr: dst, SrcPort: 40000, DstPort: port,
		Proto: protoTCP, Packets: 1, Bytes: 44, TCPFlags: flow.TCPSyn, Class: flow.ClassTransit}
}

// conn is a completed TCP connection from src to dst:port at t.
func conn(t int64, src, dst flow.Addr, port uint16) flow.Record {
	return flow.Record{Start: t, End: t + 500, SrcAddr: src, DstAddr: dst, SrcPort: 50000, DstPort: port,
		Proto: protoTCP, Packets: 12, Bytes: 2400, TCPFlags: flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin,
		Class: flow.ClassTransit}
}

// collector gathers findings.
type collector struct{ fs []detect.Finding }

func (c *collector) emit(f detect.Finding) { c.fs = append(c.fs, f) }

func newDet(t testing.TB, mod func(*Config)) *Detector {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// feeder observes records one batch at a time with the watermark the
// engine would give (latest start less lateness), advancing it after each
// batch.
type feeder struct {
	d        *Detector
	c        collector
	maxEnd   int64
	lateness int64
	wm       int64
}

func newFeeder(d *Detector) *feeder {
	return &feeder{d: d, maxEnd: math.MinInt64, lateness: 60_000, wm: math.MinInt64}
}

func (f *feeder) observe(recs ...flow.Record) {
	if len(recs) == 0 {
		return
	}
	slices.SortStableFunc(recs, func(a, b flow.Record) int { return cmp.Compare(a.Start, b.Start) })
	m := f.maxEnd
	for i := range recs {
		m = max(m, recs[i].Start)
	}
	f.d.Observe(recs, f.wm, f.c.emit)
	if m > f.maxEnd {
		f.maxEnd = m
		if wm := m - f.lateness; wm > f.wm {
			f.wm = wm
			f.d.Advance(wm, f.c.emit)
		}
	}
}

func (f *feeder) advance(wm int64) {
	if wm > f.wm {
		f.wm = wm
		f.d.Advance(wm, f.c.emit)
	}
}

func (f *feeder) flush() { f.d.Flush(f.c.emit) }
