package collect

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// listenUDP opens one UDP socket on addr with SO_REUSEPORT (so several
// workers can share the address), the receive buffer asked for, and
// returns it with the buffer size the kernel granted.
func listenUDP(ctx context.Context, addr string, rcvbuf int) (*net.UDPConn, int, error) {
	var sockErr error
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		err := c.Control(func(fd uintptr) {
			sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			if sockErr != nil {
				sockErr = fmt.Errorf("unable to set SO_REUSEPORT: %w", sockErr)
				return
			}
			if rcvbuf > 0 {
				// SO_RCVBUFFORCE ignores net.core.rmem_max but needs
				// CAP_NET_ADMIN; fall back to SO_RCVBUF.
				if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
					_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
				}
			}
		})
		if err != nil {
			return err
		}
		return sockErr
	}}
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, 0, fmt.Errorf("unable to listen on %s: %w", addr, err)
	}
	conn := pc.(*net.UDPConn)
	got := 0
	if raw, err := conn.SyscallConn(); err == nil {
		_ = raw.Control(func(fd uintptr) {
			got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
		})
	}
	return conn, got, nil
}

// socketDrops returns the number of datagrams the kernel dropped on conn
// because its receive buffer was full (SK_MEMINFO_DROPS of SO_MEMINFO).
func socketDrops(conn *net.UDPConn) (uint64, bool) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, false
	}
	var mem [unix.SK_MEMINFO_VARS]uint32
	ok := false
	_ = raw.Control(func(fd uintptr) {
		l := uint32(unsafe.Sizeof(mem))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
			uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&l)), 0)
		ok = e == 0
	})
	return uint64(mem[unix.SK_MEMINFO_DROPS]), ok
}
