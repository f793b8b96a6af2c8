package flowgen

import (
	"net/netip"
	"testing"

	"github.com/acd-org/acd/flow"
	gocmp "github.com/google/go-cmp/cmp"
)

func TestMixDeterministic(t *testing.T) {
	a := mixRecords(t, MixConfig{Seed: 42, IPv6: 0.2}, 500, testNow)
	b := mixRecords(t, MixConfig{Seed: 42, IPv6: 0.2}, 500, testNow)
	c := mixRecords(t, MixConfig{Seed: 43, IPv6: 0.2}, 500, testNow)
	if diff := gocmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different records (-got, +want):\n%s", diff)
	}
	if gocmp.Equal(a, c) {
		t.Error("different seeds, same records")
	}
}

func TestMixShares(t *testing.T) {
	cases := []struct {
		name                 string
		cfg                  MixConfig
		tcp, udp, icmp, ipv6 float64
	}{
		{"defaults", MixConfig{Seed: 1}, 0.70, 0.25, 0.05, 0},
		{"udp heavy v6", MixConfig{Seed: 2, TCP: 10, UDP: 80, ICMP: 10, IPv6: 0.5}, 0.10, 0.80, 0.10, 0.5},
		{"icmp only", MixConfig{Seed: 3, ICMP: 1, IPv6: 1}, 0, 0, 1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20000
			recs := mixRecords(t, tc.cfg, n, testNow)
			var tcp, udp, icmp, v6 float64
			for _, r := range recs {
				switch r.Proto {
				case 6:
					tcp++
				case 17:
					udp++
				case 1, 58:
					icmp++
					if (r.Proto == 58) != !r.SrcAddr.Is4() {
						t.Fatalf("ICMP protocol %d for %v", r.Proto, r.SrcAddr)
					}
				default:
					t.Fatalf("protocol %d", r.Proto)
				}
				if !r.SrcAddr.Is4() {
					v6++
				}
				checkRecord(t, r)
			}
			for _, s := range []struct {
				name      string
				got, want float64
			}{{"tcp", tcp / n, tc.tcp}, {"udp", udp / n, tc.udp}, {"icmp", icmp / n, tc.icmp}, {"ipv6", v6 / n, tc.ipv6}} {
				if s.got < s.want-0.02 || s.got > s.want+0.02 {
					t.Errorf("%s share %.3f, want %.2f", s.name, s.got, s.want)
				}
			}
		})
	}
}

// checkRecord checks a generated record is plausible.
func checkRecord(t *testing.T, r flow.Record) {
	t.Helper()
	now := testNow.UnixMilli()
	switch {
	case r.Start > r.End || r.End > now || r.End < now-10_000 || r.Start < now-130_000:
		t.Errorf("times %d..%d, now %d", r.Start, r.End, now)
	case r.Packets == 0 || r.Bytes < r.Packets*28 || r.Bytes > r.Packets*1500:
		t.Errorf("%d packets, %d bytes", r.Packets, r.Bytes)
	case r.SrcAddr.Is4() != r.DstAddr.Is4() || r.SrcAddr.IsZero() || r.DstAddr.IsZero():
		t.Errorf("addresses %v -> %v", r.SrcAddr, r.DstAddr)
	case r.InIf == 0 || r.OutIf == 0 || r.InIf == r.OutIf:
		t.Errorf("interfaces %d -> %d", r.InIf, r.OutIf)
	case r.Proto != 6 && r.TCPFlags != 0:
		t.Errorf("TCP flags %#x on protocol %d", r.TCPFlags, r.Proto)
	}
}

func TestMixCardinality(t *testing.T) {
	cfg := MixConfig{Seed: 5, Sources: 30, Destinations: 7, Ports: 3, Reverse: -1, IPv6: 0.5}
	recs := mixRecords(t, cfg, 5000, testNow)
	srcs, dsts, ports := map[flow.Addr]bool{}, map[flow.Addr]bool{}, map[[2]uint16]bool{}
	for _, r := range recs {
		srcs[r.SrcAddr], dsts[r.DstAddr] = true, true
		if r.Proto == 6 || r.Proto == 17 {
			ports[[2]uint16{uint16(r.Proto), r.DstPort}] = true
		}
	}
	// Per family: 30 sources and 7 destinations, 3 ports per protocol.
	if len(srcs) != 60 || len(dsts) != 14 || len(ports) != 6 {
		t.Errorf("%d sources, %d destinations, %d ports; want 60, 14, 6", len(srcs), len(dsts), len(ports))
	}
}

func TestMixConfigErrors(t *testing.T) {
	for _, cfg := range []MixConfig{{TCP: -1}, {IPv6: 1.5}, {Sources: -1}, {SrcPrefix4: mustPrefix("2001:db8::/32")}} {
		if _, err := NewMix(cfg); err == nil {
			t.Errorf("NewMix(%+v) succeeded", cfg)
		}
	}
}

func TestParseProtocols(t *testing.T) {
	cases := []struct {
		in            string
		tcp, udp, icm float64
		ok            bool
	}{
		{"tcp=70,udp=25,icmp=5", 70, 25, 5, true},
		{"udp=1", 0, 1, 0, true},
		{" TCP=2 , icmp=1", 2, 0, 1, true},
		{"tcp", 0, 0, 0, false},
		{"sctp=1", 0, 0, 0, false},
		{"tcp=-1", 0, 0, 0, false},
		{"tcp=0", 0, 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var c MixConfig
			err := c.ParseProtocols(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("error %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (c.TCP != tc.tcp || c.UDP != tc.udp || c.ICMP != tc.icm) {
				t.Errorf("got %v/%v/%v", c.TCP, c.UDP, c.ICMP)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	cases := map[string]flow.Format{"v5": flow.FormatNetFlowV5, "V9": flow.FormatNetFlowV9,
		"netflow-v9": flow.FormatNetFlowV9, "ipfix": flow.FormatIPFIX, "sflow": flow.FormatSFlow}
	for in, want := range cases {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseFormat("pcap"); err == nil {
		t.Error("ParseFormat(pcap) succeeded")
	}
	if _, err := NewEncoder(flow.FormatPcap, EncoderConfig{}); err == nil {
		t.Error("NewEncoder(pcap) succeeded")
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
