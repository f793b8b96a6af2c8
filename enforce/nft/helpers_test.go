package nft

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

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

// needRoot skips (fails under ACD_INTEGRATION=1) unless the test runs as
// root with ip and nft installed: it creates network namespaces.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("ACD_INTEGRATION") == "1" {
			t.Fatal("the nft tests create network namespaces and need root")
		}
		t.Skip("the nft tests create network namespaces and need root; run them as root (make test does)")
	}
	need(t, "ip")
	need(t, "nft")
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newNS creates network namespace acdtest-<random>, deleted in Cleanup,
// and returns its name and path.
func newNS(t testing.TB) (string, string) {
	t.Helper()
	name := "acdtest-" + randHex(4)
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name, "/run/netns/" + name
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newAdapter starts an adapter in namespace path with cfg's other
// settings; it is stopped in Cleanup.
func newAdapter(t testing.TB, path string, mod func(*Config), now func() time.Time) *Adapter {
	t.Helper()
	cfg := DefaultConfig()
	cfg.NetNS = path
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg, Deps{Logger: testLogger(t), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}

// blockCase returns a case with one block action per target, window
// [now-1m, now+d).
func blockCase(id string, now time.Time, d time.Duration, targets ...string) cases.Case {
	c := cases.Case{ID: id, Version: 1}
	for _, tg := range targets {
		c.Actions = append(c.Actions, cases.Action{Type: cases.ActionBlock, Target: cases.MustTarget(tg),
			NotBefore: now.Add(-time.Minute), NotAfter: now.Add(d)})
	}
	return c
}

// items returns the items of cases cs.
func items(cs ...cases.Case) []enforce.Item {
	var out []enforce.Item
	for _, c := range cs {
		for i, a := range c.Actions {
			out = append(out, enforce.Item{Case: c, Index: i, Action: a})
		}
	}
	return out
}

// listed is one set element as nft -j lists it.
type listed struct {
	Val     string // address, prefix or range "a-b"
	Timeout int    // seconds
	Expires int
	Comment string
}

// listSets returns the elements of the sets of table inet name in
// namespace ns, by set name, as `nft -j list table` shows them; nil
// when the table is absent.
func listSets(t testing.TB, ns, table string) map[string][]listed {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", table).Output()
	if err != nil {
		return nil
	}
	var doc struct {
		Nftables []struct {
			Set *struct {
				Name string            `json:"name"`
				Elem []json.RawMessage `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("nft -j: %v\n%s", err, out)
	}
	sets := map[string][]listed{}
	for _, o := range doc.Nftables {
		if o.Set == nil {
			continue
		}
		sets[o.Set.Name] = []listed{}
		for _, raw := range o.Set.Elem {
			sets[o.Set.Name] = append(sets[o.Set.Name], parseListed(t, raw))
		}
	}
	return sets
}

func parseListed(t testing.TB, raw json.RawMessage) listed {
	var e struct {
		Elem *struct {
			Val     json.RawMessage `json:"val"`
			Timeout int             `json:"timeout"`
			Expires int             `json:"expires"`
			Comment string          `json:"comment"`
		} `json:"elem"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Elem == nil {
		return listed{Val: parseVal(t, raw)}
	}
	return listed{Val: parseVal(t, e.Elem.Val), Timeout: e.Elem.Timeout, Expires: e.Elem.Expires, Comment: e.Elem.Comment}
}

func parseVal(t testing.TB, raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var v struct {
		Prefix *struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
		Range []string `json:"range"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("nft -j element %s: %v", raw, err)
	}
	switch {
	case v.Prefix != nil:
		return v.Prefix.Addr + "/" + strconv.Itoa(v.Prefix.Len)
	case len(v.Range) == 2:
		return v.Range[0] + "-" + v.Range[1]
	}
	t.Fatalf("nft -j element %s: unknown form", raw)
	return ""
}

// vals returns the values of a set's elements.
func vals(ls []listed) []string {
	out := []string{}
	for _, l := range ls {
		out = append(out, l.Val)
	}
	return out
}

// inNS runs fn on a thread switched into namespace path; sockets fn
// creates stay in that namespace.
func inNS(t testing.TB, path string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	var ferr error
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ferr = err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			ferr = err
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			ferr = err
			return
		}
		fn()
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread() // else the thread dies with the goroutine
		}
	}()
	<-done
	if ferr != nil {
		t.Fatalf("unable to enter namespace %s: %v", path, ferr)
	}
}

// listen opens a TCP listener on addr in namespace path that accepts
// and closes connections until Cleanup.
func listen(t testing.TB, path, addr string) string {
	t.Helper()
	var ln net.Listener
	var err error
	inNS(t, path, func() { ln, err = net.Listen("tcp", addr) })
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// dial tries one TCP connection from namespace path to addr.
func dial(t testing.TB, path, addr string, timeout time.Duration) error {
	t.Helper()
	var err error
	inNS(t, path, func() {
		var c net.Conn
		c, err = net.DialTimeout("tcp", addr, timeout)
		if err == nil {
			c.Close()
		}
	})
	return err
}

// waitFor polls cond every 50 ms until it holds or 20 s have passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func splitLines(s string) []string { return strings.Split(s, "\n") }

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
