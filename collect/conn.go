package collect

import (
	"net"

	"golang.org/x/net/ipv4"
)

// newPacketConn wraps conn for batched reads. ipv4.PacketConn's ReadBatch
// is a plain recvmmsg on Linux and works for IPv6 and dual-stack sockets
// too: the source address comes back in its own family.
func newPacketConn(conn *net.UDPConn) *ipv4.PacketConn { return ipv4.NewPacketConn(conn) }
