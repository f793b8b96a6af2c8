package peertest

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// RunSoftflowd meters the capture at pcap with softflowd and exports the
// flows to dst ("127.0.0.1:port") as NetFlow version 5, 9 or 10 (IPFIX).
// It returns when softflowd has exited: in file mode softflowd flushes
// every flow at end of file and stops.
//
// -c none: softflowd 1.1.0 reading a file never polls its control socket
// but then blocks in accept() on it. -a: take the clock from the capture
// so the exported times are the capture's.
func RunSoftflowd(ctx context.Context, t testing.TB, pcap, dst string, version int) {
	t.Helper()
	bin := Require(t, "softflowd")[0]
	dir := t.TempDir()
	p := startProc(t, dir, bin, "-d", "-a", "-r", pcap, "-n", dst, "-v", strconv.Itoa(version),
		"-p", filepath.Join(dir, "softflowd.pid"), "-c", "none")
	if err := p.wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// PmacctProbe is a pmacctd probe plugin configuration.
type PmacctProbe struct {
	Plugin   string // "nfprobe" or "sfprobe"
	Version  int    // nfprobe: 5, 9 or 10
	Timeouts string // nfprobe_timeouts, "" for pmacct's defaults
}

// Config returns the pmacctd configuration that reads pcap once and
// exports to dst, then exits.
func (pp PmacctProbe) Config(pcap, dst string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "daemonize: false\npcap_savefile: %s\n", pcap)
	// Let the plugin come up before the core reads the file.
	b.WriteString("pcap_savefile_delay: 1\n")
	fmt.Fprintf(&b, "plugins: %s[x]\n", pp.Plugin)
	switch pp.Plugin {
	case "sfprobe":
		fmt.Fprintf(&b, "sfprobe_receiver[x]: %s\nsfprobe_agentip[x]: 127.0.0.1\n", dst)
	default:
		fmt.Fprintf(&b, "nfprobe_receiver[x]: %s\nnfprobe_version[x]: %d\n", dst, pp.Version)
		if pp.Timeouts != "" {
			fmt.Fprintf(&b, "nfprobe_timeouts[x]: %s\n", pp.Timeouts)
		}
	}
	return b.String()
}

// RunPmacctd meters the capture at pcap with pmacctd and the probe
// plugin pp, exporting to dst, and returns when pmacctd has exited.
func RunPmacctd(ctx context.Context, t testing.TB, pcap, dst string, pp PmacctProbe) {
	t.Helper()
	bin := Require(t, "pmacctd")[0]
	dir := t.TempDir()
	conf := filepath.Join(dir, "pmacctd.conf")
	if err := os.WriteFile(conf, []byte(pp.Config(pcap, dst)), 0o644); err != nil {
		t.Fatalf("unable to write pmacctd config: %v", err)
	}
	p := startProc(t, dir, bin, "-f", conf)
	if err := p.wait(ctx); err != nil {
		if !pmacctShutdownRace(p) {
			t.Fatal(err)
		}
		t.Logf("pmacctd exited with status 1 after its plugin's orderly shutdown (pmacctd's shutdown race); going on")
	}
}

// pmacctShutdownRace reports whether pmacctd exited with status 1 only
// because its plugin, told to stop at end of file, finished before the
// core did: the core then logs "connection lost" and "no more plugins
// active" instead of "OK, Exiting". It happens now and then when the
// machine is busy; the plugin has flushed its flows by then.
func pmacctShutdownRace(p *proc) bool {
	select {
	case <-p.exited:
	default:
		return false
	}
	out := p.out.String()
	return p.cmd.ProcessState.ExitCode() == 1 &&
		strings.Contains(out, "Shutting down on user request") &&
		strings.Contains(out, "no more plugins active. Shutting down")
}

// SfacctdFlows decodes the sFlow datagrams in the capture at pcap with
// pmacct's collector, sfacctd, and returns its flows aggregated by
// 5-tuple (packets and bytes summed, no times). Bytes are sfacctd's: the
// sampled frame_length, not renormalised by the sampling rate.
func SfacctdFlows(ctx context.Context, t testing.TB, pcap string) []Flow {
	t.Helper()
	bin := Require(t, "sfacctd")[0]
	dir := t.TempDir()
	out := filepath.Join(dir, "flows.csv")
	conf := fmt.Sprintf(`daemonize: false
pcap_savefile: %s
plugins: print[x]
aggregate[x]: src_host, dst_host, src_port, dst_port, proto
print_output[x]: csv
print_output_file[x]: %s
print_refresh_time[x]: 3600
`, pcap, out)
	cf := filepath.Join(dir, "sfacctd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatalf("unable to write sfacctd config: %v", err)
	}
	p := startProc(t, dir, bin, "-f", cf)
	if err := p.wait(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("sfacctd wrote no flows: %v\n%s", err, p.out)
	}
	fs, err := parseSfacctdCSV(b)
	if err != nil {
		t.Fatalf("unable to parse sfacctd output: %v", err)
	}
	return fs
}

// ipProtocols maps pmacct's protocol names to numbers.
var ipProtocols = map[string]uint8{"icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58}

// parseSfacctdCSV parses the print plugin's CSV with the columns
// SRC_IP, DST_IP, SRC_PORT, DST_PORT, PROTOCOL, PACKETS, BYTES.
func parseSfacctdCSV(b []byte) ([]Flow, error) {
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("unable to read csv: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("empty output")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"SRC_IP", "DST_IP", "SRC_PORT", "DST_PORT", "PROTOCOL", "PACKETS", "BYTES"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("no column %s in %v", h, rows[0])
		}
	}
	var fs []Flow
	for _, r := range rows[1:] {
		var f Flow
		var err error
		get := func(h string) string { return r[col[h]] }
		if f.Src, err = netip.ParseAddr(get("SRC_IP")); err != nil {
			return nil, fmt.Errorf("bad row %v: %w", r, err)
		}
		if f.Dst, err = netip.ParseAddr(get("DST_IP")); err != nil {
			return nil, fmt.Errorf("bad row %v: %w", r, err)
		}
		if f.SrcPort, err = parsePort(get("SRC_PORT")); err != nil {
			return nil, err
		}
		if f.DstPort, err = parsePort(get("DST_PORT")); err != nil {
			return nil, err
		}
		p, ok := ipProtocols[get("PROTOCOL")]
		if !ok {
			n, err := strconv.ParseUint(get("PROTOCOL"), 10, 8)
			if err != nil {
				return nil, fmt.Errorf("bad protocol %q", get("PROTOCOL"))
			}
			p = uint8(n)
		}
		f.Proto = p
		if f.Packets, err = strconv.ParseUint(get("PACKETS"), 10, 64); err != nil {
			return nil, fmt.Errorf("bad packets in %v: %w", r, err)
		}
		if f.Bytes, err = strconv.ParseUint(get("BYTES"), 10, 64); err != nil {
			return nil, fmt.Errorf("bad bytes in %v: %w", r, err)
		}
		fs = append(fs, f)
	}
	return fs, nil
}
