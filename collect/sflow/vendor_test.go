package sflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

// Samples shaped like what third-party agents send (Arista, Juniper,
// Cumulus/hsflowd): extended records acd does not keep, stacked VLAN
// tags, IPv6 extension headers, large ifIndex values.
func TestVendorSamples(t *testing.T) {
	tcp := tcpHdr(443, 51000, flow.TCPAck, []byte("payload"))
	qinq := join(ethernet(0x0800, 0x88a80010, 0x81000064), ipv4(6, "198.51.100.1", "203.0.113.9", 20+uint16(len(tcp)), tcp))
	// Hop-by-hop options (8 bytes) then a first fragment (8 bytes) then TCP.
	ext := join([]byte{44, 0, 1, 4, 0, 0, 0, 0}, []byte{6, 0, 0, 1, 0, 0, 0, 9}, tcp)
	v6ext := join(ethernet(0x86dd), ipv6(0, "2001:db8::1", "2001:db8::2", uint16(len(ext)), ext))
	user := tlv(1004, join(u32s(nil, 106, 5), []byte("alice\x00\x00\x00"), u32s(nil, 106, 3), []byte("bob\x00")))
	url := tlv(1005, join(u32s(nil, 1, 11), []byte("/index.html\x00"), u32s(nil, 11), []byte("example.com\x00")))
	mpls := tlv(1006, u32s(nil, 1, 0xc0000201, 2, 100<<12|1<<8|64, 200<<12|1<<8|64, 1, 300<<12|1<<8|64))
	asSet := func() []byte { // AS_SEQUENCE then an AS_SET as the last segment
		b := u32s(nil, 2, 0x20010db8, 0, 0, 1, 65000, 64500, 64501, 2)
		b = u32s(b, 2, 2, 64501, 64502)
		b = u32s(b, 1, 3, 64601, 64602, 64603)
		return tlv(1003, u32s(b, 1, 0x0000fde8, 100)) // one community, local pref
	}()
	dg := func(agent string, samples ...[]byte) []byte {
		return datagram{agent: agent, sub: 3, seq: 1, uptime: 1000, samples: samples}.bytes()
	}
	base := rec(func(r *flow.Record) {
		r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort, r.Proto, r.TCPFlags = addr("198.51.100.1"), addr("203.0.113.9"), 443, 51000, 6, flow.TCPAck
		r.Bytes, r.InIf, r.OutIf = 1000, 5, 7
	})
	for _, tc := range []struct {
		name   string
		pkt    []byte
		want   []flow.Record
		events recorder
	}{
		{
			name: "qinq tagged frame",
			pkt:  dg("192.0.2.250", flowSample{seq: 1, srcIndex: 5, rate: 512, in: 5, out: 7, records: [][]byte{rawHeader(1, 1000, 4, qinq)}}.compact()),
			want: []flow.Record{base},
		},
		{
			name: "ipv6 extension headers",
			pkt:  dg("192.0.2.250", flowSample{seq: 1, srcIndex: 5, rate: 512, in: 5, out: 7, records: [][]byte{rawHeader(1, 1000, 4, v6ext)}}.compact()),
			want: []flow.Record{rec(func(r *flow.Record) {
				*r = base
				r.SrcAddr, r.DstAddr = addr("2001:db8::1"), addr("2001:db8::2")
			})},
		},
		{
			name: "extended user url mpls records skipped, as set last",
			pkt: dg("192.0.2.250", flowSample{seq: 1, srcIndex: 5, rate: 512, in: 5, out: 7,
				records: [][]byte{user, url, mpls, rawHeader(1, 1000, 4, qinq), asSet}}.compact()),
			want:   []flow.Record{rec(func(r *flow.Record) { *r = base; r.SrcAS, r.DstAS = 64500, 64603 })},
			events: recorder{flow.EventSkipped: 3},
		},
		{
			// Expanded samples carry the full 32-bit ifIndex (Juniper and
			// Arista use values above 2^30).
			name: "expanded sample ifindex above 2^30, ipv6 agent",
			pkt: dg("2001:db8::fe", flowSample{seq: 1, srcType: 0, srcIndex: 0x40000005, rate: 512, in: 0x40000005, out: 0x80000007,
				records: [][]byte{rawHeader(1, 1000, 4, qinq)}}.expanded()),
			want: []flow.Record{rec(func(r *flow.Record) {
				*r = base
				r.Exporter, r.InIf, r.OutIf = addr("2001:db8::fe"), 0x40000005, 0x80000007
			})},
		},
		{
			name:   "counter sample with many records",
			pkt:    dg("192.0.2.250", tlv(2, join(u32s(nil, 7, 3, 4), tlv(1, make([]byte, 88)), tlv(2, make([]byte, 52)), tlv(1005, make([]byte, 40)), tlv(2000, make([]byte, 64))))),
			events: recorder{flow.EventCounterSamples: 1},
		},
		{
			name: "datagram with no samples",
			pkt:  dg("2001:db8::fe"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := recorder{}
			d := New(DefaultConfig(), ev)
			got, _, err := d.Decode(tc.pkt, flow.Exporter{Addr: addr("192.0.2.250"), Port: 6343}, testNow, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("records (-got, +want):\n%s", diff)
			}
			want := tc.events
			if want == nil {
				want = recorder{}
			}
			for k, v := range ev {
				if v == 0 {
					delete(ev, k)
				}
			}
			if diff := cmp.Diff(ev, want); diff != "" {
				t.Errorf("events (-got, +want):\n%s", diff)
			}
		})
	}
}
