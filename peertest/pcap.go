package peertest

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/acd-org/acd/flowgen"
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

// WriteDatagrams writes dgs as an Ethernet pcap of UDP packets from src
// to dst ("ip:port", both IPv4 or both IPv6), the way tcpdump on the
// loopback records them, each at its capture time.
func WriteDatagrams(w io.Writer, dgs []Datagram, src, dst string) error {
	sa, err := netip.ParseAddrPort(src)
	if err != nil {
		return fmt.Errorf("unable to parse %q: %w", src, err)
	}
	da, err := netip.ParseAddrPort(dst)
	if err != nil {
		return fmt.Errorf("unable to parse %q: %w", dst, err)
	}
	pw, err := flowgen.NewPcapWriter(w, sa, da)
	if err != nil {
		return err
	}
	for _, d := range dgs {
		if _, err := pw.WriteBatch([][]byte{d.Data}, d.At); err != nil {
			return err
		}
	}
	return pw.Flush()
}
