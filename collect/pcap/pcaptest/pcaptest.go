// Package pcaptest builds small pcap and pcapng captures for tests: packets
// described by their 5-tuple are serialized with gopacket's layers under
// one of the common link types. It is imported by tests only.
package pcaptest

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Link types Frame supports.
const (
	LinkNull      = 0
	LinkEthernet  = 1
	LinkRaw       = 101
	LinkLinuxSLL  = 113
	LinkLinuxSLL2 = 276
)

// Packet describes one packet to build. Proto is 6 (TCP), 17 (UDP),
// 1 (ICMP) or 58 (ICMPv6); Flags are TCP flags (flow.TCPFin, ...); for
// ICMP, DstPort holds type<<8|code. Payload zero bytes follow the
// transport header. VLAN, if not 0, adds an 802.1Q tag (Ethernet only).
type Packet struct {
	Time             time.Time
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	Flags            uint8
	Payload          int
	VLAN             uint16
}

// IP returns the IP packet (header, transport header, payload).
func IP(p Packet) ([]byte, error) {
	var ipLayer gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	if p.Src.Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocol(p.Proto),
			SrcIP: net.IP(p.Src.AsSlice()), DstIP: net.IP(p.Dst.AsSlice())}
		ipLayer, nl = ip, ip
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocol(p.Proto),
			SrcIP: net.IP(p.Src.AsSlice()), DstIP: net.IP(p.Dst.AsSlice())}
		ipLayer, nl = ip, ip
	}
	ls := []gopacket.SerializableLayer{ipLayer}
	switch p.Proto {
	case 6:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(p.SrcPort), DstPort: layers.TCPPort(p.DstPort), Window: 1024,
			FIN: p.Flags&0x01 != 0, SYN: p.Flags&0x02 != 0, RST: p.Flags&0x04 != 0, PSH: p.Flags&0x08 != 0,
			ACK: p.Flags&0x10 != 0, URG: p.Flags&0x20 != 0, ECE: p.Flags&0x40 != 0, CWR: p.Flags&0x80 != 0}
		if err := tcp.SetNetworkLayerForChecksum(nl); err != nil {
			return nil, fmt.Errorf("unable to build tcp: %w", err)
		}
		ls = append(ls, tcp)
	case 17:
		udp := &layers.UDP{SrcPort: layers.UDPPort(p.SrcPort), DstPort: layers.UDPPort(p.DstPort)}
		if err := udp.SetNetworkLayerForChecksum(nl); err != nil {
			return nil, fmt.Errorf("unable to build udp: %w", err)
		}
		ls = append(ls, udp)
	case 1:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.ICMPv4TypeCode(p.DstPort)})
	case 58:
		icmp := &layers.ICMPv6{TypeCode: layers.ICMPv6TypeCode(p.DstPort)}
		if err := icmp.SetNetworkLayerForChecksum(nl); err != nil {
			return nil, fmt.Errorf("unable to build icmpv6: %w", err)
		}
		ls = append(ls, icmp)
	}
	ls = append(ls, gopacket.Payload(make([]byte, p.Payload)))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, fmt.Errorf("unable to serialize packet: %w", err)
	}
	return buf.Bytes(), nil
}

// Frame returns p as captured on the given link type.
func Frame(p Packet, link uint32) ([]byte, error) {
	ip, err := IP(p)
	if err != nil {
		return nil, err
	}
	et := uint16(0x0800)
	if !p.Src.Is4() {
		et = 0x86dd
	}
	switch link {
	case LinkRaw:
		return ip, nil
	case LinkEthernet:
		h := []byte{0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1}
		if p.VLAN != 0 {
			h = binary.BigEndian.AppendUint16(h, 0x8100)
			h = binary.BigEndian.AppendUint16(h, p.VLAN&0x0fff)
		}
		h = binary.BigEndian.AppendUint16(h, et)
		return append(h, ip...), nil
	case LinkNull:
		af := uint32(2)
		if !p.Src.Is4() {
			af = 30
		}
		return append(binary.LittleEndian.AppendUint32(nil, af), ip...), nil
	case LinkLinuxSLL:
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(h[4:], 6)
		binary.BigEndian.PutUint16(h[14:], et)
		return append(h, ip...), nil
	case LinkLinuxSLL2:
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], et)
		binary.BigEndian.PutUint16(h[8:], 1)
		h[11] = 6
		return append(h, ip...), nil
	}
	return nil, fmt.Errorf("unable to build frame: link type %d not supported", link)
}

// WritePcap writes a classic pcap file of pkts on link (nanosecond
// timestamps if nanos).
func WritePcap(w io.Writer, link uint32, nanos bool, pkts []Packet) error {
	pw := pcapgo.NewWriter(w)
	if nanos {
		pw = pcapgo.NewWriterNanos(w)
	}
	if err := pw.WriteFileHeader(65535, layers.LinkType(link)); err != nil {
		return fmt.Errorf("unable to write pcap header: %w", err)
	}
	for _, p := range pkts {
		b, err := Frame(p, link)
		if err != nil {
			return err
		}
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(b), Length: len(b)}
		if err := pw.WritePacket(ci, b); err != nil {
			return fmt.Errorf("unable to write packet: %w", err)
		}
	}
	return nil
}

// NGPacket is a packet captured on interface Iface of a pcapng file.
type NGPacket struct {
	Iface int
	Packet
}

// WritePcapNG writes a pcapng file with one interface per entry of links
// (its link type) and pkts on them.
func WritePcapNG(w io.Writer, links []uint32, pkts []NGPacket) error {
	if len(links) == 0 {
		return fmt.Errorf("unable to write pcapng: no interface")
	}
	nw, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{LinkType: layers.LinkType(links[0]), SnapLength: 65535},
		pcapgo.NgWriterOptions{})
	if err != nil {
		return fmt.Errorf("unable to write pcapng header: %w", err)
	}
	for _, l := range links[1:] {
		if _, err := nw.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkType(l), SnapLength: 65535}); err != nil {
			return fmt.Errorf("unable to add pcapng interface: %w", err)
		}
	}
	for _, p := range pkts {
		if p.Iface < 0 || p.Iface >= len(links) {
			return fmt.Errorf("unable to write pcapng packet: no interface %d", p.Iface)
		}
		b, err := Frame(p.Packet, links[p.Iface])
		if err != nil {
			return err
		}
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(b), Length: len(b), InterfaceIndex: p.Iface}
		if err := nw.WritePacket(ci, b); err != nil {
			return fmt.Errorf("unable to write pcapng packet: %w", err)
		}
	}
	if err := nw.Flush(); err != nil {
		return fmt.Errorf("unable to flush pcapng: %w", err)
	}
	return nil
}
