package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// flowgenCmd runs "acd flowgen args..." in-process.
func flowgenCmd(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}
	code := run(ctx, e, append([]string{"flowgen"}, args...))
	return code, out.String(), errb.String()
}

// nfRecords returns the data records a NetFlow v5 or v9 datagram holds,
// from its header's count (v9: 0 for a template-only datagram, whose first
// flowset id is 0 or 1).
func nfRecords(p []byte) int {
	if len(p) < 24 {
		return 0
	}
	n := int(binary.BigEndian.Uint16(p[2:]))
	if binary.BigEndian.Uint16(p) == 9 && binary.BigEndian.Uint16(p[20:]) < 256 {
		return 0
	}
	return n
}

// udpSink listens on a loopback UDP port for the test's duration:
// loopback always exists, so failing to listen fails the test.
func udpSink(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

func TestFlowgenSendsToLoopback(t *testing.T) {
	for _, format := range []string{"v5", "v9"} {
		t.Run(format, func(t *testing.T) {
			sink := udpSink(t)
			_ = sink.(*net.UDPConn).SetReadBuffer(8 << 20)
			code, out, errOut := flowgenCmd(t, context.Background(), "--format", format,
				"--to", sink.LocalAddr().String(), "--count", "4000", "--rate", "200000", "--seed", "7")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "sent 4000 ") {
				t.Errorf("summary %q does not report 4000 records", out)
			}
			got := 0
			buf := make([]byte, 65536)
			for got < 4000 {
				_ = sink.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, _, err := sink.ReadFrom(buf)
				if err != nil {
					t.Fatalf("received %d of 4000 records: %v", got, err)
				}
				got += nfRecords(buf[:n])
			}
			if got != 4000 {
				t.Errorf("received %d records, want 4000", got)
			}
		})
	}
}

func TestFlowgenPcap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.pcap")
	code, out, errOut := flowgenCmd(t, context.Background(), "--format", "v9", "--pcap", path,
		"--count", "1000", "--rate", "10000", "--to", "127.0.0.1:9995", "--records-per-packet", "10")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "wrote 1000 ") {
		t.Errorf("summary %q", out)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	records, frames := 0, 0
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		frames++
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok || udp.DstPort != 9995 {
			t.Fatalf("frame %d: not UDP to port 9995: %v", frames, p)
		}
		n := nfRecords(udp.Payload)
		if n > 10 {
			t.Errorf("frame %d: %d records > 10", frames, n)
		}
		records += n
	}
	if records != 1000 || frames < 100 {
		t.Errorf("%d records in %d frames, want 1000 in at least 100", records, frames)
	}
}

func TestFlowgenUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"remote", []string{"--to", "192.0.2.1:2055", "--count", "1"}, "--allow-remote"},
		{"format", []string{"--format", "v7"}, "v5, v9, ipfix or sflow"},
		{"mix", []string{"--mix", "tcp=x"}, "bad weight"},
		{"v5 ipv6", []string{"--format", "v5", "--ipv6", "0.5"}, "IPv4 only"},
		{"v5 sampling", []string{"--format", "v5", "--sampling", "20000"}, "16383"},
		{"ipv6 share", []string{"--ipv6", "2"}, "0..1"},
		{"negative rate", []string{"--rate", "-1"}, "must not be negative"},
		{"argument", []string{"extra"}, "unexpected argument"},
		{"pcap without limit", []string{"--pcap", filepath.Join(t.TempDir(), "x.pcap")}, "--count or --duration"},
		{"no port", []string{"--to", "127.0.0.1", "--count", "1"}, "unable to resolve"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := flowgenCmd(t, context.Background(), tc.args...)
			if code != 2 || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.wantErr)
			}
		})
	}
}

func TestFlowgenHelp(t *testing.T) {
	code, _, errOut := flowgenCmd(t, context.Background(), "--help")
	for _, want := range []string{"Examples:", "--allow-remote", "-records-per-packet", "-sampling"} {
		if code != 0 || !strings.Contains(errOut, want) {
			t.Errorf("exit %d, help lacks %q", code, want)
		}
	}
}

func TestFlowgenInterrupted(t *testing.T) {
	// Ctrl-C (a cancelled context) stops the sender; the summary is still
	// printed and the exit code is 0.
	sink := udpSink(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, out, errOut := flowgenCmd(t, ctx, "--format", "sflow", "--to", sink.LocalAddr().String())
	if code != 0 || !strings.Contains(out, "records/s") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestFlowgenScenarioLive streams a scenario file live and decodes what
// arrives with acd's own NetFlow v9 decoder: the records carry the
// scenario's addresses and wall-clock times.
func TestFlowgenScenarioLive(t *testing.T) {
	pc := udpSink(t)
	file := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(file, []byte("name: live\nduration: 1m\nbackground: {clients: 20, servers: 40, flows_per_second: 400}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := flowgenCmd(t, context.Background(), "--scenario", file, "--count", "200", "--to", pc.LocalAddr().String())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "records") {
		t.Errorf("summary %q", out)
	}
	_ = pc.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 65536)
	records := 0
	for records < 200 {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		records += nfRecords(buf[:n])
	}
	if records < 200 {
		t.Errorf("received %d records, want at least 200", records)
	}
	if code, _, _ := flowgenCmd(t, context.Background(), "--scenario", "nope"); code != 2 {
		t.Errorf("unknown scenario: exit %d, want 2", code)
	}
}
