package collect

import (
	"context"
	"net"
	"testing"

	"github.com/acd-org/acd/flow"
)

// TestSocketDrops overflows a small socket buffer nobody reads and checks
// that SO_MEMINFO reports the kernel's drops.
func TestSocketDrops(t *testing.T) {
	conn, _, err := listenUDP(context.Background(), "127.0.0.1:0", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if d, ok := socketDrops(conn); !ok || d != 0 {
		t.Fatalf("fresh socket: drops %d, ok %v", d, ok)
	}
	out, err := net.Dial("udp", conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	pkt := make([]byte, 1400)
	for range 500 {
		_, _ = out.Write(pkt)
	}
	if d, ok := socketDrops(conn); !ok || d == 0 {
		t.Errorf("after 500 datagrams into a 4 KiB buffer: drops %d, ok %v; want some", d, ok)
	}
}

// TestSockaddrExporter decodes kernel source addresses of both families.
func TestSockaddrExporter(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		conn, _, err := listenUDP(context.Background(), addr, 0)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := newBatchReader(conn)
		if err != nil {
			t.Fatal(err)
		}
		out, err := net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := out.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		b := newReadBatch(4, 512)
		n, err := rd.read(b)
		if err != nil || n != 1 {
			t.Fatalf("%s: read %d, %v", addr, n, err)
		}
		local := out.LocalAddr().(*net.UDPAddr)
		want := flow.Exporter{Addr: flow.AddrFromNetip(local.AddrPort().Addr()), Port: uint16(local.Port)}
		if b.from[0] != want || string(b.bufs[0][:b.lens[0]]) != "hello" {
			t.Errorf("%s: got %v %q, want %v hello", addr, b.from[0], b.bufs[0][:b.lens[0]], want)
		}
		out.Close()
		conn.Close()
		if _, err := rd.read(b); !errClosed(err) {
			t.Errorf("%s: read after close = %v, want net.ErrClosed", addr, err)
		}
	}
}
