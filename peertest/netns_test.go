package peertest

import (
	"net"
	"strings"
	"testing"
)

func TestNetNSForward(t *testing.T) {
	ns := NewNetNS(t)
	host, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	go func() {
		for {
			c, err := host.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello from the host\n"))
			c.Close()
		}
	}()
	// The host's loopback is not the namespace's: without the relay the
	// port is closed inside.
	_, port, _ := net.SplitHostPort(host.Addr().String())
	if out, err := ns.Run("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/"+port+" && head -1 <&3"); err == nil {
		t.Fatalf("the host's loopback is reachable from the namespace: %q", out)
	}
	inside := ns.Forward(t, "127.0.0.1:0", host.Addr().String())
	_, iport, _ := net.SplitHostPort(inside)
	out, err := ns.Run("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/"+iport+" && head -1 <&3")
	if err != nil || strings.TrimSpace(out) != "hello from the host" {
		t.Fatalf("through the relay: %q, %v", out, err)
	}
}
