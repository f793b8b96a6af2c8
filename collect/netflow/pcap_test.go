package netflow

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
)

// datagram is one captured UDP payload with its sender and time.
type datagram struct {
	at      time.Time
	exp     flow.Exporter
	payload []byte
}

// readPcap returns the UDP datagrams of a classic pcap file (Ethernet,
// Linux cooked, raw IP or BSD loopback link types).
func readPcap(t testing.TB, path string) []datagram {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("unable to read %s: %v", path, err)
	}
	dgs, err := parsePcap(b)
	if err != nil {
		t.Fatalf("unable to parse %s: %v", path, err)
	}
	return dgs
}

func parsePcap(b []byte) ([]datagram, error) {
	if len(b) < 24 {
		return nil, fmt.Errorf("short pcap header")
	}
	var bo binary.ByteOrder
	nanos := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nanos = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nanos = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("not a classic pcap file")
	}
	link := bo.Uint32(b[20:]) & 0xffff
	var out []datagram
	for off := 24; off+16 <= len(b); {
		sec, frac, capLen := int64(bo.Uint32(b[off:])), int64(bo.Uint32(b[off+4:])), int(bo.Uint32(b[off+8:]))
		off += 16
		if off+capLen > len(b) {
			return out, fmt.Errorf("truncated record")
		}
		frame := b[off : off+capLen]
		off += capLen
		if !nanos {
			frac *= 1000
		}
		if dg, ok := udpOf(link, frame); ok {
			dg.at = time.Unix(sec, frac).UTC()
			out = append(out, dg)
		}
	}
	return out, nil
}

// udpOf extracts the UDP datagram of a frame.
func udpOf(link uint32, f []byte) (datagram, bool) {
	var ip []byte
	switch link {
	case 1: // Ethernet
		if len(f) < 14 {
			return datagram{}, false
		}
		et, p := binary.BigEndian.Uint16(f[12:]), f[14:]
		for (et == 0x8100 || et == 0x88a8) && len(p) >= 4 {
			et, p = binary.BigEndian.Uint16(p[2:]), p[4:]
		}
		ip = p
	case 113: // Linux cooked v1
		if len(f) < 16 {
			return datagram{}, false
		}
		ip = f[16:]
	case 276: // Linux cooked v2
		if len(f) < 20 {
			return datagram{}, false
		}
		ip = f[20:]
	case 0, 108: // BSD loopback
		if len(f) < 4 {
			return datagram{}, false
		}
		ip = f[4:]
	case 101, 12, 14: // raw IP
		ip = f
	default:
		return datagram{}, false
	}
	if len(ip) < 1 {
		return datagram{}, false
	}
	var dg datagram
	var udp []byte
	switch ip[0] >> 4 {
	case 4:
		ihl := int(ip[0]&15) * 4
		if len(ip) < ihl+8 || ihl < 20 || ip[9] != 17 {
			return datagram{}, false
		}
		dg.exp.Addr = flow.AddrFrom4Slice(ip[12:16])
		udp = ip[ihl:]
	case 6:
		if len(ip) < 48 || ip[6] != 17 {
			return datagram{}, false
		}
		dg.exp.Addr = flow.AddrFrom16Slice(ip[8:24])
		udp = ip[40:]
	default:
		return datagram{}, false
	}
	dg.exp.Port = binary.BigEndian.Uint16(udp)
	n := int(binary.BigEndian.Uint16(udp[4:]))
	if n < 8 || n > len(udp) {
		n = len(udp)
	}
	dg.payload = udp[8:n]
	return dg, true
}

// capturedFiles returns the pcap files in testdata; they are committed,
// so there must be some.
func capturedFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no captures in testdata")
	}
	return files
}
