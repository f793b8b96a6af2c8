package collect

import (
	"errors"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/acd-org/acd/flow"
)

// mmsghdr is struct mmsghdr from <sys/socket.h>.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// batchReader receives datagrams with recvmmsg(2) into a readBatch
// without allocating: the message headers, I/O vectors and source
// address buffers are built once per batch. It replaces x/net's
// ReadBatch, which allocates a *net.UDPAddr per datagram (the only
// allocation on the collector's hot path; see bench/README.md).
type batchReader struct {
	raw syscall.RawConn
}

func newBatchReader(conn *net.UDPConn) (*batchReader, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &batchReader{raw: raw}, nil
}

// recvState is the per-batch kernel-facing state, kept with the batch so
// it is set up once.
type recvState struct {
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
}

func newRecvState(bufs [][]byte) *recvState {
	s := &recvState{
		hdrs:  make([]mmsghdr, len(bufs)),
		iovs:  make([]unix.Iovec, len(bufs)),
		names: make([]unix.RawSockaddrInet6, len(bufs)),
	}
	for i := range bufs {
		s.iovs[i].Base = &bufs[i][0]
		s.iovs[i].SetLen(len(bufs[i]))
		s.hdrs[i].hdr.Iov = &s.iovs[i]
		s.hdrs[i].hdr.SetIovlen(1)
		s.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&s.names[i]))
	}
	return s
}

// read blocks (in the netpoller) until at least one datagram arrives,
// then fills b with up to len(b.bufs) of them. It returns net.ErrClosed
// once the socket is closed.
func (r *batchReader) read(b *readBatch) (int, error) {
	s := b.recv
	for i := range s.hdrs { // the kernel writes back the name lengths
		s.hdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(s.names[i]))
	}
	var n int
	var errno syscall.Errno
	err := r.raw.Read(func(fd uintptr) bool {
		r1, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[0])), uintptr(len(s.hdrs)), unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EAGAIN || e == unix.EINTR {
			return false // wait for readiness and try again
		}
		n, errno = int(r1), e
		return true
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	for i := range n {
		b.lens[i] = int(s.hdrs[i].len)
		b.from[i] = sockaddrExporter(&s.names[i])
	}
	return n, nil
}

// sockaddrExporter decodes a source address written by the kernel.
func sockaddrExporter(sa *unix.RawSockaddrInet6) flow.Exporter {
	var e flow.Exporter
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	e.Port = uint16(p[0])<<8 | uint16(p[1])
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		e.Addr = flow.AddrFrom4(sa4.Addr)
	case unix.AF_INET6:
		e.Addr = flow.Addr(sa.Addr)
	}
	return e
}

// errClosed reports whether err means the socket was closed.
func errClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
