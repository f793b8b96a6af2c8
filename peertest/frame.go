package peertest

import (
	"fmt"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// tcp adds one TCP segment with payload bytes of payload, with the flags
// of tmpl, from the client (or the server) of cv at t.
func (g *generator) tcp(cv *conv, fromClient bool, t time.Time, tmpl layers.TCP, payload int) {
	src, dst, seq, ack := cv.c, cv.s, &cv.cSeq, cv.sSeq
	if !fromClient {
		src, dst, seq, ack = cv.s, cv.c, &cv.sSeq, cv.cSeq
	}
	l := tmpl
	l.SrcPort, l.DstPort = layers.TCPPort(src.port), layers.TCPPort(dst.port)
	l.Seq, l.Window = *seq, 64240
	if l.ACK {
		l.Ack = ack
	}
	l.DataOffset = 5
	n := uint32(payload)
	if l.SYN || l.FIN {
		n++
	}
	*seq += n
	g.add(cv, fromClient, t, layers.IPProtocolTCP, &l, payload)
}

// udp adds one UDP datagram with payload bytes of payload.
func (g *generator) udp(cv *conv, fromClient bool, t time.Time, payload int) {
	src, dst := cv.c, cv.s
	if !fromClient {
		src, dst = cv.s, cv.c
	}
	l := &layers.UDP{SrcPort: layers.UDPPort(src.port), DstPort: layers.UDPPort(dst.port)}
	g.add(cv, fromClient, t, layers.IPProtocolUDP, l, payload)
}

// icmp adds an echo request (from the client) or reply (from the server).
func (g *generator) icmp(cv *conv, fromClient bool, t time.Time, seq uint16) {
	if cv.v6 {
		typ := uint8(layers.ICMPv6TypeEchoRequest)
		if !fromClient {
			typ = layers.ICMPv6TypeEchoReply
		}
		l := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
		echo := &layers.ICMPv6Echo{Identifier: cv.icmpID, SeqNumber: seq}
		g.add(cv, fromClient, t, layers.IPProtocolICMPv6, l, 56, echo)
		return
	}
	typ := uint8(layers.ICMPv4TypeEchoRequest)
	if !fromClient {
		typ = layers.ICMPv4TypeEchoReply
	}
	l := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: cv.icmpID, Seq: seq}
	g.add(cv, fromClient, t, layers.IPProtocolICMPv4, l, 56)
}

// checksummer is a transport layer whose checksum covers a pseudo-header.
type checksummer interface {
	SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
}

// add serializes Ethernet (+802.1Q) / IP / l4 (/ extra) / payload and
// records the frame.
func (g *generator) add(cv *conv, fromClient bool, t time.Time, proto layers.IPProtocol,
	l4 gopacket.SerializableLayer, payload int, extra ...gopacket.SerializableLayer) {
	src, dst := cv.c, cv.s
	if !fromClient {
		src, dst = cv.s, cv.c
	}
	eth := &layers.Ethernet{SrcMAC: src.mac, DstMAC: dst.mac}
	var ls []gopacket.SerializableLayer
	ls = append(ls, eth)
	ethType := layers.EthernetTypeIPv4
	if cv.v6 {
		ethType = layers.EthernetTypeIPv6
	}
	if cv.vlan != 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: cv.vlan, Type: ethType})
	} else {
		eth.EthernetType = ethType
	}
	var nl gopacket.NetworkLayer
	var ip4 *layers.IPv4
	var ip6 *layers.IPv6
	if cv.v6 {
		ip6 = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.ip, DstIP: dst.ip}
		nl = ip6
		ls = append(ls, ip6)
	} else {
		cv.ipID++
		ip4 = &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: cv.ipID, Flags: layers.IPv4DontFragment,
			Protocol: proto, SrcIP: src.ip, DstIP: dst.ip}
		nl = ip4
		ls = append(ls, ip4)
	}
	if c, ok := l4.(checksummer); ok {
		if err := c.SetNetworkLayerForChecksum(nl); err != nil {
			g.err = fmt.Errorf("unable to set checksum layer: %w", err)
			return
		}
	}
	ls = append(ls, l4)
	ls = append(ls, extra...)
	body := make([]byte, payload)
	for i := range body {
		body[i] = byte(g.rng.IntN(256))
	}
	ls = append(ls, gopacket.Payload(body))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		g.err = fmt.Errorf("unable to serialize frame: %w", err)
		return
	}
	data := buf.Bytes()
	ipLen := 0
	if ip4 != nil {
		ipLen = int(ip4.Length)
	} else {
		ipLen = int(ip6.Length) + 40
	}
	g.frames = append(g.frames, frame{ts: t, seq: len(g.frames), data: data, ip: ipLen, vlan: cv.vlan != 0})
}
