package scan

import (
	"testing"

	"github.com/acd-org/acd/flow"
)

func TestClassify(t *testing.T) {
	c := classifier{maxPackets: 3, maxBytes: 160, udp: true, icmp: true}
	src, dst := v4(192, 0, 2, 1), v4(198, 51, 100, 1)
	rec := func(proto, flags uint8, sp, dp uint16, pkts, bytes uint64) flow.Record {
		return flow.Record{SrcAddr: src, DstAddr: dst, Proto: proto, TCPFlags: flags, SrcPort: sp, DstPort: dp, Packets: pkts, Bytes: bytes}
	}
	const (
		S, A, R, F, P = flow.TCPSyn, flow.TCPAck, flow.TCPRst, flow.TCPFin, flow.TCPPsh
	)
	for _, tc := range []struct {
		name string
		r    flow.Record
		want kind
	}{
		{"syn", rec(protoTCP, S, 40000, 22, 1, 44), kFailed},
		{"syn retransmitted", rec(protoTCP, S, 40000, 443, 3, 180), kFailed},
		{"half-open open port", rec(protoTCP, S|R, 40000, 22, 2, 88), kFailed},
		{"fin scan", rec(protoTCP, F, 40000, 22, 1, 40), kFailed},
		{"syn flood aggregated", rec(protoTCP, S, 40000, 80, 500, 20000), kOther},
		{"syn with payload", rec(protoTCP, S, 40000, 80, 1, 1400), kOther},
		{"connect scan open port", rec(protoTCP, S|A|R, 40000, 22, 3, 120), kAnswered},
		{"session", rec(protoTCP, S|A|P|F, 40000, 443, 12, 2400), kOther},
		{"short session with payload", rec(protoTCP, S|A|P|F, 40000, 443, 3, 400), kOther},
		{"syn-ack backscatter", rec(protoTCP, S|A, 80, 40000, 1, 44), kOther},
		{"rst answer", rec(protoTCP, R|A, 22, 40000, 1, 40), kOther},
		{"bare rst", rec(protoTCP, R, 22, 40000, 1, 40), kOther},
		{"tcp without flags toward service", rec(protoTCP, 0, 40000, 22, 1, 44), kUnknown},
		{"tcp without flags from service", rec(protoTCP, 0, 22, 40000, 1, 44), kOther},
		{"udp probe", rec(protoUDP, 0, 40000, 161, 1, 70), kUnknown},
		{"udp ntp symmetric", rec(protoUDP, 0, 123, 123, 1, 76), kOther},
		{"udp dns answer", rec(protoUDP, 0, 53, 40000, 1, 120), kOther},
		{"udp from well-known to lower", rec(protoUDP, 0, 500, 53, 1, 80), kOther},
		{"udp large", rec(protoUDP, 0, 40000, 9999, 50, 60000), kOther},
		{"icmp echo", rec(protoICMP, 0, 0, 8<<8, 1, 84), kUnknown},
		{"icmp echo reply", rec(protoICMP, 0, 0, 0, 1, 84), kOther},
		{"icmp unreachable", rec(protoICMP, 0, 0, 3<<8|3, 1, 56), kUnreach},
		{"icmpv6 echo", rec(protoICMPv6, 0, 0, 128<<8, 1, 104), kUnknown},
		{"icmpv6 unreachable", rec(protoICMPv6, 0, 0, 1<<8|4, 1, 96), kUnreach},
		{"gre", rec(47, 0, 0, 0, 1, 60), kOther},
		{"zero packets", rec(protoTCP, S, 40000, 22, 0, 0), kFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			if got, _ := c.classify(&r); got != tc.want {
				t.Errorf("classify = %d, want %d", got, tc.want)
			}
		})
	}
	off := classifier{maxPackets: 3, maxBytes: 160}
	for _, r := range []flow.Record{rec(protoUDP, 0, 40000, 161, 1, 70), rec(protoICMP, 0, 0, 8<<8, 1, 84)} {
		if got, _ := off.classify(&r); got != kOther {
			t.Errorf("udp/icmp off: proto %d classified %d", r.Proto, got)
		}
	}
}
