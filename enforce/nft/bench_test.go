package nft

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// bigItems returns n block items, ten per case, a quarter each of IPv4
// addresses, IPv4 /24s, IPv6 addresses and IPv6 /64s, all distinct.
func bigItems(n int, now time.Time) []enforce.Item {
	var out []enforce.Item
	for c := 0; len(out) < n; c++ {
		cs := cases.Case{ID: fmt.Sprintf("case-%d", c), Version: 1}
		for j := 0; j < 10 && len(out)+j < n; j++ {
			i := c*10 + j
			var tg string
			switch i % 4 {
			case 0:
				tg = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
			case 1:
				tg = fmt.Sprintf("100.%d.%d.0/24", (i>>8)&0x3f, i&0xff)
			case 2:
				tg = fmt.Sprintf("2001:db8::%x", i)
			case 3:
				tg = fmt.Sprintf("2001:db8:1:%x::/64", i)
			}
			cs.Actions = append(cs.Actions, cases.Action{Type: cases.ActionBlock, Target: cases.MustTarget(tg),
				NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour + time.Duration(i)*time.Second)})
		}
		out = append(out, items(cs)...)
	}
	return out
}

// BenchmarkSync10k syncs 10,000 desired items (v4/v6 addresses and
// prefixes) into an empty table in a test namespace (the timed part,
// one batch), then syncs again and fails unless that finds no drift.
// ns/resync is the second Sync (a dump of 10,000 ranges, no change).
func BenchmarkSync10k(b *testing.B) {
	needRoot(b)
	ctx := context.Background()
	_, path := newNS(b)
	a := newAdapter(b, path, nil, nil)
	desired := bigItems(10000, time.Now())
	var resync time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := a.Remove(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		d, err := a.Sync(ctx, desired)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if d.Missing != len(desired) {
			b.Fatalf("first sync: %d missing, want %d", d.Missing, len(desired))
		}
		start := time.Now()
		d, err = a.Sync(ctx, desired)
		resync += time.Since(start)
		if err != nil || d.Total() != 0 {
			b.Fatalf("second sync: drift %d (%v), want 0: %v", d.Total(), d.Details, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(resync.Nanoseconds())/float64(b.N), "ns/resync")
	b.ReportMetric(0, "drift") // the loop fails on any drift
}

// BenchmarkApply10k applies one more block to a table holding 10,000:
// the time until Apply returns is the time until the element is in the
// kernel set (the batch is acknowledged by then).
func BenchmarkApply10k(b *testing.B) {
	needRoot(b)
	ctx := context.Background()
	_, path := newNS(b)
	a := newAdapter(b, path, nil, nil)
	now := time.Now()
	if _, err := a.Sync(ctx, bigItems(10000, now)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := blockCase(fmt.Sprintf("new-%d", i), now, time.Hour, fmt.Sprintf("192.168.%d.%d", (i>>8)&0xff, i&0xff))
		if err := a.Apply(ctx, c, c.Actions[0]); err != nil {
			b.Fatal(err)
		}
	}
}
