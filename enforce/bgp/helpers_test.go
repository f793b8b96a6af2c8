package bgp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// action returns an action of type typ against target with scope.
func action(typ cases.ActionType, target string, scope cases.Scope) cases.Action {
	return cases.Action{Type: typ, Target: cases.MustTarget(target), Scope: scope, NotBefore: t0, NotAfter: t0.Add(time.Hour)}
}

// caseOf returns a case id with actions.
func caseOf(id string, actions ...cases.Action) cases.Case {
	return cases.Case{ID: id, Version: 1, Actions: actions}
}

func testConfig(neighbors ...Neighbor) Config {
	c := DefaultConfig()
	c.ASN = 65000
	c.RouterID = netip.MustParseAddr("10.255.0.1")
	c.OwnedPrefixes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}
	c.ConnectRetry = time.Second
	c.HoldTime = 9 * time.Second
	c.Neighbors = neighbors
	if len(neighbors) == 0 {
		// Nobody listens on port 1 (tests listen on ephemeral ports):
		// the speaker keeps trying, harmless for tests of the local RIB.
		c.Neighbors = []Neighbor{{Address: netip.MustParseAddr("127.0.0.1"), Port: 1, ASN: 65001}}
	}
	return c
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("ACD_BGP_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startSpeaker starts a speaker for cfg, stopped in Cleanup.
func startSpeaker(t testing.TB, cfg Config) *Speaker {
	t.Helper()
	s, err := New(cfg, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// freePort returns a TCP port free on 127.0.0.1 at the time of the call.
func freePort(t testing.TB) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// need returns the path of bin, skipping the test when it is absent
// (failing under ACD_INTEGRATION=1).
func need(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		if os.Getenv("ACD_INTEGRATION") == "1" {
			t.Fatalf("%s not installed (run scripts/install-peers.sh)", bin)
		}
		t.Skipf("%s not installed; set ACD_INTEGRATION=1 under make test", bin)
	}
	return p
}

// bird is a BIRD 2 daemon run in the foreground for one test.
type bird struct {
	t        testing.TB
	dir      string
	conf     string
	sock     string
	port     uint16 // BIRD's BGP port on 127.0.0.1
	asn      uint32
	peerASN  uint32
	cmd      *exec.Cmd
	birdBin  string
	birdcBin string
}

// birdConf is BIRD's configuration: one BGP session "acd" with the
// speaker (which connects to 127.0.0.1:port), all four families
// imported into their tables.
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

// startBIRD runs BIRD with birdConf, killed in Cleanup.
func startBIRD(t testing.TB, asn, peerASN uint32) *bird {
	t.Helper()
	b := &bird{t: t, birdBin: need(t, "bird"), birdcBin: need(t, "birdc"), dir: t.TempDir(), asn: asn, peerASN: peerASN}
	b.conf, b.sock = filepath.Join(b.dir, "bird.conf"), filepath.Join(b.dir, "bird.ctl")
	b.port = freePort(t)
	if err := os.WriteFile(b.conf, []byte(fmt.Sprintf(birdConf, b.dir, b.port, asn, peerASN)), 0o600); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(b.kill)
	return b
}

func (b *bird) start() {
	b.t.Helper()
	b.cmd = exec.Command(b.birdBin, "-f", "-c", b.conf, "-s", b.sock, "-P", filepath.Join(b.dir, "bird.pid"))
	var stderr bytes.Buffer
	b.cmd.Stdout, b.cmd.Stderr = &stderr, &stderr
	if err := b.cmd.Start(); err != nil {
		b.t.Fatalf("unable to start bird: %v", err)
	}
	b.waitFor("bird to answer", func() bool {
		_, err := b.birdcErr("show status")
		return err == nil
	})
}

// kill stops BIRD (SIGKILL: no graceful session close).
func (b *bird) kill() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
	b.cmd = nil
	_ = os.Remove(b.sock)
}

func (b *bird) birdcErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.birdcBin, append([]string{"-s", b.sock}, args...)...).CombinedOutput()
	return string(out), err
}

// birdc runs a birdc command and returns its output.
func (b *bird) birdc(args ...string) string {
	b.t.Helper()
	out, err := b.birdcErr(args...)
	if err != nil {
		b.t.Fatalf("birdc %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// waitFor polls cond for up to 20 s.
func (b *bird) waitFor(what string, cond func() bool) {
	b.t.Helper()
	waitFor(b.t, what, cond, func() string {
		log, _ := os.ReadFile(filepath.Join(b.dir, "bird.log"))
		return string(log)
	})
}

func waitFor(t testing.TB, what string, cond func() bool, diag func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			if diag != nil {
				msg = diag()
			}
			t.Fatalf("timed out waiting for %s\n%s", what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// route returns BIRD's "show route ... all" for prefix in table.
func (b *bird) route(table, prefix string) string {
	b.t.Helper()
	out, err := b.birdcErr("show", "route", "table", table, "for", prefix, "all")
	if err != nil && !strings.Contains(out, "Network not found") { // birdc exits 1 then
		b.t.Fatalf("birdc show route for %s: %v: %s", prefix, err, out)
	}
	return out
}

// table returns BIRD's "show route table … all".
func (b *bird) table(table string) string {
	b.t.Helper()
	return b.birdc("show", "route", "table", table, "all")
}

// established reports whether BIRD's session with acd is up.
func (b *bird) established() bool {
	out, err := b.birdcErr("show", "protocols", "acd")
	return err == nil && strings.Contains(out, "Established")
}

// neighbor returns the speaker's neighbor configuration for BIRD.
func (b *bird) neighbor() Neighbor {
	return Neighbor{Address: netip.MustParseAddr("127.0.0.1"), Port: b.port, ASN: b.asn}
}
