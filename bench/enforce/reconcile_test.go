package enforce

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/enforce/bgp"
	"github.com/acd-org/acd/enforce/crowdsec"
	"github.com/acd-org/acd/enforce/nft"
	"github.com/acd-org/acd/enforce/rpz"
	"github.com/acd-org/acd/peertest"
)

// items returns n actions in effect: 40 % blocks, 20 % FlowSpec drops,
// 10 % RTBH host routes, 30 % sinkholed domains, each its own case.
func items(n int, end time.Time) []enforce.Item {
	out := make([]enforce.Item, 0, n)
	for i := range n {
		var a cases.Action
		host := netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)})
		switch i % 10 {
		case 0, 1, 2, 3:
			a = cases.Action{Type: cases.ActionBlock, Target: cases.MustTarget(host.String())}
		case 4, 5:
			a = cases.Action{Type: cases.ActionFlowSpec, Target: cases.MustTarget(host.String())}
		case 6:
			own := netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})
			a = cases.Action{Type: cases.ActionRTBH, Target: cases.MustTarget(own.String())}
		default:
			a = cases.Action{Type: cases.ActionSinkhole, Target: cases.MustTarget(fmt.Sprintf("c2-%d.example", i))}
		}
		a.NotBefore, a.NotAfter = end.Add(-8*time.Hour), end
		c := cases.Case{ID: fmt.Sprintf("case-%05d", i), Version: 1, Actions: []cases.Action{a}, State: cases.StateActive}
		out = append(out, enforce.Item{Case: c, Index: 0, Action: a, Since: end.Add(-time.Hour)})
	}
	return out
}

// BenchmarkReconcile10k reconciles 10,000 actions in effect on the real
// adapters (nftables in a namespace the benchmark makes; BGP speaker and
// RPZ server on loopback, without peers) after a first run installed
// them: one op is one reconciliation that must find no drift at all.
func BenchmarkReconcile10k(b *testing.B) {
	ns := peertest.NewNetNS(b)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)

	cs, err := crowdsec.NewDecisions(crowdsec.DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	ncfg := nft.DefaultConfig()
	ncfg.NetNS = "/run/netns/" + ns.Name
	fw, err := nft.New(ncfg, nft.Deps{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	if err := fw.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = fw.Remove(ctx); _ = fw.Stop(ctx) })
	bcfg := bgp.DefaultConfig()
	bcfg.ASN, bcfg.RouterID = 65001, netip.MustParseAddr("10.255.0.1")
	bcfg.OwnedPrefixes = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}
	// A neighbor that is not there: the RIB is what is reconciled.
	bcfg.Neighbors = []bgp.Neighbor{{Address: netip.MustParseAddr("127.0.0.1"), Port: 9, ASN: 65000}}
	bcfg.ConnectRetry = time.Hour
	sp, err := bgp.New(bcfg, bgp.Deps{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	if err := sp.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sp.Stop)
	rcfg := rpz.DefaultConfig()
	rcfg.Listen = "127.0.0.1:0"
	zone, err := rpz.New(rcfg, rpz.Deps{Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	if err := zone.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = zone.Stop() })

	desired := items(10000, time.Now().Add(6*time.Hour))
	rails := enforce.DefaultRails()
	r := &enforce.Reconciler{
		Desired: func(context.Context) ([]enforce.Item, error) { return desired, nil },
		Adapters: map[enforce.ActionType]enforce.Adapter{cases.ActionBlock: enforce.Fanout{cs, fw},
			cases.ActionFlowSpec: sp, cases.ActionRTBH: sp, cases.ActionSinkhole: zone},
		Rails: &rails,
	}
	first := time.Now()
	rep := r.Run(ctx)
	if rep.Err != nil {
		b.Fatal(rep.Err)
	}
	installed := 0
	for _, a := range rep.Adapters {
		installed += a.Drift.Missing
	}
	b.Logf("first reconciliation: %d repairs (a block counts on both CrowdSec and nftables) for %d actions in %v", installed, len(desired), time.Since(first).Round(time.Millisecond))
	// Each adapter holds its share: 4,000 blocks (CrowdSec decisions;
	// nftables ranges, adjacent addresses merged), 3,000 BGP routes,
	// 3,000 RPZ triggers.
	st, err := sp.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	sets, err := peertest.NftSets(ns)
	if err != nil {
		b.Fatal(err)
	}
	if cs.Len() != 4000 || st.Routes != 3000 || len(sets[nft.Set4]) == 0 || countLines(zone.ZoneText(), "\tCNAME\t.") != 3000 {
		b.Fatalf("installed: %d decisions, %d routes, %d nftables ranges, %d RPZ triggers; %+v",
			cs.Len(), st.Routes, len(sets[nft.Set4]), countLines(zone.ZoneText(), "\tCNAME\t."), rep.Adapters)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep := r.Run(ctx)
		if rep.Err != nil {
			b.Fatal(rep.Err)
		}
		for _, a := range rep.Adapters {
			if a.Drift.Total() != 0 {
				b.Fatalf("%s drifted: %+v", a.Adapter, a.Drift)
			}
		}
	}
	b.ReportMetric(float64(len(desired)), "actions")
}

func countLines(text, sub string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}
