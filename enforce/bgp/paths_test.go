package bgp

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/acd-org/acd/cases"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func testBuilder(t *testing.T) builder {
	t.Helper()
	c := testConfig()
	c.Communities = []string{"65000:666"}
	b, err := newBuilder(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBuildGolden renders the route built for each action (NLRI, its
// wire encoding and the attributes) and compares it with
// testdata/routes.golden (go test -run TestBuildGolden -update rewrites
// it).
func TestBuildGolden(t *testing.T) {
	b := testBuilder(t)
	tcp, udp := uint8(6), uint8(17)
	for _, tc := range []struct {
		name string
		a    cases.Action
	}{
		{"rtbh v4", action(cases.ActionRTBH, "203.0.113.7", cases.Scope{})},
		{"rtbh v6", action(cases.ActionRTBH, "2001:db8:1::7", cases.Scope{})},
		{"flowspec v4 drop source", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{})},
		{"flowspec v4 drop prefix to destination", action(cases.ActionFlowSpec, "198.51.100.0/24", cases.Scope{
			Destination: cases.MustTarget("203.0.113.10")})},
		{"flowspec v4 rate tcp ports", action(cases.ActionFlowSpec, "198.51.100.0/24", cases.Scope{
			Destination: cases.MustTarget("203.0.113.0/24"), Protocol: tcp,
			Ports: []cases.PortRange{{From: 80, To: 80}, {From: 443, To: 443}, {From: 8000, To: 8080}}, RateBps: 125000})},
		{"flowspec v4 udp one range 1 MBps", action(cases.ActionFlowSpec, "198.51.100.9", cases.Scope{
			Protocol: udp, Ports: []cases.PortRange{{From: 1024, To: 65535}}, RateBps: 1_000_000})},
		{"flowspec v4 rate not exact in float32", action(cases.ActionFlowSpec, "198.51.100.9", cases.Scope{RateBps: 123_456_789})},
		{"flowspec v4 protocol only", action(cases.ActionFlowSpec, "198.51.100.9", cases.Scope{Protocol: 1})},
		{"flowspec v6 drop", action(cases.ActionFlowSpec, "2001:db8:66::/48", cases.Scope{
			Destination: cases.MustTarget("2001:db8:1::/64"), Protocol: udp, Ports: []cases.PortRange{{From: 53, To: 53}}})},
		{"flowspec v6 rate", action(cases.ActionFlowSpec, "2001:db8:66::1", cases.Scope{RateBps: 10_000})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := b.build(tc.a)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			wire, err := r.nlri.Serialize()
			if err != nil {
				t.Fatalf("serialize: %v", err)
			}
			got := fmt.Sprintf("# %s\n%s  nlri %s\n", tc.name, r.render(), hex.EncodeToString(wire))
			golden(t, filepath.Join("routes", strings.ReplaceAll(tc.name, " ", "_")+".golden"), got)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(got, string(want)); diff != "" {
		t.Errorf("%s (-got, +want):\n%s", path, diff)
	}
}

// TestBuildRefuses checks that what BGP cannot carry out as approved is
// refused.
func TestBuildRefuses(t *testing.T) {
	b := testBuilder(t)
	for _, tc := range []struct {
		name string
		a    cases.Action
		want string
	}{
		{"rtbh outside owned prefixes", action(cases.ActionRTBH, "198.51.100.7", cases.Scope{}), "outside the owned prefixes"},
		{"rtbh v6 outside owned prefixes", action(cases.ActionRTBH, "2001:db8:2::1", cases.Scope{}), "outside the owned prefixes"},
		{"rtbh wider than a host route", action(cases.ActionRTBH, "203.0.113.0/25", cases.Scope{}), "wider than a host route"},
		{"rtbh /127", action(cases.ActionRTBH, "2001:db8:1::/127", cases.Scope{}), "wider than a host route"},
		{"rtbh domain", action(cases.ActionRTBH, "evil.example", cases.Scope{}), "needs a host address"},
		{"rtbh with scope", action(cases.ActionRTBH, "203.0.113.7", cases.Scope{Protocol: 6}), "takes no scope"},
		{"flowspec domain target", action(cases.ActionFlowSpec, "evil.example", cases.Scope{}), "address or prefix source"},
		{"flowspec domain destination", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Destination: cases.MustTarget("evil.example")}), "not an address or prefix"},
		{"flowspec mixed families", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Destination: cases.MustTarget("2001:db8:1::1")}), "different families"},
		{"flowspec ports without protocol", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Ports: []cases.PortRange{{From: 80, To: 80}}}), "need protocol"},
		{"flowspec ports with icmp", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Protocol: 1, Ports: []cases.PortRange{{From: 80, To: 80}}}), "need protocol"},
		{"flowspec port 0", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Protocol: 6, Ports: []cases.PortRange{{From: 0, To: 80}}}), "port range 0-80"},
		{"flowspec reversed range", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Protocol: 6, Ports: []cases.PortRange{{From: 90, To: 80}}}), "port range 90-80"},
		{"flowspec huge rate", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{RateBps: math.MaxUint64}), "too large"},
		{"flowspec subdomains", action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{Subdomains: true}), "takes destination"},
		{"block", action(cases.ActionBlock, "198.51.100.7", cases.Scope{}), "only flowspec and rtbh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.build(tc.a)
			if err == nil {
				t.Fatal("built; want a refusal")
			}
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q: want ErrUnsupported mentioning %q", err, tc.want)
			}
		})
	}
}

func TestTrafficRate(t *testing.T) {
	for _, tc := range []struct {
		bps  uint64
		want float32
	}{
		{0, 0},
		{1, 1},
		{125000, 125000},
		{1 << 24, 1 << 24},
		{1<<24 + 1, 1 << 24}, // not exact: rounded down, never up
		{123_456_789, 123456784},
		{1<<63 - 1, math.Nextafter32(1<<63, 0)},
	} {
		got, err := trafficRate(tc.bps)
		if err != nil {
			t.Fatalf("trafficRate(%d): %v", tc.bps, err)
		}
		if got != tc.want {
			t.Errorf("trafficRate(%d) = %v, want %v", tc.bps, got, tc.want)
		}
		if uint64(got) > tc.bps {
			t.Errorf("trafficRate(%d) = %v is above the approved rate", tc.bps, got)
		}
	}
}

// TestFourByteASN: the traffic-rate ID is 0 when the ASN does not fit in
// 2 bytes; the marker keeps the full ASN.
func TestFourByteASN(t *testing.T) {
	c := testConfig()
	c.ASN = 4200000000
	b, err := newBuilder(c)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.build(action(cases.ActionFlowSpec, "198.51.100.7", cases.Scope{RateBps: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	got := signature(r.family, r.attrs)
	want := "extcommunities rate: 1000.000000; large 4200000000:8955:0" // GoBGP omits an ID of 0
	if got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	for _, a := range r.attrs {
		if ec, ok := a.(*bgp.PathAttributeExtendedCommunities); ok {
			if tr := ec.Value[0].(*bgp.TrafficRateExtended); tr.AS != 0 || tr.Rate != 1000 {
				t.Errorf("traffic rate %+v: want ID 0, rate 1000", tr)
			}
		}
	}
}
