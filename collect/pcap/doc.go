// Package pcap meters flows from pcap and pcapng capture files.
//
// A Reader reads the packet records of a classic pcap file (microsecond
// or nanosecond magic, either byte order) or a pcapng file (several
// sections and interfaces, each with its own link type), optionally
// gzip-compressed, through gopacket's pure-Go pcapgo. Package
// collect/packet parses each packet's layer 2 to 4 headers for the link
// types EN10MB, RAW (101, 12, 14), LINUX_SLL (113), LINUX_SLL2 (276),
// NULL (0), LOOP (108), IPV4 (228) and IPV6 (229); no payload byte is kept.
//
// A Meter turns the parsed packets into unidirectional flow records
// (flow.Record with Format flow.FormatPcap) keyed on the 5-tuple, in packet
// time, with softflowd-like expiry: an active timeout (default 60 s) after
// which a long flow is exported and restarted, an idle timeout (default
// 15 s), TCP FIN or RST ends a flow, and the end of each file exports
// what is left. Bytes are layer-3 bytes (the IP header's length), as
// NetFlow exporters count them. The number of tracked flows is bounded;
// beyond it the least recently seen flow is evicted (exported early and
// counted).
//
// Records leave in pooled batches (flow.BatchPool) through a flow.Sink.
// Stats counts files, packets, flows by export reason, and packets that
// could not be metered by reason; a corrupt or truncated file gives a
// *FileError naming the file and offset after the flows metered so far
// are exported. Nothing panics on bad input.
package pcap
