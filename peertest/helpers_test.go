package peertest

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseNfdumpLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		line    string
		want    Flow
		wantErr bool
	}{
		{
			name: "tcp v6",
			line: "6    | 2001:db8:1::120| 42172|  2001:db8:2::18|   443|      13|    1773|2025-06-01 12:00:01.866|2025-06-01 12:00:02.382",
			want: Flow{Proto: 6, Src: netip.MustParseAddr("2001:db8:1::120"), Dst: netip.MustParseAddr("2001:db8:2::18"),
				SrcPort: 42172, DstPort: 443, Packets: 13, Bytes: 1773, Start: 1748779201866, End: 1748779202382},
		},
		{
			name: "icmp type.code",
			line: "1    |       10.0.0.44|     0|   198.51.100.18|   8.0|       1|      84|2025-06-01 12:00:04.740|2025-06-01 12:00:04.740",
			want: Flow{Proto: 1, Src: netip.MustParseAddr("10.0.0.44"), Dst: netip.MustParseAddr("198.51.100.18"),
				DstPort: 0x0800, Packets: 1, Bytes: 84, Start: 1748779204740, End: 1748779204740},
		},
		{name: "too few fields", line: "6|10.0.0.1|1|10.0.0.2|2|3|4", wantErr: true},
		{name: "bad address", line: "6|10.0.0|1|10.0.0.2|2|3|4|2025-06-01 12:00:04.740|2025-06-01 12:00:04.740", wantErr: true},
		{name: "bad icmp", line: "1|10.0.0.1|0|10.0.0.2|8.x|3|4|2025-06-01 12:00:04.740|2025-06-01 12:00:04.740", wantErr: true},
		{name: "bad time", line: "6|10.0.0.1|1|10.0.0.2|2|3|4|yesterday|2025-06-01 12:00:04.740", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseNfdumpLine(tc.line)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseNfdumpLine() error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if d := cmp.Diff(got, tc.want, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("parseNfdumpLine() (-got, +want):\n%s", d)
			}
		})
	}
}

func TestAddSocketState(t *testing.T) {
	const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  100: 0100007F:9C40 00000000:0000 07 00000000:00000200 00:00000000 00000000     0        0 1 2 0000000000000000 3
  101: 0100007F:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0
  102: 0100007F:9C41 00000000:0000 07 00000000:00000100 00:00000000 00000000     0        0 1 2 0000000000000000 7
`
	for _, tc := range []struct {
		name string
		port int
		want SocketState
	}{
		{"two sockets", 0x9c40, SocketState{Sockets: 2, RxQueue: 0x200, Drops: 3}},
		{"one socket", 0x9c41, SocketState{Sockets: 1, RxQueue: 0x100, Drops: 7}},
		{"none", 1, SocketState{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got SocketState
			if err := addSocketState([]byte(table), tc.port, &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(got, tc.want); d != "" {
				t.Errorf("addSocketState() (-got, +want):\n%s", d)
			}
		})
	}
}

func TestParseSfacctdCSV(t *testing.T) {
	in := "SRC_IP,DST_IP,SRC_PORT,DST_PORT,PROTOCOL,PACKETS,BYTES\n" +
		"10.0.0.160,198.51.100.22,37986,53,udp,3,310\n" +
		"2001:db8:1::1,2001:db8:2::1,0,0,ipv6-icmp,2,236\n"
	got, err := parseSfacctdCSV([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Flow{
		{Proto: 17, Src: netip.MustParseAddr("10.0.0.160"), Dst: netip.MustParseAddr("198.51.100.22"), SrcPort: 37986, DstPort: 53, Packets: 3, Bytes: 310},
		{Proto: 58, Src: netip.MustParseAddr("2001:db8:1::1"), Dst: netip.MustParseAddr("2001:db8:2::1"), Packets: 2, Bytes: 236},
	}
	if d := cmp.Diff(got, want, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("parseSfacctdCSV() (-got, +want):\n%s", d)
	}
	for _, bad := range []string{"", "SRC_IP,DST_IP\n1.2.3.4,5.6.7.8\n", strings.Replace(in, "udp", "what", 1)} {
		if _, err := parseSfacctdCSV([]byte(bad)); err == nil {
			t.Errorf("parseSfacctdCSV(%q) succeeded, want an error", bad)
		}
	}
}

func TestDiffFlows(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.1")
	b := netip.MustParseAddr("10.0.0.2")
	f := func(pk, by uint64, start int64) Flow {
		return Flow{Proto: 6, Src: a, Dst: b, SrcPort: 1, DstPort: 2, Packets: pk, Bytes: by, Start: start, End: start + 10}
	}
	for _, tc := range []struct {
		name      string
		got, want []Flow
		diff      []string
		times     int
	}{
		{name: "equal", got: []Flow{f(1, 40, 0), f(1, 40, 100)}, want: []Flow{f(1, 40, 100), f(1, 40, 0)}},
		{name: "times differ", got: []Flow{f(1, 40, 0)}, want: []Flow{f(1, 40, 5)}, times: 1},
		{name: "missing duplicate", got: []Flow{f(1, 40, 0)}, want: []Flow{f(1, 40, 0), f(1, 40, 0)},
			diff: []string{"only in nfdump: proto 6 10.0.0.1:1 -> 10.0.0.2:2 packets 1 bytes 40"}},
		{name: "bytes differ", got: []Flow{f(2, 80, 0)}, want: []Flow{f(2, 81, 0)},
			diff: []string{"only in acd: proto 6 10.0.0.1:1 -> 10.0.0.2:2 packets 2 bytes 80",
				"only in nfdump: proto 6 10.0.0.1:1 -> 10.0.0.2:2 packets 2 bytes 81"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := DiffFlows(tc.got, tc.want, "acd", "nfdump", 10)
			if d := cmp.Diff(got, strings.Join(tc.diff, "\n")); d != "" {
				t.Errorf("DiffFlows() (-got, +want):\n%s", d)
			}
			if n := len(TimeMismatches(tc.got, tc.want, "acd", "nfdump", 10)); n != tc.times {
				t.Errorf("TimeMismatches() found %d, want %d", n, tc.times)
			}
		})
	}
}

func TestAggregate(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.1")
	b := netip.MustParseAddr("10.0.0.2")
	in := []Flow{
		{Proto: 17, Src: a, Dst: b, SrcPort: 5, DstPort: 53, Packets: 1, Bytes: 60, Start: 10, End: 10},
		{Proto: 17, Src: b, Dst: a, SrcPort: 53, DstPort: 5, Packets: 1, Bytes: 90, Start: 11, End: 11},
		{Proto: 17, Src: a, Dst: b, SrcPort: 5, DstPort: 53, Packets: 2, Bytes: 70, Start: 5, End: 20},
	}
	got := Aggregate(in)
	want := []Flow{
		{Proto: 17, Src: a, Dst: b, SrcPort: 5, DstPort: 53, Packets: 3, Bytes: 130, Start: 5, End: 20},
		{Proto: 17, Src: b, Dst: a, SrcPort: 53, DstPort: 5, Packets: 1, Bytes: 90, Start: 11, End: 11},
	}
	if d := cmp.Diff(got, want, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("Aggregate() (-got, +want):\n%s", d)
	}
	if got, want := Sum(in), (Totals{Flows: 3, Packets: 4, Bytes: 220}); got != want {
		t.Errorf("Sum() = %v, want %v", got, want)
	}
}

func TestDatagramsRoundTrip(t *testing.T) {
	in := []Datagram{
		{At: time.Unix(1748779200, 0).UTC(), Data: []byte{0, 5, 0, 0}},
		{At: time.Unix(1748779201, 500000000).UTC(), Data: bytes.Repeat([]byte{9}, 1400)},
	}
	var buf bytes.Buffer
	if err := WriteDatagrams(&buf, in, "127.0.0.1:9", "127.0.0.1:2055"); err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/d.pcap"
	writeFile(t, path, buf.Bytes())
	got, err := ReadDatagrams(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, in); d != "" {
		t.Errorf("ReadDatagrams(WriteDatagrams()) (-got, +want):\n%s", d)
	}
}

func TestTee(t *testing.T) {
	var sinks []*net.UDPConn
	var dsts []string
	for range 2 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		sinks = append(sinks, c)
		dsts = append(dsts, c.LocalAddr().String())
	}
	tee := NewTee(t, dsts...)
	var sent [][]byte
	for i := range 20 {
		sent = append(sent, []byte(fmt.Sprintf("datagram %d", i)))
	}
	if err := Replay(datagrams(sent), tee.Addr()); err != nil {
		t.Fatal(err)
	}
	if err := tee.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for _, d := range tee.Datagrams() {
		got = append(got, d.Data)
	}
	if d := cmp.Diff(got, sent); d != "" {
		t.Errorf("tee recorded (-got, +want):\n%s", d)
	}
	for i, c := range sinks {
		st, err := UDPSocketState(c.LocalAddr().(*net.UDPAddr).Port)
		if err != nil {
			t.Fatal(err)
		}
		if st.Sockets != 1 || st.RxQueue == 0 {
			t.Errorf("destination %d: socket state %+v, want forwarded datagrams waiting", i, st)
		}
		buf := make([]byte, 100)
		for j, want := range sent {
			n, err := c.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("destination %d datagram %d = %q, want %q", i, j, buf[:n], want)
			}
		}
	}
}

func datagrams(bs [][]byte) []Datagram {
	out := make([]Datagram, len(bs))
	for i, b := range bs {
		out[i].Data = b
	}
	return out
}

// fakeTB records Skipf and Fatalf instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Skipf(format string, a ...any)  { f.skipped = fmt.Sprintf(format, a...) }
func (f *fakeTB) Fatalf(format string, a ...any) { f.fatal = fmt.Sprintf(format, a...) }

func TestRequire(t *testing.T) {
	const missing = "acd-no-such-peer"
	for _, tc := range []struct {
		env                 string
		wantSkip, wantFatal bool
	}{
		{env: "", wantSkip: true},
		{env: "1", wantFatal: true},
	} {
		t.Run("ACD_INTEGRATION="+tc.env, func(t *testing.T) {
			t.Setenv(IntegrationEnv, tc.env)
			f := &fakeTB{TB: t}
			Require(f, missing)
			if (f.skipped != "") != tc.wantSkip || (f.fatal != "") != tc.wantFatal {
				t.Errorf("Require(%q): skipped %q, fatal %q; want skip %v, fatal %v",
					missing, f.skipped, f.fatal, tc.wantSkip, tc.wantFatal)
			}
		})
	}
	if got := Require(t, "sh"); len(got) != 1 || got[0] == "" {
		t.Errorf("Require(sh) = %v, want its path", got)
	}
}

func TestPmacctProbeConfig(t *testing.T) {
	got := PmacctProbe{Plugin: "nfprobe", Version: 10, Timeouts: "tcp=60"}.Config("/x.pcap", "127.0.0.1:9")
	want := `daemonize: false
pcap_savefile: /x.pcap
pcap_savefile_delay: 1
plugins: nfprobe[x]
nfprobe_receiver[x]: 127.0.0.1:9
nfprobe_version[x]: 10
nfprobe_timeouts[x]: tcp=60
`
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("Config() (-got, +want):\n%s", d)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
