package flowgen

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	gfsflow "github.com/netsampler/goflow2/v2/decoders/sflow"
)

// This file decodes the encoders' datagrams with goflow2's decoders (an
// independent implementation) into flow.Record values, for the round-trip
// tests.

// header is what the round-trip tests check of a datagram header.
type header struct {
	Seq      uint32
	Domain   uint32
	Sampling uint32
	Samples  []uint32 // sFlow flow sample sequence numbers
}

// gfDecoder decodes a stream of datagrams of one format with goflow2.
type gfDecoder struct {
	t         *testing.T
	templates netflow.NetFlowTemplateSystem
	sampling  uint32
}

func newGF(t *testing.T) *gfDecoder {
	t.Helper()
	return &gfDecoder{t: t, templates: netflow.CreateTemplateSystem()}
}

func (d *gfDecoder) decode(f flow.Format, pkt []byte) ([]flow.Record, header) {
	d.t.Helper()
	switch f {
	case flow.FormatNetFlowV5:
		return d.v5(pkt)
	case flow.FormatNetFlowV9, flow.FormatIPFIX:
		return d.nf(pkt)
	case flow.FormatSFlow:
		return d.sflow(pkt)
	}
	d.t.Fatalf("format %v", f)
	return nil, header{}
}

func (d *gfDecoder) v5(pkt []byte) ([]flow.Record, header) {
	var p netflowlegacy.PacketNetFlowV5
	if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
		d.t.Fatalf("goflow2 v5: %v", err)
	}
	boot := int64(p.UnixSecs)*1000 + int64(p.UnixNSecs)/1e6 - int64(p.SysUptime)
	var out []flow.Record
	for _, r := range p.Records {
		out = append(out, flow.Record{
			Start: boot + int64(r.First), End: boot + int64(r.Last),
			Bytes: uint64(r.DOctets), Packets: uint64(r.DPkts),
			SrcAddr: v4(uint32(r.SrcAddr)), DstAddr: v4(uint32(r.DstAddr)),
			InIf: uint32(r.Input), OutIf: uint32(r.Output), SrcAS: uint32(r.SrcAS), DstAS: uint32(r.DstAS),
			SrcPort: r.SrcPort, DstPort: r.DstPort, Proto: r.Proto, TCPFlags: r.TCPFlags,
		})
	}
	return out, header{Seq: p.FlowSequence, Domain: uint32(p.EngineId), Sampling: uint32(p.SamplingInterval & 0x3fff)}
}

func v4(a uint32) flow.Addr {
	return flow.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

func (d *gfDecoder) nf(pkt []byte) ([]flow.Record, header) {
	var p9 netflow.NFv9Packet
	var pf netflow.IPFIXPacket
	if err := netflow.DecodeMessageVersion(bytes.NewBuffer(pkt), d.templates, &p9, &pf); err != nil {
		d.t.Fatalf("goflow2 netflow: %v", err)
	}
	sets, h := pf.FlowSets, header{Seq: pf.SequenceNumber, Domain: pf.ObservationDomainId}
	var boot int64
	if p9.Version == 9 {
		sets, h = p9.FlowSets, header{Seq: p9.SequenceNumber, Domain: p9.SourceId}
		boot = int64(p9.UnixSeconds)*1000 - int64(p9.SystemUptime)
	}
	var out []flow.Record
	for _, s := range sets {
		switch s := s.(type) {
		case netflow.DataFlowSet:
			for _, r := range s.Records {
				out = append(out, nfRecord(r.Values, boot))
			}
		case netflow.OptionsDataFlowSet:
			for _, r := range s.Records {
				for _, v := range r.OptionsValues {
					if v.Type == nfSamplingInt {
						d.sampling = uint32(be(v.Value.([]byte)))
					}
				}
			}
		case netflow.RawFlowSet:
			d.t.Fatalf("goflow2 netflow: data set %d without template", s.Id)
		}
	}
	h.Sampling = d.sampling
	return out, h
}

func be(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// nfRecord maps v9 and IPFIX fields (same ids for what we use) to a record;
// v9 times are sysUptime-relative (boot), IPFIX's absolute (boot 0).
func nfRecord(vals []netflow.DataField, boot int64) flow.Record {
	var r flow.Record
	for _, v := range vals {
		b := v.Value.([]byte)
		x := be(b)
		switch v.Type {
		case nfInBytes:
			r.Bytes = x
		case nfInPkts:
			r.Packets = x
		case nfProtocol:
			r.Proto = uint8(x)
		case nfTCPFlags:
			r.TCPFlags = uint8(x)
		case nfL4SrcPort:
			r.SrcPort = uint16(x)
		case nfL4DstPort:
			r.DstPort = uint16(x)
		case nfIPv4Src, nfIPv6Src:
			r.SrcAddr = flow.AddrFromNetip(addr(b))
		case nfIPv4Dst, nfIPv6Dst:
			r.DstAddr = flow.AddrFromNetip(addr(b))
		case nfInputSNMP:
			r.InIf = uint32(x)
		case nfOutputSNMP:
			r.OutIf = uint32(x)
		case nfSrcAS:
			r.SrcAS = uint32(x)
		case nfDstAS:
			r.DstAS = uint32(x)
		case nfFirstSwitch:
			r.Start = boot + int64(x)
		case nfLastSwitch:
			r.End = boot + int64(x)
		case ieFlowStartMs:
			r.Start = int64(x)
		case ieFlowEndMs:
			r.End = int64(x)
		}
	}
	return r
}

func addr(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a
}

func (d *gfDecoder) sflow(pkt []byte) ([]flow.Record, header) {
	var p gfsflow.Packet
	if err := gfsflow.DecodeMessageVersion(bytes.NewBuffer(pkt), &p); err != nil {
		d.t.Fatalf("goflow2 sflow: %v", err)
	}
	h := header{Seq: p.SequenceNumber, Domain: p.SubAgentId}
	var out []flow.Record
	for _, s := range p.Samples {
		fs, ok := s.(gfsflow.FlowSample)
		if !ok {
			continue
		}
		h.Samples = append(h.Samples, fs.Header.SampleSequenceNumber)
		h.Sampling = fs.SamplingRate
		for _, rec := range fs.Records {
			sh, ok := rec.Data.(gfsflow.SampledHeader)
			if !ok {
				d.t.Fatalf("sflow record %T", rec.Data)
			}
			r := parseFrame(d.t, sh.HeaderData[:sh.OriginalLength])
			if want := uint32(r.Bytes) + ethLen + fcsLen; sh.FrameLength != want {
				d.t.Errorf("frame length %d, want %d", sh.FrameLength, want)
			}
			r.InIf, r.OutIf, r.SamplingRate = fs.Input, fs.Output, fs.SamplingRate
			out = append(out, r)
		}
	}
	return out, h
}

// parseFrame reads a sampled frame with gopacket: addresses, ports (ICMP
// type<<8|code in DstPort), protocol, flags, and the IP length as Bytes.
func parseFrame(t *testing.T, b []byte) flow.Record {
	t.Helper()
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: false, NoCopy: true})
	r := flow.Record{Packets: 1}
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		r.SrcAddr, r.DstAddr = flow.AddrFromNetip(addr(ip.SrcIP.To4())), flow.AddrFromNetip(addr(ip.DstIP.To4()))
		r.Proto, r.Bytes = uint8(ip.Protocol), uint64(ip.Length)
		if ip.Checksum != ipChecksumOf(ip.Contents) {
			t.Errorf("ipv4 checksum %#x", ip.Checksum)
		}
	} else if ip6, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		r.SrcAddr, r.DstAddr = flow.AddrFromNetip(addr(ip6.SrcIP)), flow.AddrFromNetip(addr(ip6.DstIP))
		r.Proto, r.Bytes = uint8(ip6.NextHeader), uint64(ip6.Length)+40
	} else {
		t.Fatalf("no IP layer in sampled header % x", b)
	}
	switch l := p.TransportLayer().(type) {
	case *layers.TCP:
		r.SrcPort, r.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
		r.TCPFlags = l.Contents[13]
	case *layers.UDP:
		r.SrcPort, r.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
	}
	if l, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		r.DstPort = uint16(l.TypeCode)
	}
	if l, ok := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
		r.DstPort = uint16(l.TypeCode)
	}
	return r
}

// ipChecksumOf verifies: the checksum of a header with its checksum field
// zeroed.
func ipChecksumOf(h []byte) uint16 {
	c := append([]byte(nil), h...)
	c[10], c[11] = 0, 0
	return ipChecksum(c)
}

// testNow is a whole second, so v9's second-resolution export time loses
// nothing.
var testNow = time.Unix(1_750_000_000, 0)
