package pcap

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/collect/packet"
	"github.com/acd-org/acd/collect/pcap/pcaptest"
	"github.com/acd-org/acd/flow"
)

// testPackets is a small mixed capture: TCP handshake and teardown over
// IPv4, UDP over IPv6, ICMP, a VLAN-tagged packet, spread over more than
// an idle timeout.
func testPackets() []pcaptest.Packet {
	a, b := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("203.0.113.5")
	c, d := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::53")
	base := time.Date(2025, 5, 16, 9, 30, 0, 123_456_789, time.UTC)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	return []pcaptest.Packet{
		{Time: at(0), Src: a, Dst: b, SrcPort: 40000, DstPort: 443, Proto: 6, Flags: flow.TCPSyn},
		{Time: at(1), Src: b, Dst: a, SrcPort: 443, DstPort: 40000, Proto: 6, Flags: flow.TCPSyn | flow.TCPAck},
		{Time: at(2), Src: a, Dst: b, SrcPort: 40000, DstPort: 443, Proto: 6, Flags: flow.TCPAck},
		{Time: at(3), Src: a, Dst: b, SrcPort: 40000, DstPort: 443, Proto: 6, Flags: flow.TCPAck | flow.TCPPsh, Payload: 517},
		{Time: at(40), Src: b, Dst: a, SrcPort: 443, DstPort: 40000, Proto: 6, Flags: flow.TCPAck | flow.TCPPsh, Payload: 1400},
		{Time: at(50), Src: c, Dst: d, SrcPort: 5353, DstPort: 53, Proto: 17, Payload: 33},
		{Time: at(60), Src: d, Dst: c, SrcPort: 53, DstPort: 5353, Proto: 17, Payload: 120},
		{Time: at(70), Src: a, Dst: b, Proto: 1, DstPort: 0x0800, Payload: 56, VLAN: 7},
		{Time: at(80), Src: a, Dst: b, SrcPort: 40000, DstPort: 443, Proto: 6, Flags: flow.TCPFin | flow.TCPAck},
		{Time: at(90), Src: b, Dst: a, SrcPort: 443, DstPort: 40000, Proto: 6, Flags: flow.TCPRst},
		{Time: at(20_000), Src: c, Dst: d, SrcPort: 5353, DstPort: 53, Proto: 17, Payload: 40},
	}
}

// expectRecords meters pkts from their description, without any capture
// file: the oracle for the file tests.
func expectRecords(t *testing.T, pkts []pcaptest.Packet) []flow.Record {
	t.Helper()
	m, r := newTestMeter(t, Config{}, 0)
	for _, p := range pkts {
		ip, err := pcaptest.IP(p)
		if err != nil {
			t.Fatal(err)
		}
		h := packet.Header{Src: flow.AddrFromNetip(p.Src), Dst: flow.AddrFromNetip(p.Dst), SrcPort: p.SrcPort,
			DstPort: p.DstPort, Proto: p.Proto, TCPFlags: p.Flags, IPLen: uint32(len(ip))}
		m.Add(p.Time.UnixNano(), &h)
	}
	m.Flush()
	return r.records
}

func pcapBytes(t *testing.T, link uint32, nanos bool, pkts []pcaptest.Packet) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, link, nanos, pkts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadFormats(t *testing.T) {
	pkts := testPackets()
	want := expectRecords(t, pkts)
	ng := func(links []uint32) []byte {
		var ngp []pcaptest.NGPacket
		for i, p := range pkts {
			ngp = append(ngp, pcaptest.NGPacket{Iface: i % len(links), Packet: p})
		}
		var buf bytes.Buffer
		if err := pcaptest.WritePcapNG(&buf, links, ngp); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	tests := []struct {
		name   string
		file   []byte
		format string
	}{
		{"pcap ethernet", pcapBytes(t, pcaptest.LinkEthernet, false, pkts), FormatPcap},
		{"pcap nanoseconds", pcapBytes(t, pcaptest.LinkEthernet, true, pkts), FormatPcap},
		{"pcap raw", pcapBytes(t, pcaptest.LinkRaw, false, pkts), FormatPcap},
		{"pcap null", pcapBytes(t, pcaptest.LinkNull, false, pkts), FormatPcap},
		{"pcap linux sll", pcapBytes(t, pcaptest.LinkLinuxSLL, false, pkts), FormatPcap},
		{"pcap linux sll2", pcapBytes(t, pcaptest.LinkLinuxSLL2, true, pkts), FormatPcap},
		{"pcap gzip", gzipBytes(t, pcapBytes(t, pcaptest.LinkEthernet, false, pkts)), FormatPcap},
		{"pcapng one interface", ng([]uint32{pcaptest.LinkEthernet}), FormatPcapNG},
		{"pcapng mixed link types", ng([]uint32{pcaptest.LinkEthernet, pcaptest.LinkRaw, pcaptest.LinkLinuxSLL2}), FormatPcapNG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := NewReader(bytes.NewReader(tt.file), nil)
			if err != nil {
				t.Fatalf("NewReader() error = %v", err)
			}
			if rd.Format() != tt.format {
				t.Errorf("Format() = %q, want %q", rd.Format(), tt.format)
			}
			m, r := newTestMeter(t, Config{}, 0)
			var last int64
			progress := func(n int64) { last = n }
			if err := m.Read(context.Background(), tt.name, bytes.NewReader(tt.file), progress); err != nil {
				t.Fatalf("Read() error = %v", err)
			}
			if diff := cmp.Diff(r.records, want); diff != "" {
				t.Errorf("records mismatch (-got, +want):\n%s", diff)
			}
			st := m.Stats()
			if st.Packets != uint64(len(pkts)) || st.Metered != uint64(len(pkts)) || st.ErrorCount() != 0 {
				t.Errorf("packets/metered/errors = %d/%d/%v, want %d/%d/0", st.Packets, st.Metered, st.Errors, len(pkts), len(pkts))
			}
			if last != int64(len(tt.file)) || st.FileBytes != uint64(len(tt.file)) {
				t.Errorf("progress ended at %d, FileBytes %d; file has %d bytes", last, st.FileBytes, len(tt.file))
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	pkts := testPackets()
	good := pcapBytes(t, pcaptest.LinkEthernet, false, pkts)
	// Offset of the 6th record: file header, then 16-byte record headers.
	off := 24
	for _, p := range pkts[:5] {
		f, err := pcaptest.Frame(p, pcaptest.LinkEthernet)
		if err != nil {
			t.Fatal(err)
		}
		off += 16 + len(f)
	}
	tests := []struct {
		name      string
		file      []byte
		is        error
		header    bool
		offset    int64
		wantPkts  int // packets metered before the error (their flows exported)
		wantFlows int
	}{
		{name: "empty", file: nil, is: ErrEmpty, header: true},
		{name: "text", file: []byte("hello, this is not a capture\n"), is: ErrNotCapture, header: true},
		{name: "three bytes", file: []byte{0xd4, 0xc3, 0xb2}, is: ErrNotCapture, header: true},
		{name: "short pcap header", file: good[:20], is: io.ErrUnexpectedEOF, header: true},
		{name: "cut in record header", file: good[:off+7], is: io.ErrUnexpectedEOF, offset: int64(off), wantPkts: 5},
		{name: "cut after record header", file: good[:off+16], is: io.ErrUnexpectedEOF, offset: int64(off), wantPkts: 5},
		{name: "cut in packet data", file: good[:off+30], is: io.ErrUnexpectedEOF, offset: int64(off), wantPkts: 5},
		{name: "gzip garbage", file: []byte{0x1f, 0x8b, 0, 0}, header: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, r := newTestMeter(t, Config{}, 0)
			err := m.Read(context.Background(), "x.pcap", bytes.NewReader(tt.file), nil)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Read() error = %v, want a *FileError", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Read() error = %v, want %v", err, tt.is)
			}
			if fe.Name != "x.pcap" || fe.Header != tt.header || fe.Offset != tt.offset {
				t.Errorf("FileError = %+v, want name x.pcap, header %v, offset %d", fe, tt.header, tt.offset)
			}
			want := expectRecords(t, pkts[:tt.wantPkts])
			if tt.wantPkts == 0 {
				want = nil
			}
			if diff := cmp.Diff(r.records, want); diff != "" {
				t.Errorf("records mismatch (-got, +want):\n%s", diff)
			}
			if st := m.Stats(); st.FileErrors != 1 {
				t.Errorf("FileErrors = %d, want 1", st.FileErrors)
			}
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	m, _ := newTestMeter(t, Config{}, 0)
	err := m.ReadFile(context.Background(), filepath.Join(t.TempDir(), "nope.pcap"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile() error = %v, want not exist", err)
	}
}

func TestReadCountsBadPackets(t *testing.T) {
	pkts := testPackets()[:3]
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, pcaptest.LinkEthernet, false, pkts); err != nil {
		t.Fatal(err)
	}
	f := buf.Bytes()
	// Append an ARP frame, a 10-byte runt and an IPv7 packet.
	arp := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06}, make([]byte, 28)...)
	bad := append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x70}, make([]byte, 39)...)
	for _, frame := range [][]byte{arp, arp[:10], bad} {
		f = appendRecord(f, pkts[2].Time, frame)
	}
	m, r := newTestMeter(t, Config{}, 0)
	if err := m.Read(context.Background(), "bad", bytes.NewReader(f), nil); err != nil {
		t.Fatalf("Read() error = %v", err)
	}
	st := m.Stats()
	wantErrs := map[string]uint64{"packet_not_ip": 1, "packet_truncated": 1, "packet_bad_ip_header": 1}
	if diff := cmp.Diff(st.Errors, wantErrs); diff != "" {
		t.Errorf("errors mismatch (-got, +want):\n%s", diff)
	}
	if st.Packets != 6 || st.Metered != 3 {
		t.Errorf("packets %d metered %d, want 6 and 3", st.Packets, st.Metered)
	}
	if diff := cmp.Diff(r.records, expectRecords(t, pkts)); diff != "" {
		t.Errorf("records mismatch (-got, +want):\n%s", diff)
	}
}

// appendRecord appends a little-endian microsecond pcap record.
func appendRecord(f []byte, ts time.Time, data []byte) []byte {
	le := func(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	f = append(f, le(uint32(ts.Unix()))...)
	f = append(f, le(uint32(ts.Nanosecond()/1000))...)
	f = append(f, le(uint32(len(data)))...)
	f = append(f, le(uint32(len(data)))...)
	return append(f, data...)
}

func TestReadCancelled(t *testing.T) {
	pkts := testPackets()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, r := newTestMeter(t, Config{}, 0)
	err := m.Read(ctx, "c.pcap", bytes.NewReader(pcapBytes(t, pcaptest.LinkEthernet, false, pkts)), nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read() error = %v, want context.Canceled", err)
	}
	if len(r.records) != 0 || m.Flows() != 0 {
		t.Errorf("cancelled before the first packet: %d records, %d flows tracked", len(r.records), m.Flows())
	}
}

// TestReadTruncatedPcapNG cuts a pcapng file at every byte of its last
// packet block: the error names the block's offset and the packets
// before it are all metered.
func TestReadTruncatedPcapNG(t *testing.T) {
	pkts := testPackets()
	var ngp []pcaptest.NGPacket
	for i, p := range pkts {
		ngp = append(ngp, pcaptest.NGPacket{Iface: i % 2, Packet: p})
	}
	var full, head bytes.Buffer
	links := []uint32{pcaptest.LinkEthernet, pcaptest.LinkRaw}
	if err := pcaptest.WritePcapNG(&full, links, ngp); err != nil {
		t.Fatal(err)
	}
	if err := pcaptest.WritePcapNG(&head, links, ngp[:len(ngp)-1]); err != nil {
		t.Fatal(err)
	}
	last := head.Len() // offset of the last packet block
	want := expectRecords(t, pkts[:len(pkts)-1])
	for cut := last + 1; cut < full.Len(); cut++ {
		m, r := newTestMeter(t, Config{}, 0)
		err := m.Read(context.Background(), "t.pcapng", bytes.NewReader(full.Bytes()[:cut]), nil)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Offset != int64(last) || fe.Packets != uint64(len(pkts)-1) {
			t.Fatalf("cut at %d: error %v, want a FileError at offset %d after %d packets", cut, err, last, len(pkts)-1)
		}
		if diff := cmp.Diff(r.records, want); diff != "" {
			t.Fatalf("cut at %d: records mismatch (-got, +want):\n%s", cut, diff)
		}
	}
}
