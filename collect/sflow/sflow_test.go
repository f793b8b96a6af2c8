package sflow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

var (
	testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	testExp = flow.Exporter{Addr: addr("127.0.0.1"), Port: 40000}
)

// recorder is a flow.Observer that sums events.
type recorder map[flow.Event]int

func (r recorder) Observe(_ flow.Exporter, f flow.Format, ev flow.Event, delta int) {
	if f != flow.FormatSFlow {
		panic("observed format " + f.String())
	}
	r[ev] += delta
}

// rec returns the record a flow sample of agent 192.0.2.250 sub-agent 3
// decodes to, before the fields set by the case.
func rec(f func(r *flow.Record)) flow.Record {
	r := flow.Record{
		Start: testNow.UnixMilli(), End: testNow.UnixMilli(), Packets: 1,
		Exporter: addr("192.0.2.250"), ObservationDomain: 3,
		SamplingRate: 512, SamplingSource: flow.SamplingExporter, Format: flow.FormatSFlow,
	}
	f(&r)
	return r
}

func TestDecode(t *testing.T) {
	payload := []byte("secret payload bytes")
	tcpFrame := join(ethernet(0x0800, 0x81000064), ipv4(6, "198.51.100.1", "203.0.113.9", 40+uint16(len(payload)),
		tcpHdr(443, 51000, flow.TCPAck|flow.TCPPsh, payload)))
	udp6Frame := join(ethernet(0x86dd), ipv6(17, "2001:db8::1", "2001:db8::2", 8+4, udpHdr(53, 5353, []byte{1, 2, 3, 4})))
	fs := func(recs ...[]byte) flowSample {
		return flowSample{seq: 10, srcIndex: 5, rate: 512, pool: 5120, in: 5, out: 7, records: recs}
	}
	dg := func(samples ...[]byte) []byte {
		return datagram{agent: "192.0.2.250", sub: 3, seq: 1, uptime: 1000, samples: samples}.bytes()
	}
	tcpRec := rec(func(r *flow.Record) {
		r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort, r.Proto = addr("198.51.100.1"), addr("203.0.113.9"), 443, 51000, 6
		r.TCPFlags, r.Bytes, r.InIf, r.OutIf = flow.TCPAck|flow.TCPPsh, 82, 5, 7
	})
	cases := []struct {
		name   string
		cfg    func(*Config)
		pkt    []byte
		want   []flow.Record
		err    error
		events recorder
	}{
		{
			name: "raw ethernet header",
			pkt:  dg(fs(rawHeader(1, 82, 4, tcpFrame)).compact()),
			want: []flow.Record{tcpRec},
		}, {
			name: "byte count ip",
			cfg:  func(c *Config) { c.ByteCount = BytesIP },
			pkt:  dg(fs(rawHeader(1, 82, 4, tcpFrame)).compact()),
			want: []flow.Record{rec(func(r *flow.Record) { *r = tcpRec; r.Bytes = 60 })},
		}, {
			name: "truncated header keeps addresses",
			pkt:  dg(fs(rawHeader(1, 1518, 4, tcpFrame[:18+20+2])).compact()),
			want: []flow.Record{rec(func(r *flow.Record) {
				r.SrcAddr, r.DstAddr, r.Proto, r.Bytes, r.InIf, r.OutIf = addr("198.51.100.1"), addr("203.0.113.9"), 6, 1518, 5, 7
			})},
		}, {
			name: "ipv6 agent expanded sample raw ipv6 header",
			pkt: datagram{agent: "2001:db8::fe", sub: 3, seq: 1, samples: [][]byte{
				flowSample{seq: 1, srcType: 0, srcIndex: 1 << 30, rate: 512, inFmt: 0, in: 1 << 30, outFmt: 0, out: 0x80000000,
					records: [][]byte{rawHeader(12, 52, 0, udp6Frame[14:])}}.expanded(),
			}}.bytes(),
			want: []flow.Record{rec(func(r *flow.Record) {
				r.Exporter = addr("2001:db8::fe")
				r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort, r.Proto = addr("2001:db8::1"), addr("2001:db8::2"), 53, 5353, 17
				r.Bytes, r.InIf, r.OutIf = 52, 1<<30, 0x80000000
			})},
		}, {
			name: "raw ipv4 header",
			pkt:  dg(fs(rawHeader(11, 60, 0, tcpFrame[18:])).compact()),
			want: []flow.Record{rec(func(r *flow.Record) { *r = tcpRec; r.Bytes = 60 })},
		}, {
			name: "sampled ipv4 and ipv6 records",
			pkt: dg(fs(sampledIP(1500, 17, "10.0.0.1", "10.0.0.2", 1000, 53, 0)).compact(),
				fs(sampledIP(1280, 6, "2001:db8::1", "2001:db8::2", 22, 50000, 0x12)).compact()),
			want: []flow.Record{
				rec(func(r *flow.Record) {
					r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort, r.Proto, r.Bytes, r.InIf, r.OutIf = addr("10.0.0.1"), addr("10.0.0.2"), 1000, 53, 17, 1500, 5, 7
				}),
				rec(func(r *flow.Record) {
					r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort, r.Proto, r.TCPFlags = addr("2001:db8::1"), addr("2001:db8::2"), 22, 50000, 6, 0x12
					r.Bytes, r.InIf, r.OutIf = 1280, 5, 7
				}),
			},
		}, {
			name: "raw header wins over sampled ipv4",
			pkt:  dg(fs(sampledIP(1500, 17, "10.0.0.1", "10.0.0.2", 1000, 53, 0), rawHeader(1, 82, 4, tcpFrame)).compact()),
			want: []flow.Record{tcpRec},
		}, {
			name: "extended records and gateway as path",
			pkt: dg(fs(tlv(1001, u32s(nil, 100, 0, 200, 0)), tlv(1002, u32s(nil, 1, 0x0a000001, 24, 16)),
				rawHeader(1, 82, 4, tcpFrame), gatewayRec(65000, 64500, 64501, []uint32{64501, 64502}, []uint32{64510, 64511})).compact()),
			want: []flow.Record{rec(func(r *flow.Record) { *r = tcpRec; r.SrcAS, r.DstAS = 64500, 64511 })},
		}, {
			name: "gateway empty path",
			pkt:  dg(fs(gatewayRec(65000, 64500, 0)).compact()),
			want: []flow.Record{rec(func(r *flow.Record) { r.SrcAS, r.InIf, r.OutIf = 64500, 5, 7 })},
		}, {
			name: "interface formats: discarded, multiple, unknown",
			pkt: dg(flowSample{rate: 512, inFmt: 0, in: 0x3fffffff, outFmt: 1, out: 12, records: [][]byte{rawHeader(1, 82, 4, tcpFrame)}}.compact(),
				flowSample{rate: 512, in: 9, outFmt: 2, out: 3}.compact()),
			want: []flow.Record{
				rec(func(r *flow.Record) { *r = tcpRec; r.InIf, r.OutIf = 0, 0 }),
				rec(func(r *flow.Record) { r.InIf = 9 }),
			},
		}, {
			name: "non-ip frame keeps bytes",
			pkt:  dg(fs(rawHeader(1, 64, 4, join(ethernet(0x0806), make([]byte, 28)))).compact()),
			want: []flow.Record{rec(func(r *flow.Record) { r.Bytes, r.InIf, r.OutIf = 64, 5, 7 })},
		}, {
			name: "unknown header protocol keeps bytes",
			pkt:  dg(fs(rawHeader(7, 100, 0, make([]byte, 40))).compact()),
			want: []flow.Record{rec(func(r *flow.Record) { r.Bytes, r.InIf, r.OutIf = 100, 5, 7 })},
		}, {
			name:   "counter samples and unknown formats",
			pkt:    dg(counterSample(false), counterSample(true), tlv(5, make([]byte, 16)), tlv(4300<<12|1002, make([]byte, 8)), fs(tlv(2, make([]byte, 24)), tlv(9<<12|1, nil), rawHeader(1, 82, 4, tcpFrame)).compact()),
			want:   []flow.Record{tcpRec},
			events: recorder{flow.EventCounterSamples: 2, flow.EventSkipped: 4},
		}, {
			name: "sampling override",
			cfg:  func(c *Config) { c.SamplingOverride = map[string]uint32{"192.0.2.250": 100} },
			pkt:  dg(fs(rawHeader(1, 82, 4, tcpFrame)).compact()),
			want: []flow.Record{rec(func(r *flow.Record) { *r = tcpRec; r.SamplingRate, r.SamplingSource = 100, flow.SamplingOverride })},
		}, {
			name: "sampling default",
			cfg:  func(c *Config) { c.SamplingDefault = 64 },
			pkt:  dg(flowSample{in: 5, out: 7}.compact()),
			want: []flow.Record{rec(func(r *flow.Record) {
				r.InIf, r.OutIf, r.SamplingRate, r.SamplingSource = 5, 7, 64, flow.SamplingDefault
			})},
		}, {
			name: "no sampling rate",
			pkt:  dg(flowSample{in: 5, out: 7}.compact()),
			want: []flow.Record{rec(func(r *flow.Record) { r.InIf, r.OutIf, r.SamplingRate, r.SamplingSource = 5, 7, 1, flow.SamplingNone })},
		},
		// Errors.
		{name: "empty", pkt: nil, err: ErrShort},
		{name: "short ipv4 header", pkt: dg()[:27], err: ErrShort},
		{name: "short ipv6 header", pkt: datagram{agent: "::1"}.bytes()[:39], err: ErrShort},
		{name: "version 4", pkt: append(u32s(nil, 4), dg()[4:]...), err: ErrVersion},
		{name: "agent address type", pkt: append(u32s(nil, 5, 3), dg()[8:]...), err: ErrAgentAddress},
		{
			name: "sample past the end keeps earlier records",
			pkt:  dg(fs(rawHeader(1, 82, 4, tcpFrame)).compact(), fs(rawHeader(1, 82, 4, tcpFrame)).compact())[:28+8+100+100],
			want: []flow.Record{tcpRec},
			err:  ErrTruncated,
		}, {
			name: "huge sample count",
			pkt:  datagram{agent: "192.0.2.250", sub: 3, count: 0xffffffff, samples: [][]byte{fs(rawHeader(1, 82, 4, tcpFrame)).compact()}}.bytes(),
			want: []flow.Record{tcpRec},
			err:  ErrTooManySamples,
		}, {
			name: "sample count above samples",
			pkt:  datagram{agent: "192.0.2.250", sub: 3, count: 3, samples: [][]byte{fs(rawHeader(1, 82, 4, tcpFrame)).compact()}}.bytes(),
			want: []flow.Record{tcpRec},
			err:  ErrTruncated,
		}, {
			name: "flow sample too short",
			pkt:  dg(tlv(1, make([]byte, 28)), tlv(3, make([]byte, 40)), fs(rawHeader(1, 82, 4, tcpFrame)).compact()),
			want: []flow.Record{tcpRec},
			err:  ErrBadSample,
		}, {
			name: "record count above records",
			pkt: func() []byte {
				s := fs(rawHeader(1, 82, 4, tcpFrame)).compact()
				binary.BigEndian.PutUint32(s[8+28:], 1000) // record count
				return dg(s)
			}(),
			want: []flow.Record{tcpRec},
			err:  ErrBadSample,
		}, {
			name: "too many records",
			cfg:  func(c *Config) { c.MaxRecordsPerSample = 1 },
			pkt:  dg(fs(rawHeader(1, 82, 4, tcpFrame), tlv(1001, make([]byte, 16))).compact()),
			want: []flow.Record{tcpRec},
			err:  ErrTooManyRecords,
		}, {
			name: "header length past record",
			pkt: func() []byte {
				r := rawHeader(1, 82, 4, tcpFrame)
				binary.BigEndian.PutUint32(r[8+12:], 1000)
				return dg(fs(r).compact())
			}(),
			want: []flow.Record{rec(func(r *flow.Record) { r.InIf, r.OutIf = 5, 7 })},
			err:  ErrBadRecord,
		}, {
			name: "bad ip header",
			pkt:  dg(fs(rawHeader(1, 82, 4, join(ethernet(0x0800), []byte{0x42}, make([]byte, 40)))).compact()),
			want: []flow.Record{rec(func(r *flow.Record) { r.Bytes, r.InIf, r.OutIf = 82, 5, 7 })},
			err:  ErrBadRawHeader,
		}, {
			name: "short sampled ipv4 and gateway",
			pkt:  dg(fs(tlv(3, make([]byte, 28)), tlv(1003, u32s(nil, 1, 0, 0, 0, 0, 5, 2, 100))).compact()),
			want: []flow.Record{rec(func(r *flow.Record) { r.InIf, r.OutIf = 5, 7 })},
			err:  ErrBadRecord,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			ev := recorder{}
			d := New(cfg, ev)
			got, format, err := d.Decode(tc.pkt, testExp, testNow, nil)
			if !errors.Is(err, tc.err) {
				t.Errorf("Decode() error = %v, want %v", err, tc.err)
			}
			if format != flow.FormatSFlow {
				t.Errorf("Decode() format = %v", format)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("Decode() (-got, +want):\n%s", diff)
			}
			if tc.events == nil {
				tc.events = recorder{}
			}
			if diff := cmp.Diff(ev, tc.events); diff != "" {
				t.Errorf("events (-got, +want):\n%s", diff)
			}
			var buf bytes.Buffer
			if err := binary.Write(&buf, binary.BigEndian, got); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(buf.Bytes(), payload[:8]) {
				t.Errorf("payload bytes survived the decoder")
			}
		})
	}
}

func TestDecodeAppends(t *testing.T) {
	d := New(DefaultConfig(), nil)
	pkt := datagram{agent: "192.0.2.1", samples: [][]byte{flowSample{rate: 1}.compact()}}.bytes()
	out := []flow.Record{{Packets: 42}}
	out, _, err := d.Decode(pkt, testExp, testNow, out)
	if err != nil || len(out) != 2 || out[0].Packets != 42 || out[1].Exporter != addr("192.0.2.1") {
		t.Fatalf("Decode() = %+v, %v; want the old record kept and one appended", out, err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	bad := DefaultConfig()
	bad.MaxSamplesPerDatagram = 0
	bad.MaxRecordsPerSample = -1
	bad.MaxAgents = 0
	bad.MaxSourcesPerAgent = 1 << 30
	bad.ByteCount = "l2"
	bad.SamplingOverride = map[string]uint32{"router1": 10, "192.0.2.1": 0}
	want := `max_samples_per_datagram: 0 out of range [1, 65536]
max_records_per_sample: -1 out of range [1, 65536]
max_agents: 0 out of range [1, 16777216]
max_sources_per_agent: 1073741824 out of range [1, 1048576]
byte_count: "l2" is neither "frame" nor "ip"
sampling_override: rate for 192.0.2.1 must be at least 1
sampling_override: key "router1" is not an IP address`
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	if diff := cmp.Diff(err.Error(), want); diff != "" {
		t.Errorf("Validate() (-got, +want):\n%s", diff)
	}
}
