package peertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// birdConf is BIRD's configuration for tests: one BGP session "acd"
// with a speaker that connects to 127.0.0.1:port, all four families
// imported into their tables (master4, master6, flowtab4, flowtab6).
const birdConf = `router id 10.255.0.2;
log "%[1]s/bird.log" all;
protocol device {}
flow4 table flowtab4;
flow6 table flowtab6;
protocol bgp acd {
	local 127.0.0.1 port %[2]d as %[3]d;
	neighbor 127.0.0.1 as %[4]d;
	passive on;
	multihop;
	hold time 9;
	ipv4 { import all; export none; };
	ipv6 { import all; export none; };
	flow4 { table flowtab4; import all; export none; };
	flow6 { table flowtab6; import all; export none; };
}
`

// BIRD is a BIRD 2 daemon run in the foreground for one test, waiting
// passively on 127.0.0.1:Port for acd's speaker.
type BIRD struct {
	// Port is BIRD's BGP port on 127.0.0.1; ASN is BIRD's AS, PeerASN
	// acd's.
	Port         uint16
	ASN, PeerASN uint32

	t           testing.TB
	dir, conf   string
	sock        string
	cmd         *exec.Cmd
	bird, birdc string
}

// StartBIRD runs BIRD as AS asn expecting acd as AS peerASN; it is
// killed at cleanup.
func StartBIRD(t testing.TB, asn, peerASN uint32) *BIRD {
	t.Helper()
	bins := Require(t, "bird", "birdc")
	b := &BIRD{ASN: asn, PeerASN: peerASN, t: t, dir: t.TempDir(), bird: bins[0], birdc: bins[1]}
	b.conf, b.sock = filepath.Join(b.dir, "bird.conf"), filepath.Join(b.dir, "bird.ctl")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.Port = uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	if err := os.WriteFile(b.conf, fmt.Appendf(nil, birdConf, b.dir, b.Port, asn, peerASN), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Start()
	t.Cleanup(b.Kill)
	return b
}

// Start starts BIRD (again, after Kill) and waits until birdc answers.
func (b *BIRD) Start() {
	b.t.Helper()
	b.cmd = exec.Command(b.bird, "-f", "-c", b.conf, "-s", b.sock, "-P", filepath.Join(b.dir, "bird.pid"))
	out := &SyncBuffer{}
	b.cmd.Stdout, b.cmd.Stderr = out, out
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("unable to start bird: %v", err)
	}
	b.WaitFor("bird to answer", func() bool {
		_, err := b.Birdc("show", "status")
		return err == nil
	})
}

// Kill stops BIRD with SIGKILL: its sessions drop without a notification.
func (b *BIRD) Kill() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
	b.cmd = nil
	_ = os.Remove(b.sock)
}

// Birdc runs a birdc command and returns its output.
func (b *BIRD) Birdc(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.birdc, append([]string{"-s", b.sock}, args...)...).CombinedOutput()
	return string(out), err
}

// Route returns "show route table TABLE for PREFIX all" ("" part of the
// output when BIRD has no such network).
func (b *BIRD) Route(table, prefix string) string {
	b.t.Helper()
	out, err := b.Birdc("show", "route", "table", table, "for", prefix, "all")
	if err != nil && !strings.Contains(out, "Network not found") { // birdc exits 1 then
		b.t.Fatalf("birdc show route for %s: %v: %s", prefix, err, out)
	}
	return out
}

// Table returns "show route table TABLE all".
func (b *BIRD) Table(table string) string {
	b.t.Helper()
	out, err := b.Birdc("show", "route", "table", table, "all")
	if err != nil {
		b.t.Fatalf("birdc show route table %s: %v: %s", table, err, out)
	}
	return out
}

// Established reports whether BIRD's session with acd is up.
func (b *BIRD) Established() bool {
	out, err := b.Birdc("show", "protocols", "acd")
	return err == nil && strings.Contains(out, "Established")
}

// Log returns BIRD's log file.
func (b *BIRD) Log() string {
	s, _ := os.ReadFile(filepath.Join(b.dir, "bird.log"))
	return string(s)
}

// WaitFor polls cond every 20 ms for up to 20 s, failing the test with
// BIRD's log when it does not come true.
func (b *BIRD) WaitFor(what string, cond func() bool) {
	b.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s\n%s", what, b.Log())
		}
	}
}
