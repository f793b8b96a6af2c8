package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen"
	"github.com/acd-org/acd/flowgen/scenario"
)

// The domestic spaces of the demo's two countries. Home's is the
// scenarios' own internal space; the ally's records are moved into its
// own space (and its attackers into their own block) by a remap.
var (
	demoHomeDomestic = []string{"198.18.0.0/15", "2001:db8:100::/48"}
	demoAllyDomestic = []string{"172.20.0.0/15", "2001:db8:200::/48"}
	// demoAllyRemap moves the ally's scenario into its own address plan:
	// its network, and its first attack's block (home's first attack uses
	// the same block of the scenarios' external space).
	demoAllyRemap = []prefixMap{
		{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("172.20.0.0/15")},
		{netip.MustParsePrefix("2001:db8:100::/48"), netip.MustParsePrefix("2001:db8:200::/48")},
		{netip.MustParsePrefix("100.65.0.0/16"), netip.MustParsePrefix("100.99.0.0/16")},
	}
)

// demoHomeScenario is home's traffic: a domestic network's background
// and four attacks that start within seconds. The C2 botnet (6 infected
// hosts beaconing every 3 s) runs until a block stops it.
func demoHomeScenario() scenario.Config {
	s := time.Second
	return scenario.Config{Name: "demo-home", Seed: 2026, Duration: 24 * time.Hour,
		Background: scenario.BackgroundConfig{Clients: 300, Servers: 2000, FlowsPerSecond: 80, IPv6: 0.2},
		Attacks: []scenario.Attack{
			{Kind: scenario.KindBeacon, Start: 2 * s, Interval: 3 * s, Jitter: 0.1, Sources: 6, Port: 443},
			{Kind: scenario.KindScanHorizontal, Start: 5 * s, Rate: 40, Targets: 30000, Port: 23},
			{Kind: scenario.KindBruteforce, Start: 10 * s, Rate: 2, Service: "ssh"},
			{Kind: scenario.KindReflection, Start: 20 * s, Duration: 3 * time.Minute, Rate: 400, Sources: 150, Service: "dns"},
		}}
}

// demoAllyScenario is the ally's traffic: its own network's background
// and a scanner sweeping it for SMB, which the ally detects and shares.
func demoAllyScenario() scenario.Config {
	return scenario.Config{Name: "demo-ally", Seed: 4711, Duration: 24 * time.Hour,
		Background: scenario.BackgroundConfig{Clients: 200, Servers: 1500, FlowsPerSecond: 40, IPv6: 0.1},
		Attacks: []scenario.Attack{
			{Kind: scenario.KindScanHorizontal, Start: 3 * time.Second, Rate: 40, Targets: 30000, Port: 445},
		}}
}

// prefixMap moves addresses of from into to (same length), keeping the
// host part.
type prefixMap struct{ from, to netip.Prefix }

// remap applies the first matching map to a.
func remap(maps []prefixMap, a flow.Addr) flow.Addr {
	ip := a.Netip().Unmap()
	for _, m := range maps {
		if !m.from.Contains(ip) || m.from.Bits() != m.to.Bits() || ip.Is4() != m.to.Addr().Is4() {
			continue
		}
		src, dst := ip.AsSlice(), m.to.Addr().AsSlice()
		bits := m.to.Bits()
		for i := range src {
			switch {
			case (i+1)*8 <= bits:
				src[i] = dst[i]
			case i*8 < bits:
				mask := byte(0xff) << (8 - (bits - i*8))
				src[i] = dst[i]&mask | src[i]&^mask
			}
		}
		out, _ := netip.AddrFromSlice(src)
		return flow.AddrFromNetip(out)
	}
	return a
}

// demoStream streams a scenario live to a collector over IPFIX; remap
// (may be nil) moves its addresses, obey (may be nil) drops the records
// of banned addresses.
type demoStream struct {
	name  string
	cfg   scenario.Config
	to    string
	remap []prefixMap
	obey  *obeyClient
}

// run streams until ctx ends; it returns nil then.
func (s *demoStream) run(ctx context.Context, onErr func(error)) error {
	cfg := s.cfg
	cfg.Start = time.Now().UTC().Truncate(time.Millisecond)
	gen, err := scenario.New(cfg)
	if err != nil {
		return fmt.Errorf("unable to make the %s scenario: %w", s.name, err)
	}
	enc, err := flowgen.NewEncoder(flow.FormatIPFIX, flowgen.EncoderConfig{})
	if err != nil {
		return fmt.Errorf("unable to make the %s encoder: %w", s.name, err)
	}
	w, err := flowgen.DialUDP(s.to, 0)
	if err != nil {
		return fmt.Errorf("unable to stream to the %s collector: %w", s.name, err)
	}
	defer w.Close()
	var keep func([]flow.Record, time.Time) []flow.Record
	if s.obey != nil {
		k, stop, err := s.obey.start(ctx, onErr)
		if err != nil {
			return fmt.Errorf("unable to obey %s's bans: %w", s.name, err)
		}
		defer stop()
		keep = k
	}
	if len(s.remap) > 0 {
		inner := keep
		keep = func(recs []flow.Record, now time.Time) []flow.Record {
			for i := range recs {
				recs[i].SrcAddr, recs[i].DstAddr = remap(s.remap, recs[i].SrcAddr), remap(s.remap, recs[i].DstAddr)
			}
			if inner != nil {
				return inner(recs, now)
			}
			return recs
		}
	}
	_, err = streamLive(ctx, gen, enc, w, keep, 0)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("the %s stream failed: %w", s.name, err)
	}
	return nil
}
