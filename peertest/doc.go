// Package peertest checks acd's flow collection against real third-party
// peers. The exporters softflowd (NetFlow v5, v9, IPFIX) and pmacctd with
// its nfprobe (v9, IPFIX) and sfprobe (sFlow v5) plugins meter a
// synthetic traffic capture and export to a relay (Tee) that hands every
// datagram to acd's collector and to a reference collector: nfdump's
// nfcapd for NetFlow/IPFIX, pmacct's sfacctd for sFlow. acd's flows,
// packets and bytes must equal the reference's, record for record.
//
// The package also holds the deterministic generator of the captures in
// testdata/traffic (GenerateTraffic) and the helpers that run the peers on
// loopback ports: Require, FreeUDPPort, WaitUDPDrained, NewTee,
// StartNfcapd, NfdumpFlows, NfdumpTotals, RunSoftflowd, RunPmacctd,
// SfacctdFlows, StartACD.
//
// Run:
//
//	apt-get install softflowd pmacct nfdump
//	ACD_INTEGRATION=1 go test ./peertest
//
// Without the peers the tests skip; with ACD_INTEGRATION=1 a missing peer
// fails them. Regenerate the traffic captures with
//
//	go test ./peertest -run TestGenerateTraffic -update
package peertest
