package peertest

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/flow"
)

// Flow is one flow record as any of the collectors (acd, nfdump, sfacctd)
// reports it, reduced to what they all have.
type Flow struct {
	Proto   uint8
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16
	DstPort uint16 // ICMP: type<<8 | code
	Packets uint64
	Bytes   uint64
	Start   int64 // ms since the epoch, 0 if unknown
	End     int64
}

func (f Flow) String() string {
	return fmt.Sprintf("proto %d %s:%d -> %s:%d packets %d bytes %d",
		f.Proto, f.Src, f.SrcPort, f.Dst, f.DstPort, f.Packets, f.Bytes)
}

// key is a Flow without its times: what two collectors must agree on.
type key struct {
	Proto            uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Packets, Bytes   uint64
}

func (f Flow) key() key {
	return key{f.Proto, f.Src, f.Dst, f.SrcPort, f.DstPort, f.Packets, f.Bytes}
}

// FromRecord converts an acd record.
func FromRecord(r *flow.Record) Flow {
	return Flow{
		Proto: r.Proto, Src: r.SrcAddr.Netip(), Dst: r.DstAddr.Netip(),
		SrcPort: r.SrcPort, DstPort: r.DstPort,
		Packets: r.Packets, Bytes: r.Bytes, Start: r.Start, End: r.End,
	}
}

// Totals are the sums over a set of flows.
type Totals struct {
	Flows   uint64
	Packets uint64
	Bytes   uint64
}

func (t Totals) String() string {
	return fmt.Sprintf("%d flows, %d packets, %d bytes", t.Flows, t.Packets, t.Bytes)
}

// Sum returns the totals of fs.
func Sum(fs []Flow) Totals {
	var t Totals
	for _, f := range fs {
		t.Flows++
		t.Packets += f.Packets
		t.Bytes += f.Bytes
	}
	return t
}

// DiffFlows compares two multisets of flows, ignoring times, and returns
// one line per flow found more often on one side, at most max lines
// ("" when they are equal).
func DiffFlows(got, want []Flow, gotName, wantName string, max int) string {
	count := map[key]int{}
	for _, f := range got {
		count[f.key()]++
	}
	for _, f := range want {
		count[f.key()]--
	}
	var lines []string
	for k, n := range count {
		for ; n > 0; n-- {
			lines = append(lines, fmt.Sprintf("only in %s: %v", gotName, Flow{Proto: k.Proto, Src: k.Src, Dst: k.Dst,
				SrcPort: k.SrcPort, DstPort: k.DstPort, Packets: k.Packets, Bytes: k.Bytes}))
		}
		for ; n < 0; n++ {
			lines = append(lines, fmt.Sprintf("only in %s: %v", wantName, Flow{Proto: k.Proto, Src: k.Src, Dst: k.Dst,
				SrcPort: k.SrcPort, DstPort: k.DstPort, Packets: k.Packets, Bytes: k.Bytes}))
		}
	}
	slices.SortFunc(lines, func(a, b string) int { return cmp.Compare(a, b) })
	if len(lines) > max {
		lines = append(lines[:max], fmt.Sprintf("... and %d more", len(lines)-max))
	}
	return strings.Join(lines, "\n")
}

// Aggregate merges flows with the same 5-tuple, summing packets and bytes
// and widening the time range; the result is sorted.
func Aggregate(fs []Flow) []Flow {
	type tuple struct {
		Proto            uint8
		Src, Dst         netip.Addr
		SrcPort, DstPort uint16
	}
	m := map[tuple]*Flow{}
	for _, f := range fs {
		k := tuple{f.Proto, f.Src, f.Dst, f.SrcPort, f.DstPort}
		a, ok := m[k]
		if !ok {
			c := f
			m[k] = &c
			continue
		}
		a.Packets += f.Packets
		a.Bytes += f.Bytes
		a.Start = min(a.Start, f.Start)
		a.End = max(a.End, f.End)
	}
	out := make([]Flow, 0, len(m))
	for _, f := range m {
		out = append(out, *f)
	}
	slices.SortFunc(out, func(a, b Flow) int { return cmp.Compare(a.String(), b.String()) })
	return out
}

// TimeMismatches pairs the flows of got and want that DiffFlows considers
// equal (same key; several flows with one key are paired in start order)
// and returns those whose Start or End differ, at most max lines.
func TimeMismatches(got, want []Flow, gotName, wantName string, max int) []string {
	byKey := func(fs []Flow) map[key][]Flow {
		m := map[key][]Flow{}
		for _, f := range fs {
			m[f.key()] = append(m[f.key()], f)
		}
		for _, v := range m {
			slices.SortFunc(v, func(a, b Flow) int { return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.End, b.End)) })
		}
		return m
	}
	g, w := byKey(got), byKey(want)
	var lines []string
	for k, gs := range g {
		ws := w[k]
		for i := range min(len(gs), len(ws)) {
			if gs[i].Start != ws[i].Start || gs[i].End != ws[i].End {
				lines = append(lines, fmt.Sprintf("%v: %s %s..%s, %s %s..%s", gs[i],
					gotName, msTime(gs[i].Start), msTime(gs[i].End), wantName, msTime(ws[i].Start), msTime(ws[i].End)))
			}
		}
	}
	slices.Sort(lines)
	if len(lines) > max {
		lines = append(lines[:max], fmt.Sprintf("... and %d more", len(lines)-max))
	}
	return lines
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format("15:04:05.000") }
