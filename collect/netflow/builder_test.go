package netflow

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/acd-org/acd/flow"
)

// Small encoders for test packets.

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func ip(s string) []byte   { return netip.MustParseAddr(s).AsSlice() }
func addr(s string) flow.Addr {
	return flow.AddrFromNetip(netip.MustParseAddr(s))
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// varField encodes an IPFIX variable-length field value: a 1-byte
// length, or 255 and a 2-byte length when long3 is set or it is long.
func varField(v []byte, long3 bool) []byte {
	if long3 || len(v) >= 255 {
		return cat([]byte{255}, be16(uint16(len(v))), v)
	}
	return cat([]byte{byte(len(v))}, v)
}

// fld is a template field.
type fld struct {
	id  uint16
	n   uint16
	pen uint32
}

func (f fld) bytes() []byte {
	if f.pen != 0 {
		return cat(be16(f.id|0x8000), be16(f.n), be32(f.pen))
	}
	return cat(be16(f.id), be16(f.n))
}

func fieldBytes(fs []fld) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.bytes()...)
	}
	return b
}

// tmplRec is a (v9 or IPFIX) data template record.
func tmplRec(id uint16, fs ...fld) []byte {
	return cat(be16(id), be16(uint16(len(fs))), fieldBytes(fs))
}

// optRecV9 is a v9 options template record.
func optRecV9(id uint16, scope, opts []fld) []byte {
	return cat(be16(id), be16(uint16(4*len(scope))), be16(uint16(4*len(opts))), fieldBytes(scope), fieldBytes(opts))
}

// optRecIPFIX is an IPFIX options template record.
func optRecIPFIX(id uint16, scope, opts []fld) []byte {
	return cat(be16(id), be16(uint16(len(scope)+len(opts))), be16(uint16(len(scope))), fieldBytes(scope), fieldBytes(opts))
}

// set is a set (flowset) with id and body padded to pad bytes.
func set(id uint16, pad int, body ...[]byte) []byte {
	b := cat(body...)
	for pad > 0 && (len(b)+4)%pad != 0 {
		b = append(b, 0)
	}
	return cat(be16(id), be16(uint16(len(b)+4)), b)
}

// v9Msg is a NetFlow v9 datagram.
type v9Msg struct {
	uptime, secs, seq, source uint32
	sets                      [][]byte
}

func (m v9Msg) bytes() []byte {
	return cat(be16(9), be16(uint16(len(m.sets))), be32(m.uptime), be32(m.secs), be32(m.seq), be32(m.source), cat(m.sets...))
}

// ipfixMsg is an IPFIX message.
type ipfixMsg struct {
	export, seq, domain uint32
	sets                [][]byte
}

func (m ipfixMsg) bytes() []byte {
	body := cat(m.sets...)
	return cat(be16(10), be16(uint16(16+len(body))), be32(m.export), be32(m.seq), be32(m.domain), body)
}

// v5Rec is a NetFlow v5 record.
type v5Rec struct {
	src, dst     string
	in, out      uint16
	pkts, octets uint32
	first, last  uint32
	sport, dport uint16
	flags, proto uint8
	srcAS, dstAS uint16
}

func (r v5Rec) bytes() []byte {
	return cat(ip(r.src), ip(r.dst), ip("0.0.0.0"), be16(r.in), be16(r.out), be32(r.pkts), be32(r.octets),
		be32(r.first), be32(r.last), be16(r.sport), be16(r.dport), []byte{0, r.flags, r.proto, 0},
		be16(r.srcAS), be16(r.dstAS), []byte{24, 24, 0, 0})
}

// v5Msg is a NetFlow v5 datagram.
type v5Msg struct {
	uptime, secs, nsecs, seq uint32
	engine                   uint16
	sampling                 uint16
	recs                     []v5Rec
}

func (m v5Msg) bytes() []byte {
	b := cat(be16(5), be16(uint16(len(m.recs))), be32(m.uptime), be32(m.secs), be32(m.nsecs), be32(m.seq), be16(m.engine), be16(m.sampling))
	for _, r := range m.recs {
		b = append(b, r.bytes()...)
	}
	return b
}

// Test fixtures.
var (
	testNow  = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	testSecs = uint32(testNow.Unix())
	testMs   = testNow.UnixMilli()
	expA     = flow.Exporter{Addr: addr("192.0.2.1"), Port: 2055}
	expB     = flow.Exporter{Addr: addr("192.0.2.2"), Port: 2055}
)

// recorder is an Observer that sums deltas per event.
type recorder struct {
	sums map[flow.Event]int
	per  map[flow.Exporter]map[flow.Event]int
}

func newRecorder() *recorder {
	return &recorder{sums: map[flow.Event]int{}, per: map[flow.Exporter]map[flow.Event]int{}}
}

func (r *recorder) Observe(exp flow.Exporter, _ flow.Format, ev flow.Event, delta int) {
	r.sums[ev] += delta
	if r.per[exp] == nil {
		r.per[exp] = map[flow.Event]int{}
	}
	r.per[exp][ev] += delta
}

// v4Fields is a typical IPv4 v9/IPFIX template (softflowd-like).
var v4Fields = []fld{
	{8, 4, 0}, {12, 4, 0}, {22, 4, 0}, {21, 4, 0}, {1, 4, 0}, {2, 4, 0}, {10, 4, 0}, {14, 4, 0},
	{7, 2, 0}, {11, 2, 0}, {4, 1, 0}, {6, 1, 0}, {16, 4, 0}, {17, 4, 0},
}

// v4Data encodes a record of v4Fields.
func v4Data(src, dst string, first, last, octets, pkts uint32, sport, dport uint16, proto, flags uint8) []byte {
	return cat(ip(src), ip(dst), be32(first), be32(last), be32(octets), be32(pkts), be32(3), be32(4),
		be16(sport), be16(dport), []byte{proto, flags}, be32(65001), be32(65002))
}
