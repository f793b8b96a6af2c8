// Package netflow decodes NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX
// (RFC 7011/7012) export datagrams into flow records without allocating
// per record. The version comes from the first two bytes of each
// datagram, so one UDP port can carry all three.
//
// # Wire formats
//
// NetFlow v5: a 24-byte header (version, count, sysUptime, unix secs and
// nsecs, flow_sequence, engine type and id, sampling: top 2 bits mode,
// low 14 bits interval) and count 48-byte records. flow_sequence counts
// flows.
//
// NetFlow v9: a 20-byte header (version, count, sysUptime, unix secs,
// sequence, source id) and flowsets of (id, length): id 0 templates, 1
// options templates, 256 and up data. First/last switched (21/22) are
// sysUptime milliseconds. The sequence counts datagrams.
//
// IPFIX: a 16-byte header (version 10, length, export time, sequence,
// observation domain) and sets: id 2 templates, 3 options templates, 256
// and up data. Fields may be variable-length (length 65535 in the
// template; in the record a 1-byte length, or 255 and a 2-byte length)
// or enterprise-specific (skipped by length). A template with no field is
// a withdrawal; id 2 or 3 withdraws all templates of that kind. The
// sequence counts data records.
//
// # Decoding
//
// Templates are compiled into plans: for fixed-length templates a list
// of the fields acd uses at precomputed offsets. Templates are cached per
// (exporter address and port, source id or observation domain, template
// id) with a TTL and bounds per exporter and in total. Data sets whose
// template is unknown are held (bounded) and decoded when it arrives.
//
// Sampling comes, in order, from a configured per-exporter override, the
// sampling fields of the record itself, the exporter (v5 header, options
// data: samplingInterval, samplerRandomInterval, sampler id tables,
// samplingPacketInterval and samplingPacketSpace, samplingSize and
// samplingPopulation, samplingProbability), then the configured default.
package netflow
