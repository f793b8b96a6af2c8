// Package flowgen generates flow export traffic: NetFlow v5, NetFlow v9
// (RFC 3954), IPFIX (RFC 7011) and sFlow v5 datagrams built from
// flow.Record values, sent over UDP at a controlled rate or written to a
// pcap file. The acd demo and the collector benchmarks use it.
//
// Three parts plug together:
//
//   - a Source produces records. Mix is a deterministic (seeded) mix of
//     ordinary traffic; attack scenarios implement Source too.
//   - an Encoder turns records into datagrams of one format, appending to
//     a caller's buffer without allocating, and keeps the exporter state:
//     sequence numbers, sysUptime, the template schedule. Patch re-stamps
//     an already encoded datagram, so the sender can replay a ring of
//     pre-encoded datagrams at millions of records per second.
//   - Send paces records through an Encoder to a Writer (UDPWriter,
//     batched with sendmmsg; PcapWriter).
//
// What the encoders write:
//
//	NetFlow v5   24-byte header, up to 30 records of 48 bytes. Sequence:
//	             flows sent before. Engine id: ExporterID. Sampling
//	             interval in the header (mode 1) when Sampling > 1. IPv6
//	             records are skipped; 4-byte ASNs become AS_TRANS.
//	NetFlow v9   20-byte header. Templates 256 (IPv4) and 257 (IPv6) in a
//	             template-only datagram at start and then every
//	             TemplatePackets datagrams or TemplateInterval; with
//	             Sampling > 1 also options template 258 (scope System,
//	             SAMPLING_INTERVAL, SAMPLING_ALGORITHM) and its data.
//	             Fields: FIRST_SWITCHED, LAST_SWITCHED (sysUptime ms),
//	             IN_BYTES(8), IN_PKTS(8), INPUT_SNMP(4), OUTPUT_SNMP(4),
//	             SRC_AS(4), DST_AS(4), L4_SRC_PORT, L4_DST_PORT, PROTOCOL,
//	             TCP_FLAGS, IPV4/IPV6_SRC_ADDR, IPV4/IPV6_DST_ADDR; ICMP
//	             type<<8|code in L4_DST_PORT. Data flowsets padded to 4.
//	             Sequence: export packets sent before (templates count).
//	IPFIX        16-byte header, same template ids and schedule; fields
//	             flowStart/EndMilliseconds, octet/packetDeltaCount(8),
//	             ingress/egressInterface, bgpSource/DestinationAsNumber,
//	             ports, protocolIdentifier, tcpControlBits(2), addresses,
//	             and with VarLen the variable-length interfaceName. Options
//	             template 258: scope observationDomainId, samplingInterval,
//	             samplingAlgorithm. Sequence: data records sent before
//	             (options data records included).
//	sFlow v5     datagram header (agent Agent, sub-agent ExporterID,
//	             datagram sequence, uptime); one flow sample per record
//	             (source id and per-source sample sequence from InIf,
//	             sampling rate, sample pool) with one raw packet header
//	             record: an Ethernet/IPv4 or IPv6/TCP, UDP or ICMP packet
//	             whose layer-3 length is the record's average packet size,
//	             cut to Snapshot bytes (frame length adds 4 FCS bytes,
//	             stripped 4); a generic interface counter sample every
//	             CounterEvery datagrams.
//
// Datagrams hold at most MaxSize (1472) bytes.
package flowgen
