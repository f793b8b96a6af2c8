package peertest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Nfcapd is an nfdump capture daemon (nfcapd for NetFlow/IPFIX, sfcapd
// for sFlow) listening on a loopback UDP port.
type Nfcapd struct {
	Port int    // UDP port on 127.0.0.1
	Dir  string // where it writes its nfcapd.* files
	p    *proc
}

// Addr returns "127.0.0.1:port".
func (n *Nfcapd) Addr() string { return fmt.Sprintf("127.0.0.1:%d", n.Port) }

// StartNfcapd starts nfcapd on a free loopback port and waits until it
// listens. It is killed at test cleanup if still running. If nfcapd
// exits at start (another process took the port in the meantime), it is
// tried again on another port.
func StartNfcapd(ctx context.Context, t testing.TB) *Nfcapd {
	t.Helper()
	return startCapd(ctx, t, "nfcapd")
}

// StartSfcapd starts nfdump's sFlow collector, sfcapd (Debian package
// nfdump-sflow), like StartNfcapd; its files are read with nfdump too.
func StartSfcapd(ctx context.Context, t testing.TB) *Nfcapd {
	t.Helper()
	return startCapd(ctx, t, "sfcapd")
}

func startCapd(ctx context.Context, t testing.TB, name string) *Nfcapd {
	t.Helper()
	bin := Require(t, name)[0]
	var last string
	for range 3 {
		n := &Nfcapd{Port: FreeUDPPort(t), Dir: t.TempDir()}
		// -B: a socket buffer large enough for an exporter's burst; -t:
		// one file for the whole test.
		n.p = startProc(t, n.Dir, bin, "-b", "127.0.0.1", "-p", strconv.Itoa(n.Port), "-w", n.Dir,
			"-t", "3600", "-B", "4194304")
		err := poll(ctx, func() (bool, error) {
			select {
			case <-n.p.exited:
				return false, fmt.Errorf("%s exited at start: %v", name, n.p.err)
			default:
			}
			st, err := UDPSocketState(n.Port)
			return st.Sockets > 0, err
		}, fmt.Sprintf("%s listening on UDP port %d", name, n.Port))
		if err == nil {
			return n
		}
		last = fmt.Sprintf("%v\n%s", err, n.p.out)
		if ctx.Err() != nil {
			break
		}
	}
	t.Fatalf("unable to start %s: %s", name, last)
	return nil
}

// Stop waits until nfcapd has read every datagram sent to it, stops it
// (SIGTERM makes it write out its file) and waits for it to exit. It
// fails the test if the kernel dropped datagrams on nfcapd's socket.
func (n *Nfcapd) Stop(ctx context.Context, t testing.TB) {
	t.Helper()
	st, err := WaitUDPDrained(ctx, n.Port)
	if err != nil {
		t.Fatalf("nfcapd: %v\n%s", err, n.p.out)
	}
	if st.Drops != 0 {
		t.Errorf("nfcapd: the kernel dropped %d datagrams on its socket", st.Drops)
	}
	if err := n.p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("unable to stop nfcapd: %v", err)
	}
	if err := n.p.wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// Log returns what nfcapd printed.
func (n *Nfcapd) Log() string { return n.p.out.String() }

// nfdumpFormat lists, with -N (plain numbers), the fields Flows reads.
const nfdumpFormat = "fmt:%pr|%sa|%sp|%da|%dp|%pkt|%byt|%ts|%te"

// NfdumpFlows returns every flow record nfdump reads from the nfcapd
// files in dir (nfdump -R dir), one per exported record.
func NfdumpFlows(ctx context.Context, t testing.TB, dir string) []Flow {
	t.Helper()
	out := nfdump(ctx, t, "-R", dir, "-N", "-q", "-o", nfdumpFormat)
	var fs []Flow
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f, err := parseNfdumpLine(line)
		if err != nil {
			t.Fatalf("unable to parse nfdump output %q: %v", line, err)
		}
		fs = append(fs, f)
	}
	return fs
}

// NfdumpTotals returns nfdump's own summary of the files in dir (nfdump
// -R dir -I reads the stat records nfcapd writes).
func NfdumpTotals(ctx context.Context, t testing.TB, dir string) Totals {
	t.Helper()
	out := nfdump(ctx, t, "-R", dir, "-I")
	var tot Totals
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch name {
		case "Flows":
			dst = &tot.Flows
		case "Packets":
			dst = &tot.Packets
		case "Bytes":
			dst = &tot.Bytes
		default:
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if err != nil {
			t.Fatalf("unable to parse nfdump -I line %q: %v", sc.Text(), err)
		}
		*dst = v
		found++
	}
	if found != 3 {
		t.Fatalf("nfdump -I printed no Flows/Packets/Bytes:\n%s", out)
	}
	return tot
}

func nfdump(ctx context.Context, t testing.TB, args ...string) []byte {
	t.Helper()
	bin := Require(t, "nfdump")[0]
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nfdump %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// parseNfdumpLine parses one line of nfdumpFormat output.
func parseNfdumpLine(line string) (Flow, error) {
	f := strings.Split(line, "|")
	if len(f) != 9 {
		return Flow{}, fmt.Errorf("%d fields, want 9", len(f))
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	var fl Flow
	var err error
	proto, err := strconv.ParseUint(f[0], 10, 8)
	if err != nil {
		return fl, fmt.Errorf("bad protocol: %w", err)
	}
	fl.Proto = uint8(proto)
	if fl.Src, err = netip.ParseAddr(f[1]); err != nil {
		return fl, fmt.Errorf("bad source: %w", err)
	}
	if fl.Dst, err = netip.ParseAddr(f[3]); err != nil {
		return fl, fmt.Errorf("bad destination: %w", err)
	}
	if fl.SrcPort, err = parsePort(f[2]); err != nil {
		return fl, err
	}
	if fl.DstPort, err = parsePort(f[4]); err != nil {
		return fl, err
	}
	if fl.Packets, err = strconv.ParseUint(f[5], 10, 64); err != nil {
		return fl, fmt.Errorf("bad packets: %w", err)
	}
	if fl.Bytes, err = strconv.ParseUint(f[6], 10, 64); err != nil {
		return fl, fmt.Errorf("bad bytes: %w", err)
	}
	if fl.Start, err = parseNfdumpTime(f[7]); err != nil {
		return fl, err
	}
	if fl.End, err = parseNfdumpTime(f[8]); err != nil {
		return fl, err
	}
	return fl, nil
}

// parsePort parses a port, or nfdump's "type.code" for ICMP.
func parsePort(s string) (uint16, error) {
	if typ, code, ok := strings.Cut(s, "."); ok {
		t, err1 := strconv.ParseUint(typ, 10, 8)
		c, err2 := strconv.ParseUint(code, 10, 8)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("bad ICMP type.code %q", s)
		}
		return uint16(t)<<8 | uint16(c), nil
	}
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad port %q: %w", s, err)
	}
	return uint16(p), nil
}

func parseNfdumpTime(s string) (int64, error) {
	tm, err := time.ParseInLocation("2006-01-02 15:04:05.000", s, time.UTC)
	if err != nil {
		return 0, fmt.Errorf("bad time %q: %w", s, err)
	}
	return tm.UnixMilli(), nil
}
