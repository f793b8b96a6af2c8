// Package peertest checks acd's flow collection against real third-party
// peers: the exporters softflowd and pmacct (pmacctd with its nfprobe and
// sfprobe plugins) meter a synthetic traffic capture and send NetFlow v5,
// v9, IPFIX and sFlow v5 to acd's collector and to nfdump's nfcapd; the
// totals (flows, packets, bytes) both report must be equal.
//
// The package also holds the deterministic generator of the traffic
// captures in testdata/traffic (see GenerateTraffic) and helpers that start
// the peers on loopback: Require, FreeUDPPort, Softflowd, Pmacctd, Nfcapd,
// NfdumpTotals.
//
// Tests need the Debian packages softflowd, pmacct, nfdump. Without them
// the tests skip, unless ACD_INTEGRATION=1 is set, in which case a missing
// peer fails the test.
package peertest
