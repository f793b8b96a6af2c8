package peertest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pollInterval is how often the Wait helpers look again.
const pollInterval = 5 * time.Millisecond

// FreeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago:
// it binds port 0 and releases it. Use it for peers that cannot report the
// port they bound.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("unable to find a free UDP port: %v", err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	if err := c.Close(); err != nil {
		t.Fatalf("unable to release UDP port %d: %v", port, err)
	}
	return port
}

// SocketState is what /proc/net/udp{,6} says about the UDP sockets bound
// to one local port (summed over them: SO_REUSEPORT makes several).
type SocketState struct {
	Sockets int    // sockets bound to the port
	RxQueue uint64 // bytes waiting to be read
	Drops   uint64 // datagrams the kernel dropped (buffer full)
}

// UDPSocketState reads /proc/net/udp and /proc/net/udp6 for port.
func UDPSocketState(port int) (SocketState, error) {
	var st SocketState
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return st, fmt.Errorf("unable to read %s: %w", f, err)
		}
		if err := addSocketState(b, port, &st); err != nil {
			return st, fmt.Errorf("unable to parse %s: %w", f, err)
		}
	}
	return st, nil
}

// addSocketState adds the sockets of one /proc/net/udp table bound to
// port to st. Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout
// inode ref pointer drops.
func addSocketState(table []byte, port int, st *SocketState) error {
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	want := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 13 || !strings.HasSuffix(f[1], want) {
			continue
		}
		_, rx, ok := strings.Cut(f[4], ":")
		if !ok {
			return fmt.Errorf("bad queue column %q", f[4])
		}
		q, err := strconv.ParseUint(rx, 16, 64)
		if err != nil {
			return fmt.Errorf("bad rx_queue %q: %w", rx, err)
		}
		d, err := strconv.ParseUint(f[len(f)-1], 10, 64)
		if err != nil {
			return fmt.Errorf("bad drops %q: %w", f[len(f)-1], err)
		}
		st.Sockets++
		st.RxQueue += q
		st.Drops += d
	}
	return sc.Err()
}

// WaitUDPBound waits until some socket is bound to UDP port (a peer has
// started listening), or ctx ends.
func WaitUDPBound(ctx context.Context, port int) error {
	return poll(ctx, func() (bool, error) {
		st, err := UDPSocketState(port)
		return st.Sockets > 0, err
	}, fmt.Sprintf("a socket bound to UDP port %d", port))
}

// WaitUDPDrained waits until the sockets bound to UDP port have nothing
// left to read (their owner has received everything sent to them), or ctx
// ends. It returns the final state, whose Drops says whether the kernel
// dropped datagrams.
func WaitUDPDrained(ctx context.Context, port int) (SocketState, error) {
	var st SocketState
	err := poll(ctx, func() (bool, error) {
		var err error
		st, err = UDPSocketState(port)
		return st.Sockets > 0 && st.RxQueue == 0, err
	}, fmt.Sprintf("the socket on UDP port %d to be read empty", port))
	return st, err
}

// poll calls cond until it returns true or an error, or ctx ends.
func poll(ctx context.Context, cond func() (bool, error), what string) error {
	tk := time.NewTicker(pollInterval)
	defer tk.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("unable to see %s: %w", what, ctx.Err())
		case <-tk.C:
		}
	}
}

// Datagram is one UDP payload and when it was received.
type Datagram struct {
	At   time.Time
	Data []byte
}

// Tee is a UDP relay on 127.0.0.1: every datagram it receives is recorded
// and forwarded, from the Tee's own address, to each destination in turn.
// Exporters send to the Tee so that acd and the reference collector get
// the very same datagrams.
type Tee struct {
	conn   *net.UDPConn
	dsts   []*net.UDPAddr
	marker []byte
	done   chan struct{}

	mu     sync.Mutex // guards got, synced, err
	got    []Datagram
	synced chan struct{} // closed when the marker comes back
	err    error
}

// NewTee starts a relay to dsts ("host:port"); it stops at test cleanup.
func NewTee(t testing.TB, dsts ...string) *Tee {
	t.Helper()
	tee := &Tee{done: make(chan struct{}), marker: make([]byte, 32)}
	_, _ = rand.Read(tee.marker)
	for _, d := range dsts {
		a, err := net.ResolveUDPAddr("udp", d)
		if err != nil {
			t.Fatalf("unable to resolve tee destination %q: %v", d, err)
		}
		tee.dsts = append(tee.dsts, a)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("unable to listen for the tee: %v", err)
	}
	if err := c.SetReadBuffer(8 << 20); err != nil {
		t.Fatalf("unable to size the tee's buffer: %v", err)
	}
	tee.conn = c
	go tee.run()
	t.Cleanup(func() {
		_ = c.Close()
		<-tee.done
	})
	return tee
}

// Addr returns the "127.0.0.1:port" exporters should send to.
func (tee *Tee) Addr() string { return tee.conn.LocalAddr().String() }

// Port returns the Tee's UDP port.
func (tee *Tee) Port() int { return tee.conn.LocalAddr().(*net.UDPAddr).Port }

func (tee *Tee) run() {
	defer close(tee.done)
	buf := make([]byte, 65536)
	for {
		n, _, err := tee.conn.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		now := time.Now()
		if bytes.Equal(buf[:n], tee.marker) {
			tee.mu.Lock()
			if tee.synced != nil {
				close(tee.synced)
				tee.synced = nil
			}
			tee.mu.Unlock()
			continue
		}
		d := Datagram{At: now, Data: bytes.Clone(buf[:n])}
		var ferr error
		for _, dst := range tee.dsts {
			if _, err := tee.conn.WriteToUDP(d.Data, dst); err != nil && ferr == nil {
				ferr = fmt.Errorf("unable to forward to %s: %w", dst, err)
			}
		}
		tee.mu.Lock()
		tee.got = append(tee.got, d)
		if tee.err == nil {
			tee.err = ferr
		}
		tee.mu.Unlock()
	}
}

// Sync returns once every datagram sent to the Tee before the call has
// been forwarded: it sends a marker datagram through the Tee's socket and
// waits for it to come out (one socket reads in order).
func (tee *Tee) Sync(ctx context.Context) error {
	ch := make(chan struct{})
	tee.mu.Lock()
	tee.synced = ch
	tee.mu.Unlock()
	c, err := net.DialUDP("udp4", nil, tee.conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		return fmt.Errorf("unable to reach the tee: %w", err)
	}
	defer c.Close()
	if _, err := c.Write(tee.marker); err != nil {
		return fmt.Errorf("unable to send the tee marker: %w", err)
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return fmt.Errorf("unable to sync the tee: %w", ctx.Err())
	}
	tee.mu.Lock()
	defer tee.mu.Unlock()
	return tee.err
}

// Datagrams returns what the Tee has received so far.
func (tee *Tee) Datagrams() []Datagram {
	tee.mu.Lock()
	defer tee.mu.Unlock()
	return append([]Datagram(nil), tee.got...)
}

// Replay sends each datagram, in order, from one socket to dst.
func Replay(dgs []Datagram, dst string) error {
	c, err := net.Dial("udp", dst)
	if err != nil {
		return fmt.Errorf("unable to reach %s: %w", dst, err)
	}
	defer c.Close()
	for i, d := range dgs {
		if _, err := c.Write(d.Data); err != nil {
			return fmt.Errorf("unable to send datagram %d to %s: %w", i, dst, err)
		}
	}
	return nil
}
