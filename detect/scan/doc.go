// Package scan finds scanners: sources that probe many hosts on a port
// (horizontal scan), many ports on a host (vertical scan), or both, fast or
// slow (detector "scan", role detect.RoleScanner).
//
// A probe is a flow that opens nothing: a TCP flow of a few packets that
// carries SYN but never ACK (the initiator never completed a handshake:
// the port was closed, filtered or half-open scanned), a tiny TCP
// handshake-only connection, a small UDP datagram or an ICMP echo
// request. Per source and window the detector counts distinct destination
// hosts and distinct (host, port) pairs among probes with linear-counting
// bitmaps of fixed size, and weighs how many of the source's flows failed.
// A short window (one minute) finds fast scans, a long one (one hour) with
// a stricter failure share finds slow ones. Both windows are event-time
// windows aligned to multiples of their length.
package scan
