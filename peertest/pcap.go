package peertest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ReadDatagrams returns the UDP payloads of the IPv4/IPv6 UDP packets in
// a pcap file (Ethernet or raw IP link type), in file order, with their
// capture times. Other packets are skipped.
func ReadDatagrams(path string) ([]Datagram, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("unable to open capture: %w", err)
	}
	defer f.Close()
	dgs, err := readDatagrams(f)
	if err != nil {
		return nil, fmt.Errorf("unable to read capture %s: %w", path, err)
	}
	return dgs, nil
}

// readDatagrams is ReadDatagrams on an open capture.
func readDatagrams(in io.Reader) ([]Datagram, error) {
	r, err := pcapgo.NewReader(in)
	if err != nil {
		return nil, err
	}
	var first gopacket.Decoder
	switch lt := r.LinkType(); lt {
	case layers.LinkTypeEthernet:
		first = layers.LayerTypeEthernet
	case layers.LinkTypeRaw, layers.LinkTypeIPv4:
		first = layers.LayerTypeIPv4
	default:
		return nil, fmt.Errorf("link type %v not supported", lt)
	}
	var out []Datagram
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		p := gopacket.NewPacket(data, first, gopacket.NoCopy)
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			out = append(out, Datagram{At: ci.Timestamp, Data: append([]byte(nil), u.Payload...)})
		}
	}
}

// WriteDatagrams writes dgs as an Ethernet pcap of IPv4/UDP packets from
// src to dst ("ip:port"), the way tcpdump on the loopback records them.
func WriteDatagrams(w io.Writer, dgs []Datagram, src, dst string) error {
	sa, err := net.ResolveUDPAddr("udp4", src)
	if err != nil {
		return fmt.Errorf("unable to resolve %q: %w", src, err)
	}
	da, err := net.ResolveUDPAddr("udp4", dst)
	if err != nil {
		return fmt.Errorf("unable to resolve %q: %w", dst, err)
	}
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return fmt.Errorf("unable to write pcap header: %w", err)
	}
	for i, d := range dgs {
		eth := &layers.Ethernet{SrcMAC: make(net.HardwareAddr, 6), DstMAC: make(net.HardwareAddr, 6), EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: uint16(i), Flags: layers.IPv4DontFragment,
			Protocol: layers.IPProtocolUDP, SrcIP: sa.IP.To4(), DstIP: da.IP.To4()}
		udp := &layers.UDP{SrcPort: layers.UDPPort(sa.Port), DstPort: layers.UDPPort(da.Port)}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			return fmt.Errorf("unable to build datagram %d: %w", i, err)
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(d.Data)); err != nil {
			return fmt.Errorf("unable to build datagram %d: %w", i, err)
		}
		ci := gopacket.CaptureInfo{Timestamp: d.At, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := pw.WritePacket(ci, buf.Bytes()); err != nil {
			return fmt.Errorf("unable to write datagram %d: %w", i, err)
		}
	}
	return nil
}
