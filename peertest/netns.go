package peertest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vishvananda/netns"
)

// NetNS is a network namespace a test made: its own loopback, firewall
// and routes, removed at the test's cleanup. Peers that rewrite the
// firewall (crowdsec-firewall-bouncer) run inside one, never on the
// host.
type NetNS struct {
	// Name is the namespace's name (ip netns), "acdtest-" and random hex.
	Name string
}

// NewNetNS makes a namespace with its loopback up. It needs root and
// ip(8): without them it skips the test, or fails it under
// ACD_INTEGRATION=1.
func NewNetNS(t testing.TB) *NetNS {
	t.Helper()
	Require(t, "ip")
	if os.Geteuid() != 0 {
		if os.Getenv(IntegrationEnv) == "1" {
			t.Fatal("network namespaces need root")
		}
		t.Skip("network namespaces need root; set " + IntegrationEnv + "=1 to make this a failure")
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	n := &NetNS{Name: "acdtest-" + hex.EncodeToString(b[:])}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", n.Name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", n.Name, err, out)
		}
	})
	if out, err := n.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("loopback up in %s: %v: %s", n.Name, err, out)
	}
	return n
}

// Command returns a command that runs name with args inside the
// namespace (ip netns exec).
func (n *NetNS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs name with args inside the namespace and returns its output.
func (n *NetNS) Run(name string, args ...string) (string, error) {
	out, err := n.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(args, " "), n.Name, err, out)
	}
	return string(out), nil
}

// Listen opens a TCP listener on addr inside the namespace: the socket
// belongs to the namespace for its whole life, whichever goroutine uses
// it later.
func (n *NetNS) Listen(addr string) (net.Listener, error) {
	var (
		ln  net.Listener
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The thread is moved back to its namespace and unlocked. Were
		// it left locked in n, the runtime would discard it, except the
		// main thread, which it parks for good: then /proc/self/net
		// (the thread-group leader's, so /proc/net/udp) would show n's
		// sockets for the rest of the test binary. If it cannot be moved
		// back it stays locked and is discarded (or parked).
		runtime.LockOSThread()
		orig, oerr := netns.Get()
		if oerr != nil {
			err = fmt.Errorf("open the current namespace: %w", oerr)
			return
		}
		defer orig.Close()
		h, herr := netns.GetFromName(n.Name)
		if herr != nil {
			err = fmt.Errorf("open namespace %s: %w", n.Name, herr)
			return
		}
		defer h.Close()
		if serr := netns.Set(h); serr != nil {
			err = fmt.Errorf("enter namespace %s: %w", n.Name, serr)
			return
		}
		ln, err = net.Listen("tcp", addr)
		if serr := netns.Set(orig); serr != nil {
			if ln != nil {
				_ = ln.Close()
			}
			ln, err = nil, fmt.Errorf("leave namespace %s: %w", n.Name, serr)
			return
		}
		runtime.UnlockOSThread()
	}()
	<-done
	return ln, err
}

// Forward listens on addr inside the namespace and relays every
// connection to the host's to (e.g. acd's loopback listener), so that a
// peer in the namespace reaches a server on the host's loopback. It
// returns the address inside the namespace; it stops at cleanup.
func (n *NetNS) Forward(t testing.TB, addr, to string) string {
	t.Helper()
	ln, err := n.Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer in.Close()
				out, err := net.Dial("tcp", to)
				if err != nil {
					return
				}
				defer out.Close()
				relay(in, out)
			}()
		}
	}()
	return ln.Addr().String()
}

// relay copies both ways until either side closes.
func relay(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src) // an error (a reset) ends the relay like a close
		if c, ok := dst.(*net.TCPConn); ok {
			_ = c.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
}
