package flowgen

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// UDPWriter sends datagrams over a connected UDP socket, a batch per
// sendmmsg call.
type UDPWriter struct {
	conn  *net.UDPConn
	batch interface {
		WriteBatch(ms []ipv4.Message, flags int) (int, error)
	}
	msgs []ipv4.Message
	bufs [][]byte
}

// DialUDP returns a writer to addr ("host:port") with a send buffer of
// sndbuf bytes (0: 4 MiB). Checking that the address is allowed is the
// caller's business.
func DialUDP(addr string, sndbuf int) (*UDPWriter, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("unable to resolve %q: %w", addr, err)
	}
	c, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		return nil, fmt.Errorf("unable to dial %v: %w", ua, err)
	}
	if sndbuf <= 0 {
		sndbuf = 4 << 20
	}
	_ = c.SetWriteBuffer(sndbuf) // best effort: capped by net.core.wmem_max
	w := &UDPWriter{conn: c}
	if ua.IP.To4() != nil {
		w.batch = ipv4.NewPacketConn(c)
	} else {
		w.batch = ipv6.NewPacketConn(c)
	}
	return w, nil
}

// LocalAddr returns the socket's local address.
func (w *UDPWriter) LocalAddr() netip.AddrPort {
	return w.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// WriteBatch implements Writer. Datagrams the kernel refuses (ECONNREFUSED
// after an ICMP port unreachable, ENOBUFS) are counted as dropped.
func (w *UDPWriter) WriteBatch(pkts [][]byte, _ time.Time) (int, error) {
	if cap(w.msgs) < len(pkts) {
		w.msgs = make([]ipv4.Message, len(pkts))
		w.bufs = make([][]byte, len(pkts))
	}
	msgs := w.msgs[:len(pkts)]
	for i, p := range pkts {
		w.bufs[i] = p
		msgs[i].Buffers = w.bufs[i : i+1 : i+1]
	}
	dropped := 0
	for off := 0; off < len(msgs); {
		n, err := w.batch.WriteBatch(msgs[off:], 0)
		off += max(n, 0)
		if err == nil {
			continue
		}
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOBUFS) {
			dropped++
			off++
			continue
		}
		return dropped, fmt.Errorf("unable to send: %w", err)
	}
	return dropped, nil
}

// Close closes the socket.
func (w *UDPWriter) Close() error { return w.conn.Close() }

// PcapWriter writes datagrams as Ethernet/IP/UDP frames, with correct IP
// and UDP checksums, to a pcap file (microsecond timestamps, link type
// Ethernet). Call Flush at the end.
type PcapWriter struct {
	w        *bufio.Writer
	src, dst netip.AddrPort
	frame    []byte
	id       uint16
}

// NewPcapWriter writes the pcap file header to w and returns a writer of
// datagrams from src to dst. An invalid src becomes the loopback address
// of dst's family, port 50000.
func NewPcapWriter(w io.Writer, src, dst netip.AddrPort) (*PcapWriter, error) {
	if !dst.IsValid() {
		return nil, fmt.Errorf("unable to write pcap: invalid destination %v", dst)
	}
	if !src.IsValid() {
		a := netip.IPv6Loopback()
		if dst.Addr().Unmap().Is4() {
			a = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		src = netip.AddrPortFrom(a, 50000)
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if src.Addr().Is4() != dst.Addr().Is4() {
		return nil, fmt.Errorf("unable to write pcap: %v and %v are of different families", src, dst)
	}
	p := &PcapWriter{w: bufio.NewWriterSize(w, 1<<20), src: src, dst: dst, frame: make([]byte, 0, 2048)}
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 1) // LINKTYPE_ETHERNET
	if _, err := p.w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("unable to write pcap header: %w", err)
	}
	return p, nil
}

// WriteBatch implements Writer.
func (p *PcapWriter) WriteBatch(pkts [][]byte, now time.Time) (int, error) {
	for _, pkt := range pkts {
		p.frame = p.appendFrame(p.frame[:0], pkt)
		var h [16]byte
		us := now.UnixMicro()
		binary.LittleEndian.PutUint32(h[0:], uint32(us/1e6))
		binary.LittleEndian.PutUint32(h[4:], uint32(us%1e6))
		binary.LittleEndian.PutUint32(h[8:], uint32(len(p.frame)))
		binary.LittleEndian.PutUint32(h[12:], uint32(len(p.frame)))
		if _, err := p.w.Write(h[:]); err != nil {
			return 0, fmt.Errorf("unable to write pcap: %w", err)
		}
		if _, err := p.w.Write(p.frame); err != nil {
			return 0, fmt.Errorf("unable to write pcap: %w", err)
		}
	}
	return 0, nil
}

// Flush writes buffered data to the underlying writer.
func (p *PcapWriter) Flush() error {
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("unable to write pcap: %w", err)
	}
	return nil
}

func (p *PcapWriter) appendFrame(f, payload []byte) []byte {
	f = append(f, 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01)
	udpLen := 8 + len(payload)
	var ip int
	if p.dst.Addr().Is4() {
		f = append(f, 0x08, 0x00)
		ip = len(f)
		p.id++
		f = append(f, 0x45, 0)
		f = app16(f, uint16(20+udpLen))
		f = app16(f, p.id)
		f = append(f, 0x40, 0, 64, 17, 0, 0)
		s, d := p.src.Addr().As4(), p.dst.Addr().As4()
		f = append(f, s[:]...)
		f = append(f, d[:]...)
		put16(f[ip+10:], ipChecksum(f[ip:ip+20]))
	} else {
		f = append(f, 0x86, 0xdd)
		ip = len(f)
		f = append(f, 0x60, 0, 0, 0)
		f = app16(f, uint16(udpLen))
		f = append(f, 17, 64)
		s, d := p.src.Addr().As16(), p.dst.Addr().As16()
		f = append(f, s[:]...)
		f = append(f, d[:]...)
	}
	u := len(f)
	f = app16(f, p.src.Port())
	f = app16(f, p.dst.Port())
	f = app16(f, uint16(udpLen))
	f = app16(f, 0)
	f = append(f, payload...)
	put16(f[u+6:], udpChecksum(f[ip:u], f[u:], p.dst.Addr().Is4()))
	return f
}

// udpChecksum returns the UDP checksum of seg (header with a zero checksum
// and payload) under the pseudo-header built from the IP header iph.
func udpChecksum(iph, seg []byte, v4 bool) uint16 {
	var s uint64
	if v4 {
		s += sum16(iph[12:20])
	} else {
		s += sum16(iph[8:40])
	}
	s += 17 + uint64(len(seg))
	s += sum16(seg)
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	c := ^uint16(s)
	if c == 0 {
		c = 0xffff
	}
	return c
}

func sum16(b []byte) uint64 {
	var s uint64
	for len(b) >= 2 {
		s += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}
