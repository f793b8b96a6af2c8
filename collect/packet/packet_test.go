package packet

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Builders for test packets.

func eth(et uint16, tags ...uint32) []byte {
	b := make([]byte, 12, 64)
	for i := range b {
		b[i] = byte(i + 1)
	}
	for _, t := range tags { // tag = TPID<<16 | TCI
		b = binary.BigEndian.AppendUint32(b, t)
	}
	return binary.BigEndian.AppendUint16(b, et)
}

func ip4(proto uint8, src, dst string, opts int, fragOff uint16, l4 []byte) []byte {
	ihl := 20 + opts
	b := make([]byte, ihl, ihl+len(l4))
	b[0] = 0x40 | byte(ihl/4)
	binary.BigEndian.PutUint16(b[2:], uint16(ihl+len(l4)))
	binary.BigEndian.PutUint16(b[6:], fragOff)
	b[8] = 64
	b[9] = proto
	a, s := mustAddr(src), mustAddr(dst)
	copy(b[12:], a[12:])
	copy(b[16:], s[12:])
	for i := 20; i < ihl; i++ {
		b[i] = 1 // NOP options
	}
	return append(b, l4...)
}

func ip6(next uint8, src, dst string, rest []byte) []byte {
	b := make([]byte, 40, 40+len(rest))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(rest)))
	b[6] = next
	b[7] = 64
	a, s := mustAddr(src), mustAddr(dst)
	copy(b[8:], a[:])
	copy(b[24:], s[:])
	return append(b, rest...)
}

// ext returns an IPv6 extension header of the generic format with n
// 8-octet units after the first.
func ext(next uint8, n uint8) []byte {
	b := make([]byte, (int(n)+1)*8)
	b[0], b[1] = next, n
	return b
}

func tcp(sport, dport uint16, flags uint8) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	b[12] = 0x50
	b[13] = flags
	return b
}

func udp(sport, dport uint16) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func mustAddr(s string) flow.Addr {
	var a flow.Addr
	if err := a.UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return a
}

func TestParseEthernet(t *testing.T) {
	v4tcp := ip4(6, "192.0.2.1", "198.51.100.2", 0, 0, tcp(40000, 443, flow.TCPSyn|flow.TCPAck))
	v6udp := ip6(17, "2001:db8::1", "2001:db8::2", udp(5353, 53))
	cases := []struct {
		name string
		in   []byte
		want Header
		err  error
	}{
		{
			name: "ipv4 tcp",
			in:   cat(eth(0x0800), v4tcp),
			want: Header{Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.2"), SrcPort: 40000, DstPort: 443,
				Proto: 6, TCPFlags: 0x12, IPLen: 40, IPVersion: 4, L3Offset: 14},
		}, {
			name: "802.1q",
			in:   cat(eth(0x0800, 0x81002064), v4tcp),
			want: Header{Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.2"), SrcPort: 40000, DstPort: 443,
				Proto: 6, TCPFlags: 0x12, IPLen: 40, VLAN: 100, IPVersion: 4, L3Offset: 18},
		}, {
			name: "qinq 88a8 keeps outer vlan",
			in:   cat(eth(0x86dd, 0x88a800c8, 0x8100000a), v6udp),
			want: Header{Src: mustAddr("2001:db8::1"), Dst: mustAddr("2001:db8::2"), SrcPort: 5353, DstPort: 53,
				Proto: 17, IPLen: 48, VLAN: 200, IPVersion: 6, L3Offset: 22},
		}, {
			name: "qinq 9100",
			in:   cat(eth(0x0800, 0x91000fff, 0x81000001), v4tcp),
			want: Header{Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.2"), SrcPort: 40000, DstPort: 443,
				Proto: 6, TCPFlags: 0x12, IPLen: 40, VLAN: 4095, IPVersion: 4, L3Offset: 22},
		}, {
			name: "ipv4 options udp",
			in:   cat(eth(0x0800), ip4(17, "10.0.0.1", "10.0.0.2", 8, 0x4000, udp(1, 2))),
			want: Header{Src: mustAddr("10.0.0.1"), Dst: mustAddr("10.0.0.2"), SrcPort: 1, DstPort: 2,
				Proto: 17, IPLen: 36, IPVersion: 4, L3Offset: 14},
		}, {
			name: "ipv4 first fragment has ports",
			in:   cat(eth(0x0800), ip4(17, "10.0.0.1", "10.0.0.2", 0, 0x2000, udp(1, 2))),
			want: Header{Src: mustAddr("10.0.0.1"), Dst: mustAddr("10.0.0.2"), SrcPort: 1, DstPort: 2,
				Proto: 17, IPLen: 28, IPVersion: 4, L3Offset: 14},
		}, {
			name: "ipv4 non-first fragment",
			in:   cat(eth(0x0800), ip4(17, "10.0.0.1", "10.0.0.2", 0, 0x00b9, udp(1, 2))),
			want: Header{Src: mustAddr("10.0.0.1"), Dst: mustAddr("10.0.0.2"),
				Proto: 17, IPLen: 28, Fragment: true, IPVersion: 4, L3Offset: 14},
		}, {
			name: "icmp",
			in:   cat(eth(0x0800), ip4(1, "10.0.0.1", "10.0.0.2", 0, 0, []byte{3, 13, 0, 0, 0, 0, 0, 0})),
			want: Header{Src: mustAddr("10.0.0.1"), Dst: mustAddr("10.0.0.2"), DstPort: 3<<8 | 13,
				Proto: 1, IPLen: 28, IPVersion: 4, L3Offset: 14},
		}, {
			name: "icmpv6",
			in:   cat(eth(0x86dd), ip6(58, "::1", "::2", []byte{128, 0, 0, 0, 0, 1, 0, 1})),
			want: Header{Src: mustAddr("::1"), Dst: mustAddr("::2"), DstPort: 128 << 8,
				Proto: 58, IPLen: 48, IPVersion: 6, L3Offset: 14},
		}, {
			name: "gre keeps proto only",
			in:   cat(eth(0x0800), ip4(47, "10.0.0.1", "10.0.0.2", 0, 0, []byte{0, 0, 8, 0})),
			want: Header{Src: mustAddr("10.0.0.1"), Dst: mustAddr("10.0.0.2"), Proto: 47, IPLen: 24, IPVersion: 4, L3Offset: 14},
		}, {
			name: "ipv6 extension chain",
			in: cat(eth(0x86dd), ip6(0, "2001:db8::1", "2001:db8::2", cat(
				ext(43, 0), ext(60, 1), ext(44, 0)[:0], []byte{51, 0, 0, 1, 0, 0, 0, 9}, // fragment offset 0, M=1
				[]byte{6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, tcp(50000, 22, flow.TCPSyn)))),
			want: Header{Src: mustAddr("2001:db8::1"), Dst: mustAddr("2001:db8::2"), SrcPort: 50000, DstPort: 22,
				Proto: 6, TCPFlags: 2, IPLen: 40 + 8 + 16 + 8 + 12 + 20, IPVersion: 6, L3Offset: 14},
		}, {
			name: "ipv6 non-first fragment",
			in:   cat(eth(0x86dd), ip6(44, "::1", "::2", cat([]byte{17, 0, 0x05, 0x00, 0, 0, 0, 1}, udp(1, 2)))),
			want: Header{Src: mustAddr("::1"), Dst: mustAddr("::2"), Proto: 17, IPLen: 56, Fragment: true, IPVersion: 6, L3Offset: 14},
		}, {
			name: "ipv6 esp stops",
			in:   cat(eth(0x86dd), ip6(50, "::1", "::2", make([]byte, 16))),
			want: Header{Src: mustAddr("::1"), Dst: mustAddr("::2"), Proto: 50, IPLen: 56, IPVersion: 6, L3Offset: 14},
		}, {
			name: "ipv6 no next header",
			in:   cat(eth(0x86dd), ip6(0, "::1", "::2", ext(59, 0))),
			want: Header{Src: mustAddr("::1"), Dst: mustAddr("::2"), Proto: 59, IPLen: 48, IPVersion: 6, L3Offset: 14},
		}, {
			name: "truncated tcp keeps ports",
			in:   cat(eth(0x0800), v4tcp)[:14+20+6],
			want: Header{Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.2"), SrcPort: 40000, DstPort: 443,
				Proto: 6, IPLen: 40, IPVersion: 4, L3Offset: 14, Truncated: true},
		}, {
			name: "truncated before ports",
			in:   cat(eth(0x86dd), v6udp)[:14+40+2],
			want: Header{Src: mustAddr("2001:db8::1"), Dst: mustAddr("2001:db8::2"),
				Proto: 17, IPLen: 48, IPVersion: 6, L3Offset: 14, Truncated: true},
		}, {
			name: "truncated ipv4 options",
			in:   cat(eth(0x0800), ip4(6, "10.0.0.1", "10.0.0.2", 40, 0, tcp(1, 2, 0)))[:14+30],
			want: Header{Src: mustAddr("10.0.0.1"), Dst: mustAddr("10.0.0.2"),
				Proto: 6, IPLen: 80, IPVersion: 4, L3Offset: 14, Truncated: true},
		}, {
			name: "truncated ipv6 extension",
			in:   cat(eth(0x86dd), ip6(0, "::1", "::2", cat(ext(6, 2), tcp(1, 2, 0))))[:14+40+10],
			want: Header{Src: mustAddr("::1"), Dst: mustAddr("::2"), Proto: 0, IPLen: 84, IPVersion: 6, L3Offset: 14, Truncated: true},
		}, {
			name: "mpls",
			in:   cat(eth(0x8847), []byte{0, 1, 0, 64, 0, 2, 1, 64}, v4tcp),
			want: Header{Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.2"), SrcPort: 40000, DstPort: 443,
				Proto: 6, TCPFlags: 0x12, IPLen: 40, IPVersion: 4, L3Offset: 22},
		}, {
			name: "pppoe",
			in:   cat(eth(0x8864), []byte{0x11, 0, 0, 1, 0, 42, 0, 0x57}, v6udp),
			want: Header{Src: mustAddr("2001:db8::1"), Dst: mustAddr("2001:db8::2"), SrcPort: 5353, DstPort: 53,
				Proto: 17, IPLen: 48, IPVersion: 6, L3Offset: 22},
		}, {
			name: "llc snap",
			in:   cat(eth(48), []byte{0xaa, 0xaa, 3, 0, 0, 0, 8, 0}, v4tcp),
			want: Header{Src: mustAddr("192.0.2.1"), Dst: mustAddr("198.51.100.2"), SrcPort: 40000, DstPort: 443,
				Proto: 6, TCPFlags: 0x12, IPLen: 40, IPVersion: 4, L3Offset: 22},
		},
		{name: "arp", in: cat(eth(0x0806), make([]byte, 28)), err: ErrNotIP},
		{name: "llc not snap", in: cat(eth(46), []byte{0x42, 0x42, 3}, make([]byte, 43)), err: ErrNotIP},
		{name: "short ethernet", in: eth(0x0800)[:13], err: ErrTruncated},
		{name: "short vlan", in: eth(0x8100)[:16], err: ErrTruncated},
		{name: "short ipv4", in: cat(eth(0x0800), v4tcp[:19]), err: ErrTruncated},
		{name: "short ipv6", in: cat(eth(0x86dd), v6udp[:39]), err: ErrTruncated},
		{name: "empty ip", in: eth(0x0800), err: ErrTruncated},
		{name: "bad version", in: cat(eth(0x0800), []byte{0x55}, make([]byte, 40)), err: ErrBadIPHeader},
		{name: "bad ihl", in: cat(eth(0x0800), []byte{0x44}, make([]byte, 40)), err: ErrBadIPHeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h Header
			h.Proto = 99 // ParseEthernet must reset h
			err := ParseEthernet(tc.in, &h)
			if !errors.Is(err, tc.err) {
				t.Fatalf("ParseEthernet() error = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(h, tc.want); diff != "" {
				t.Errorf("ParseEthernet() (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestParseLink(t *testing.T) {
	v4 := ip4(17, "192.0.2.1", "192.0.2.2", 0, 0, udp(7, 9))
	v6 := ip6(6, "2001:db8::1", "2001:db8::2", tcp(7, 9, flow.TCPFin))
	want4 := Header{Src: mustAddr("192.0.2.1"), Dst: mustAddr("192.0.2.2"), SrcPort: 7, DstPort: 9, Proto: 17, IPLen: 28, IPVersion: 4}
	want6 := Header{Src: mustAddr("2001:db8::1"), Dst: mustAddr("2001:db8::2"), SrcPort: 7, DstPort: 9, Proto: 6, TCPFlags: 1, IPLen: 60, IPVersion: 6}
	with := func(h Header, off uint16, vlan uint16) Header { h.L3Offset, h.VLAN = off, vlan; return h }
	sll := func(et uint16) []byte { b := make([]byte, 16); binary.BigEndian.PutUint16(b[14:], et); return b }
	sll2 := func(et uint16) []byte { b := make([]byte, 20); binary.BigEndian.PutUint16(b[0:], et); return b }
	cases := []struct {
		name string
		link uint32
		in   []byte
		want Header
		err  error
	}{
		{"ethernet", LinkTypeEthernet, cat(eth(0x0800), v4), with(want4, 14, 0), nil},
		{"raw 101", LinkTypeRaw, v6, want6, nil},
		{"raw 12", LinkTypeRawDLT, v4, want4, nil},
		{"raw 14", LinkTypeRawDLT14, v6, want6, nil},
		{"ipv4", LinkTypeIPv4, v4, want4, nil},
		{"null", LinkTypeNull, cat([]byte{2, 0, 0, 0}, v4), with(want4, 4, 0), nil},
		{"null ipv6", LinkTypeNull, cat([]byte{30, 0, 0, 0}, v6), with(want6, 4, 0), nil},
		{"loop", LinkTypeLoop, cat([]byte{0, 0, 0, 24}, v6), with(want6, 4, 0), nil},
		{"sll", LinkTypeLinuxSLL, cat(sll(0x0800), v4), with(want4, 16, 0), nil},
		{"sll vlan", LinkTypeLinuxSLL, cat(sll(0x8100), []byte{0, 5, 0x86, 0xdd}, v6), with(want6, 20, 5), nil},
		{"sll2", LinkTypeLinuxSLL2, cat(sll2(0x86dd), v6), with(want6, 20, 0), nil},
		{"sll arp", LinkTypeLinuxSLL, cat(sll(0x0806), make([]byte, 28)), Header{}, ErrNotIP},
		{"sll short", LinkTypeLinuxSLL, make([]byte, 15), Header{}, ErrTruncated},
		{"sll2 short", LinkTypeLinuxSLL2, make([]byte, 19), Header{}, ErrTruncated},
		{"null short", LinkTypeNull, make([]byte, 3), Header{}, ErrTruncated},
		{"unknown", 147, v4, Header{}, ErrUnsupportedLink},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h Header
			err := ParseLink(tc.link, tc.in, &h)
			if !errors.Is(err, tc.err) {
				t.Fatalf("ParseLink() error = %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(h, tc.want); err == nil && diff != "" {
				t.Errorf("ParseLink() (-got, +want):\n%s", diff)
			}
		})
	}
}

// readPcap returns the link type and the packets of a classic pcap file.
func readPcap(t testing.TB, path string) (uint32, [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("unable to read pcap: %v", err)
	}
	if len(b) < 24 {
		t.Fatalf("%s: short pcap", path)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		t.Fatalf("%s: not a pcap file", path)
	}
	link := bo.Uint32(b[20:]) & 0x0fffffff
	var pkts [][]byte
	for off := 24; off+16 <= len(b); {
		n := int(bo.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			t.Fatalf("%s: truncated record", path)
		}
		pkts = append(pkts, b[off:off+n])
		off += n
	}
	return link, pkts
}

// goldenHeader is the JSON form of a parse result.
type goldenHeader struct {
	Header
	Err string `json:",omitempty"`
}

func TestGoldenPcaps(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.pcap")
	if len(files) == 0 {
		t.Fatal("no pcap in testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			link, pkts := readPcap(t, f)
			got := make([]goldenHeader, len(pkts))
			for i, p := range pkts {
				if err := ParseLink(link, p, &got[i].Header); err != nil {
					got[i].Err = err.Error()
				}
			}
			golden := f + ".golden.json"
			if *update {
				b, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("unable to read golden (run with -update): %v", err)
			}
			var want []goldenHeader
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("parse of %s (-got, +want):\n%s", f, diff)
			}
		})
	}
}

// TestTruncationNeverFails checks that every prefix of a real packet either
// parses or fails with ErrTruncated, and that a successful parse only ever
// reports fields that the full packet reports too.
func TestTruncationNeverFails(t *testing.T) {
	link, pkts := readPcap(t, "testdata/loopback.pcap")
	for i, p := range pkts {
		var full Header
		if err := ParseLink(link, p, &full); err != nil {
			continue
		}
		for n := range len(p) {
			var h Header
			err := ParseLink(link, p[:n], &h)
			if err != nil {
				if err != ErrTruncated {
					t.Fatalf("packet %d cut at %d: error %v, want %v", i, n, err, ErrTruncated)
				}
				continue
			}
			if h.Src != full.Src || h.Dst != full.Dst || h.IPLen != full.IPLen {
				t.Fatalf("packet %d cut at %d: addresses or length differ", i, n)
			}
			if !h.Truncated && h != full {
				t.Fatalf("packet %d cut at %d: not truncated but differs: %+v vs %+v", i, n, h, full)
			}
		}
	}
}

func FuzzParseLink(f *testing.F) {
	link, pkts := readPcap(f, "testdata/loopback.pcap")
	for _, p := range pkts {
		f.Add(link, p)
		f.Add(uint32(LinkTypeRaw), p[14:])
	}
	f.Fuzz(func(t *testing.T, link uint32, b []byte) {
		var h Header
		err := ParseLink(link%300, b, &h)
		if err != nil {
			var de *flow.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *flow.DecodeError", err)
			}
			return
		}
		if h.IPVersion != 4 && h.IPVersion != 6 {
			t.Fatalf("success without an IP version: %+v", h)
		}
		if int(h.L3Offset) >= len(b) {
			t.Fatalf("L3Offset %d past the end (%d bytes)", h.L3Offset, len(b))
		}
		if h.Fragment && (h.SrcPort != 0 || h.DstPort != 0) {
			t.Fatalf("fragment with ports: %+v", h)
		}
	})
}

func BenchmarkParseEthernet(b *testing.B) {
	for _, tc := range []struct {
		name string
		pkt  []byte
	}{
		{"ipv4-tcp", cat(eth(0x0800), ip4(6, "192.0.2.1", "198.51.100.2", 0, 0, tcp(40000, 443, 0x12)))},
		{"vlan-ipv6-udp", cat(eth(0x86dd, 0x81000064), ip6(17, "2001:db8::1", "2001:db8::2", udp(5353, 53)))},
		{"ipv6-ext-tcp", cat(eth(0x86dd), ip6(0, "2001:db8::1", "2001:db8::2", cat(ext(60, 0), ext(6, 0), tcp(1, 2, 2))))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var h Header
			b.ReportAllocs()
			for b.Loop() {
				if err := ParseEthernet(tc.pkt, &h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleParseEthernet() {
	frame := cat(eth(0x0800, 0x8100000a), ip4(6, "192.0.2.1", "198.51.100.2", 0, 0, tcp(40000, 443, flow.TCPSyn)))
	var h Header
	if err := ParseEthernet(frame, &h); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Src, h.SrcPort, "->", h.Dst, h.DstPort, "proto", h.Proto, "vlan", h.VLAN, "flags", h.TCPFlags)
	// Output: 192.0.2.1 40000 -> 198.51.100.2 443 proto 6 vlan 10 flags 2
}
