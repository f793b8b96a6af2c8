package sflow

import (
	"github.com/acd-org/acd/collect/packet"
	"github.com/acd-org/acd/flow"
)

// Where a record's addresses came from, in increasing order of trust.
const (
	fromNone      = iota
	fromSampled   // sampled IPv4/IPv6 record
	fromRawHeader // parsed raw packet header
)

// unknownIf is the interface value meaning "unknown".
const unknownIf = 0x3fffffff

// ifIndex returns the ifIndex of an interface given as format and value,
// or 0 when it is not a single known interface.
func ifIndex(format, value uint32) uint32 {
	if format != 0 || value == unknownIf {
		return 0
	}
	return value
}

// flowSample decodes a flow sample (compact or expanded) into one record
// appended to out.
func (d *Decoder) flowSample(b []byte, expanded bool, s *state, out []flow.Record) []flow.Record {
	var seq, rate, nrec uint32
	var src uint64
	var inF, inV, outF, outV uint32
	if expanded {
		if len(b) < 44 {
			s.fail(ErrBadSample)
			return out
		}
		seq, src, rate = be32(b), uint64(be32(b[4:]))<<32|uint64(be32(b[8:])), be32(b[12:])
		inF, inV, outF, outV = be32(b[24:]), be32(b[28:]), be32(b[32:]), be32(b[36:])
		nrec, b = be32(b[40:]), b[44:]
	} else {
		if len(b) < 32 {
			s.fail(ErrBadSample)
			return out
		}
		id := be32(b[4:])
		seq, src, rate = be32(b), uint64(id>>24)<<32|uint64(id&0xffffff), be32(b[8:])
		in, o := be32(b[20:]), be32(b[24:])
		inF, inV, outF, outV = in>>30, in&0x3fffffff, o>>30, o&0x3fffffff
		nrec, b = be32(b[28:]), b[32:]
	}
	d.sampleSequence(s, src, seq)

	out = append(out, s.base)
	r := &out[len(out)-1]
	r.InIf, r.OutIf = ifIndex(inF, inV), ifIndex(outF, outV)
	switch {
	case s.override != 0:
		r.SamplingRate, r.SamplingSource = s.override, flow.SamplingOverride
	case rate != 0:
		r.SamplingRate, r.SamplingSource = rate, flow.SamplingExporter
	case d.cfg.SamplingDefault != 0:
		r.SamplingRate, r.SamplingSource = d.cfg.SamplingDefault, flow.SamplingDefault
	default:
		r.SamplingRate, r.SamplingSource = 1, flow.SamplingNone
	}
	d.flowRecords(b, nrec, r, s)
	return out
}

// flowRecords decodes the nrec flow records in b into r.
func (d *Decoder) flowRecords(b []byte, nrec uint32, r *flow.Record, s *state) {
	from := fromNone
	for i := range nrec {
		if i >= uint32(d.cfg.MaxRecordsPerSample) {
			s.fail(ErrTooManyRecords)
			return
		}
		if len(b) < 8 {
			s.fail(ErrBadSample)
			return
		}
		format, length := be32(b), be32(b[4:])
		if uint64(length) > uint64(len(b)-8) {
			s.fail(ErrBadSample)
			return
		}
		body := b[8 : 8+int(length)]
		b = b[8+int(length):]
		var err error
		switch format {
		case 1:
			err = d.rawHeader(body, r, &from)
		case 3:
			err = sampledIPv4(body, r, &from)
		case 4:
			err = sampledIPv6(body, r, &from)
		case 1001, 1002:
			// Extended switch (VLANs, priorities) and router (next hop,
			// masks): nothing the record keeps.
		case 1003:
			err = gateway(body, r)
		default: // other formats, and any enterprise other than 0
			s.skipped++
		}
		if err != nil {
			s.fail(err)
		}
	}
}

// rawHeader decodes a raw packet header record.
func (d *Decoder) rawHeader(b []byte, r *flow.Record, from *int) error {
	if len(b) < 16 {
		return ErrBadRecord
	}
	proto, frameLen, stripped, hlen := be32(b), be32(b[4:]), be32(b[8:]), be32(b[12:])
	if uint64(hlen) > uint64(len(b)-16) {
		return ErrBadRecord
	}
	hdr := b[16 : 16+int(hlen)]
	var h packet.Header
	var err error
	switch proto {
	case 1: // Ethernet (ISO 802.3)
		err = packet.ParseEthernet(hdr, &h)
	case 11, 12: // IPv4, IPv6
		err = packet.ParseIP(hdr, &h)
	default:
		err = packet.ErrNotIP
	}
	if err != nil {
		if *from == fromNone {
			r.Bytes = uint64(d.frameBytes(frameLen, stripped, 0))
		}
		if err == packet.ErrBadIPHeader {
			return ErrBadRawHeader
		}
		return nil
	}
	*from = fromRawHeader
	r.SrcAddr, r.DstAddr = h.Src, h.Dst
	r.SrcPort, r.DstPort = h.SrcPort, h.DstPort
	r.Proto, r.TCPFlags = h.Proto, h.TCPFlags
	if d.byteIP && h.IPLen != 0 {
		r.Bytes = uint64(h.IPLen)
	} else {
		r.Bytes = uint64(d.frameBytes(frameLen, stripped, uint32(h.L3Offset)))
	}
	return nil
}

// frameBytes returns the byte count of a raw packet header record: the
// frame length, or in BytesIP mode the frame length without the stripped
// octets and the l2 bytes of link-layer headers.
func (d *Decoder) frameBytes(frameLen, stripped, l2 uint32) uint32 {
	if !d.byteIP {
		return frameLen
	}
	if uint64(stripped)+uint64(l2) >= uint64(frameLen) {
		return frameLen
	}
	return frameLen - stripped - l2
}

// sampledIPv4 decodes a sampled IPv4 record; a raw header, if any, wins.
func sampledIPv4(b []byte, r *flow.Record, from *int) error {
	if len(b) < 32 {
		return ErrBadRecord
	}
	if *from != fromNone {
		return nil
	}
	*from = fromSampled
	r.Bytes = uint64(be32(b))
	r.Proto = uint8(be32(b[4:]))
	r.SrcAddr = flow.AddrFrom4Slice(b[8:12])
	r.DstAddr = flow.AddrFrom4Slice(b[12:16])
	r.SrcPort, r.DstPort = uint16(be32(b[16:])), uint16(be32(b[20:]))
	r.TCPFlags = uint8(be32(b[24:]))
	return nil
}

// sampledIPv6 decodes a sampled IPv6 record; a raw header, if any, wins.
func sampledIPv6(b []byte, r *flow.Record, from *int) error {
	if len(b) < 56 {
		return ErrBadRecord
	}
	if *from != fromNone {
		return nil
	}
	*from = fromSampled
	r.Bytes = uint64(be32(b))
	r.Proto = uint8(be32(b[4:]))
	r.SrcAddr = flow.AddrFrom16Slice(b[8:24])
	r.DstAddr = flow.AddrFrom16Slice(b[24:40])
	r.SrcPort, r.DstPort = uint16(be32(b[40:])), uint16(be32(b[44:]))
	r.TCPFlags = uint8(be32(b[48:]))
	return nil
}

// gateway decodes an extended gateway record: the source AS and the last
// AS of the AS path as destination AS.
func gateway(b []byte, r *flow.Record) error {
	if len(b) < 4 {
		return ErrBadRecord
	}
	off := 4
	switch be32(b) { // next hop address
	case 0:
	case 1:
		off += 4
	case 2:
		off += 16
	default:
		return ErrBadRecord
	}
	// as, src_as, src_peer_as, segment count
	if len(b) < off+16 {
		return ErrBadRecord
	}
	srcAS, nseg := be32(b[off+4:]), be32(b[off+12:])
	off += 16
	var dstAS uint32
	for range nseg {
		if len(b)-off < 8 {
			return ErrBadRecord
		}
		n := be32(b[off+4:])
		off += 8
		if uint64(n)*4 > uint64(len(b)-off) {
			return ErrBadRecord
		}
		if n > 0 {
			dstAS = be32(b[off+int(n-1)*4:])
		}
		off += int(n) * 4
	}
	r.SrcAS, r.DstAS = srcAS, dstAS
	return nil
}
