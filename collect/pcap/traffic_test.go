package pcap

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/acd-org/acd/flow"
)

// trafficFiles returns the shared traffic captures, failing the test if
// there are none (they are committed). With edgeCases it adds the packet package's capture of
// unusual framings (LLC/SNAP, QinQ, ...), which gopacket decodes
// differently.
func trafficFiles(t testing.TB, edgeCases bool) []string {
	t.Helper()
	globs := []string{"../../testdata/traffic/*.pcap", "../../testdata/traffic/*.pcapng", "../../testdata/traffic/*.pcap.gz"}
	if edgeCases {
		globs = append(globs, "../packet/testdata/*.pcap", "../packet/testdata/*.pcapng")
	}
	var files []string
	for _, g := range globs {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no traffic captures")
	}
	return files
}

// reference counts the IP packets and layer-3 bytes of a classic pcap
// file with gopacket's own decoders: an oracle independent of
// collect/packet.
func reference(t *testing.T, data []byte) (pkts, ipBytes uint64, keys map[flowKey]bool) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Skipf("not a classic pcap: %v", err)
	}
	keys = map[flowKey]bool{}
	for {
		b, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(b, r.LinkType(), gopacket.Default)
		var k flowKey
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			ipBytes += uint64(ip.Length)
			k.src, k.dst = flow.AddrFrom4Slice(ip.SrcIP.To4()), flow.AddrFrom4Slice(ip.DstIP.To4())
		case *layers.IPv6:
			ipBytes += uint64(ip.Length) + 40
			k.src, k.dst = flow.AddrFrom16Slice(ip.SrcIP), flow.AddrFrom16Slice(ip.DstIP)
		default:
			continue
		}
		pkts++
		switch l4 := p.TransportLayer().(type) {
		case *layers.TCP:
			k.sport, k.dport, k.proto = uint16(l4.SrcPort), uint16(l4.DstPort), 6
		case *layers.UDP:
			k.sport, k.dport, k.proto = uint16(l4.SrcPort), uint16(l4.DstPort), 17
		}
		if k.proto != 0 {
			keys[k] = true
		}
	}
	return pkts, ipBytes, keys
}

// TestTrafficTotals meters the shared traffic captures and checks the
// totals against gopacket's decoding and against the records.
func TestTrafficTotals(t *testing.T) {
	for _, f := range trafficFiles(t, false) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m, r := newTestMeter(t, Config{}, 0)
			if err := m.Read(context.Background(), f, bytes.NewReader(data), nil); err != nil {
				t.Fatalf("Read() error = %v", err)
			}
			st := m.Stats()
			var recPkts, recBytes uint64
			seen := map[flowKey]bool{}
			for _, rc := range r.records {
				recPkts += rc.Packets
				recBytes += rc.Bytes
				seen[flowKey{rc.SrcAddr, rc.DstAddr, rc.SrcPort, rc.DstPort, rc.Proto}] = true
				if rc.Start > rc.End || rc.Packets == 0 || rc.Format != flow.FormatPcap {
					t.Errorf("implausible record %+v", rc)
				}
			}
			if recPkts != st.Metered || recBytes != st.Bytes || uint64(len(r.records)) != st.Flows {
				t.Errorf("records hold %d packets %d bytes in %d flows; stats say %d, %d, %d",
					recPkts, recBytes, len(r.records), st.Metered, st.Bytes, st.Flows)
			}
			if st.Metered+st.ErrorCount() != st.Packets {
				t.Errorf("metered %d + errors %v != packets %d", st.Metered, st.Errors, st.Packets)
			}
			wantPkts, wantBytes, keys := reference(t, data)
			if st.Metered != wantPkts || st.Bytes != wantBytes {
				t.Errorf("metered %d packets, %d bytes; gopacket finds %d IP packets, %d bytes", st.Metered, st.Bytes, wantPkts, wantBytes)
			}
			for k := range keys {
				if !seen[k] {
					t.Errorf("no flow for TCP/UDP 5-tuple %v:%d > %v:%d/%d", k.src, k.sport, k.dst, k.dport, k.proto)
				}
			}
		})
	}
}
