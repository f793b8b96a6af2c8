package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/collect/pcap/pcaptest"
	"github.com/acd-org/acd/flow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// analyzePackets is a small capture: a TCP connection with teardown over
// IPv4, DNS over IPv6, ping, and a UDP stream that outlives the active
// timeout with an idle gap.
func analyzePackets() []pcaptest.Packet {
	a, b := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("203.0.113.5")
	c, d := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::53")
	base := time.Date(2025, 5, 16, 9, 30, 0, 0, time.UTC)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	ps := []pcaptest.Packet{
		{Time: at(0), Src: a, Dst: b, SrcPort: 40000, DstPort: 443, Proto: 6, Flags: flow.TCPSyn},
		{Time: at(12), Src: b, Dst: a, SrcPort: 443, DstPort: 40000, Proto: 6, Flags: flow.TCPSyn | flow.TCPAck},
		{Time: at(13), Src: a, Dst: b, SrcPort: 40000, DstPort: 443, Proto: 6, Flags: flow.TCPAck | flow.TCPPsh, Payload: 517},
		{Time: at(40), Src: b, Dst: a, SrcPort: 443, DstPort: 40000, Proto: 6, Flags: flow.TCPAck | flow.TCPPsh, Payload: 1400},
		{Time: at(50), Src: c, Dst: d, SrcPort: 5353, DstPort: 53, Proto: 17, Payload: 33},
		{Time: at(61), Src: d, Dst: c, SrcPort: 53, DstPort: 5353, Proto: 17, Payload: 120},
		{Time: at(70), Src: a, Dst: b, Proto: 1, DstPort: 0x0800, Payload: 56},
		{Time: at(95), Src: b, Dst: a, Proto: 1, DstPort: 0x0000, Payload: 56},
		{Time: at(800), Src: a, Dst: b, SrcPort: 40000, DstPort: 443, Proto: 6, Flags: flow.TCPFin | flow.TCPAck},
		{Time: at(810), Src: b, Dst: a, SrcPort: 443, DstPort: 40000, Proto: 6, Flags: flow.TCPRst},
	}
	for s := 0; s <= 90; s += 5 {
		if s >= 30 && s < 50 {
			continue // idle gap of 20 s
		}
		ps = append(ps, pcaptest.Packet{Time: at(1000 + s*1000), Src: a, Dst: d.Unmap(), SrcPort: 9000, DstPort: 9001, Proto: 17, Payload: 200})
	}
	for i := range ps { // the IPv4 stream goes to an IPv4 peer
		if ps[i].SrcPort == 9000 {
			ps[i].Dst = b
		}
	}
	return ps
}

// writeCaptures writes the test captures into dir: a pcap (Ethernet), a
// pcapng with two link types, a truncated pcap, a text file.
func writeCaptures(t *testing.T, dir string) {
	t.Helper()
	pkts := analyzePackets()
	var buf bytes.Buffer
	if err := pcaptest.WritePcap(&buf, pcaptest.LinkEthernet, false, pkts); err != nil {
		t.Fatal(err)
	}
	full := bytes.Clone(buf.Bytes())
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.pcap", full)
	write("truncated.pcap", full[:len(full)-300])
	write("notes.txt", []byte("not a capture\n"))
	buf.Reset()
	var ng []pcaptest.NGPacket
	for i, p := range pkts[:10] {
		p.Time = p.Time.Add(time.Hour)
		ng = append(ng, pcaptest.NGPacket{Iface: i % 2, Packet: p})
	}
	if err := pcaptest.WritePcapNG(&buf, []uint32{pcaptest.LinkRaw, pcaptest.LinkLinuxSLL2}, ng); err != nil {
		t.Fatal(err)
	}
	write("b.pcapng", buf.Bytes())
}

// runAnalyzeCmd runs acd with args (file names relative to dir) and
// returns exit code, stdout and stderr with dir replaced by $DIR.
func runAnalyzeCmd(t *testing.T, ctx context.Context, dir string, args ...string) (int, string, string) {
	t.Helper()
	full := []string{"analyze"}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && !strings.Contains(a, "/") && strings.Contains(a, ".") {
			a = filepath.Join(dir, a)
		}
		full = append(full, a)
	}
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: func() []string { return nil }}
	code := run(ctx, e, full)
	clean := func(s string) string { return strings.ReplaceAll(s, dir, "$DIR") }
	return code, clean(out.String()), clean(errb.String())
}

func TestAnalyzeGolden(t *testing.T) {
	dir := t.TempDir()
	writeCaptures(t, dir)
	tests := []struct {
		name   string
		args   []string
		golden string
		code   int
		stderr string // substring of stderr
	}{
		{name: "summary", args: []string{"a.pcap", "b.pcapng"}, golden: "analyze-summary.golden.txt"},
		{name: "summary json", args: []string{"--json", "a.pcap", "b.pcapng"}, golden: "analyze-summary.golden.json"},
		{name: "flows text", args: []string{"--flows", "a.pcap"}, golden: "analyze-flows.golden.txt"},
		{name: "flows json", args: []string{"--flows", "--json", "a.pcap", "b.pcapng"}, golden: "analyze-flows.golden.json"},
		{name: "short timeouts", args: []string{"--flows", "--json", "--idle-timeout", "6s", "--active-timeout", "20s", "a.pcap"},
			golden: "analyze-timeouts.golden.json"},
		{name: "flags after files", args: []string{"a.pcap", "--flows", "--json", "--max-flows=2"}, golden: "analyze-maxflows.golden.json"},
		{name: "truncated file still reports", args: []string{"--flows", "--json", "truncated.pcap", "b.pcapng"},
			golden: "analyze-truncated.golden.json", code: 1, stderr: "unable to read $DIR/truncated.pcap: corrupt or truncated at offset"},
		{name: "not a capture", args: []string{"--json", "a.pcap", "notes.txt"}, golden: "analyze-notcapture.golden.json", code: 1,
			stderr: "unable to read $DIR/notes.txt: pcap: not a pcap or pcapng file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runAnalyzeCmd(t, context.Background(), dir, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit code %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.stderr)
			}
			golden := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run the test with -update to create it)", err)
			}
			if diff := cmp.Diff(out, string(want)); diff != "" {
				t.Errorf("output mismatch (-got, +want):\n%s", diff)
			}
		})
	}
}

// jsonFlow has exactly the fields of a --flows --json line.
type jsonFlow struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	Src      string `json:"src"`
	Dst      string `json:"dst"`
	Sport    uint16 `json:"sport"`
	Dport    uint16 `json:"dport"`
	Proto    uint8  `json:"proto"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
	TCPFlags uint8  `json:"tcp_flags"`
	Class    string `json:"class"`
	Pseudo   string `json:"pseudo"`
	KeyEpoch uint32 `json:"key_epoch"`
}

// TestAnalyzeJSONLines checks the shape of the JSON output against the
// summary: every flow line has exactly the documented fields, and the
// flows add up to the summary's totals.
func TestAnalyzeJSONLines(t *testing.T) {
	dir := t.TempDir()
	writeCaptures(t, dir)
	code, out, errOut := runAnalyzeCmd(t, context.Background(), dir, "--flows", "--json", "a.pcap", "b.pcapng")
	if code != 0 {
		t.Fatalf("exit code %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var pkts, byts uint64
	for _, l := range lines[:len(lines)-1] {
		var f jsonFlow
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("flow line %q: %v", l, err)
		}
		start, err1 := time.Parse(time.RFC3339, f.Start)
		end, err2 := time.Parse(time.RFC3339, f.End)
		if err1 != nil || err2 != nil || end.Before(start) || !strings.HasSuffix(f.Start, "Z") || len(f.Start) != len("2006-01-02T15:04:05.000Z") {
			t.Errorf("bad times in %q", l)
		}
		if _, err := netip.ParseAddr(f.Src); err != nil {
			t.Errorf("bad src in %q", l)
		}
		pkts += f.Packets
		byts += f.Bytes
	}
	var sum struct {
		Summary struct {
			Files, Packets, Metered, Flows, Bytes uint64
		}
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("summary line: %v", err)
	}
	s := sum.Summary
	want := uint64(len(analyzePackets()) + 10)
	if s.Files != 2 || s.Packets != want || s.Metered != want || s.Flows != uint64(len(lines)-1) || s.Bytes != byts || pkts != want {
		t.Errorf("summary %+v; flow lines: %d flows, %d packets, %d bytes; %d packets written", s, len(lines)-1, pkts, byts, want)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	dir := t.TempDir()
	writeCaptures(t, dir)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{name: "no file", args: nil, code: 2, stderr: "no capture file given"},
		{name: "missing file", args: []string{"a.pcap", "missing.pcap"}, code: 1, stderr: "$DIR/missing.pcap: no such file"},
		{name: "directory", args: []string{dir + "/"}, code: 1, stderr: "is a directory"},
		{name: "bad timeout", args: []string{"--idle-timeout", "0s", "a.pcap"}, code: 2, stderr: "idle timeout must be positive"},
		{name: "bad max flows", args: []string{"--max-flows", "-3", "a.pcap"}, code: 2, stderr: "max flows"},
		{name: "unknown flag", args: []string{"--nope", "a.pcap"}, code: 2, stderr: "Run 'acd analyze --help'"},
		{name: "help", args: []string{"--help"}, code: 0, stderr: "acd analyze --flows --json"},
		{name: "double dash", args: []string{"--json", "--", "a.pcap"}, code: 0, stdout: `"files":1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runAnalyzeCmd(t, context.Background(), dir, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) || !strings.Contains(out, tt.stdout) {
				t.Errorf("exit code %d, stderr %q, stdout %q; want %d, %q, %q", code, errOut, out, tt.code, tt.stderr, tt.stdout)
			}
		})
	}
}

func TestAnalyzeInterrupted(t *testing.T) {
	dir := t.TempDir()
	writeCaptures(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, out, errOut := runAnalyzeCmd(t, ctx, dir, "--json", "a.pcap", "b.pcapng")
	if code != 1 || !strings.Contains(errOut, "interrupted") {
		t.Errorf("exit code %d, stderr %q; want 1 and interrupted", code, errOut)
	}
	if !strings.Contains(out, `"interrupted":true`) || !strings.HasPrefix(out, `{"suspects":[],"summary":`) {
		t.Errorf("stdout %q, want the summary with interrupted true", out)
	}
}

func TestRenderProgress(t *testing.T) {
	tests := []struct {
		name        string
		done, total int64
		elapsed     time.Duration
		width       int
		want        string
	}{
		{"start", 0, 10 << 20, 0, 80, "[                                       ]   0% 0 B / 10.0 MiB  0 B/s  ETA --:--"},
		{"half", 5 << 20, 10 << 20, 2 * time.Second, 80, "[================                ]  50% 5.0 MiB / 10.0 MiB  2.5 MiB/s  ETA 0:02"},
		{"narrow terminal drops the bar", 5 << 20, 10 << 20, 2 * time.Second, 40, "50% 5.0 MiB / 10.0 MiB  2.5 MiB/s  ETA"},
		{"past the end is clamped", 20 << 20, 10 << 20, 100 * time.Second, 60, "[=========] 100% 10.0 MiB / 10.0 MiB  102.4 KiB/s  ETA 0:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renderProgress(tt.done, tt.total, tt.elapsed, tt.width); got != tt.want {
				t.Errorf("renderProgress() = %q, want %q", got, tt.want)
			}
			if got := renderProgress(tt.done, tt.total, tt.elapsed, tt.width); len(got) > tt.width {
				t.Errorf("renderProgress() is %d columns wide, terminal has %d", len(got), tt.width)
			}
		})
	}
}
