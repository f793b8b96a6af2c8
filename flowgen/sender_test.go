package flowgen

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// memWriter keeps copies of the datagrams and their times.
type memWriter struct {
	pkts  [][]byte
	times []time.Time
}

func (w *memWriter) WriteBatch(pkts [][]byte, now time.Time) (int, error) {
	for _, p := range pkts {
		w.pkts = append(w.pkts, slices.Clone(p))
		w.times = append(w.times, now)
	}
	return 0, nil
}

// countRecords decodes datagrams with goflow2 and returns the records.
func countRecords(t *testing.T, f flow.Format, pkts [][]byte) []flow.Record {
	t.Helper()
	gf := newGF(t)
	var out []flow.Record
	for _, p := range pkts {
		recs, _ := gf.decode(f, p)
		out = append(out, recs...)
	}
	return out
}

func TestSendCount(t *testing.T) {
	for _, f := range formats {
		for _, ring := range []int{0, 16} {
			t.Run(f.String()+map[bool]string{true: "/ring"}[ring > 0], func(t *testing.T) {
				enc, _ := NewEncoder(f, EncoderConfig{})
				mix, _ := NewMix(MixConfig{Seed: 1, IPv6: 0.3})
				w := &memWriter{}
				const count = 1234
				st, err := Send(context.Background(), SendConfig{Count: count, Ring: ring, Batch: 8, Virtual: true, Rate: 1000, Start: testNow}, enc, mix, w)
				if err != nil {
					t.Fatal(err)
				}
				recs := countRecords(t, f, w.pkts)
				var size uint64
				for _, p := range w.pkts {
					size += uint64(len(p))
				}
				if st.Records != count || uint64(len(recs)) != count-uint64(skippedV6(f, recs)) {
					// v5 skips IPv6 records: they are not counted as sent.
					t.Errorf("stats %d records, decoded %d; want %d", st.Records, len(recs), count)
				}
				if st.Packets != uint64(len(w.pkts)) || st.Bytes != size {
					t.Errorf("stats %+v; written %d datagrams, %d bytes", st, len(w.pkts), size)
				}
				// Virtual clock at 1000 records/s: the last datagram leaves
				// at about 1.2 s.
				if last := w.times[len(w.times)-1].Sub(testNow); last < time.Second || last > 1300*time.Millisecond {
					t.Errorf("last datagram at %v", last)
				}
				if st.Elapsed != time.Duration(count)*time.Millisecond {
					t.Errorf("elapsed %v", st.Elapsed)
				}
			})
		}
	}
}

// skippedV6 is 0: the sender counts only records written, so decoded and
// sent agree for every format.
func skippedV6(flow.Format, []flow.Record) int { return 0 }

// fakeClock is a clock that moves only when the sender sleeps.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return ctx.Err()
}

func TestSendRate(t *testing.T) {
	for _, rate := range []float64{50, 20_000, 3_000_000} {
		clk := &fakeClock{now: testNow}
		enc, _ := NewEncoder(flow.FormatNetFlowV9, EncoderConfig{})
		mix, _ := NewMix(MixConfig{Seed: 1})
		w := &memWriter{}
		cfg := SendConfig{Rate: rate, Duration: 2 * time.Second, Now: clk.Now, Sleep: clk.Sleep, Ring: 128}
		st, err := Send(context.Background(), cfg, enc, mix, w)
		if err != nil {
			t.Fatal(err)
		}
		want := rate * 2
		if got := float64(st.Records); got < want*0.99-30 || got > want*1.01+30 {
			t.Errorf("rate %v: sent %v records in 2 s, want %v", rate, got, want)
		}
		// Never ahead of the schedule by more than a batch.
		var sent float64
		for i, p := range w.pkts {
			if ahead := sent - rate*w.times[i].Sub(testNow).Seconds(); ahead > 64*26 {
				t.Errorf("rate %v: %v records ahead at %v", rate, ahead, w.times[i].Sub(testNow))
				break
			}
			if get16(p[20:]) != 0 { // not a template flowset
				sent += float64(get16(p[2:]))
			}
		}
		if sent != float64(st.Records) {
			t.Errorf("rate %v: datagrams hold %v records, stats say %d", rate, sent, st.Records)
		}
	}
}

func TestSendCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	enc, _ := NewEncoder(flow.FormatIPFIX, EncoderConfig{})
	mix, _ := NewMix(MixConfig{})
	_, err := Send(ctx, SendConfig{Rate: 10}, enc, mix, &memWriter{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// sliceSource is a finite Source.
type sliceSource struct{ recs []flow.Record }

func (s *sliceSource) Next(recs []flow.Record, _ time.Time) int {
	n := copy(recs, s.recs)
	s.recs = s.recs[n:]
	return n
}

func TestSendSourceExhausted(t *testing.T) {
	recs := mixRecords(t, MixConfig{Seed: 8}, 777, testNow)
	enc, _ := NewEncoder(flow.FormatSFlow, EncoderConfig{})
	w := &memWriter{}
	st, err := Send(context.Background(), SendConfig{}, enc, &sliceSource{recs: recs}, w)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(countRecords(t, flow.FormatSFlow, w.pkts)); st.Records != 777 || got != 777 {
		t.Errorf("sent %d, decoded %d, want 777", st.Records, got)
	}
}

func TestSendUDPLoopback(t *testing.T) {
	for _, network := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(network, func(t *testing.T) {
			sink, err := net.ListenPacket("udp", network)
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			_ = sink.(*net.UDPConn).SetReadBuffer(8 << 20)
			w, err := DialUDP(sink.LocalAddr().String(), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			enc, _ := NewEncoder(flow.FormatNetFlowV9, EncoderConfig{})
			mix, _ := NewMix(MixConfig{Seed: 3, IPv6: 0.5})
			const count = 5000
			st, err := Send(context.Background(), SendConfig{Count: count, Rate: 200_000, Ring: 64}, enc, mix, w)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]byte
			buf := make([]byte, 65536)
			for uint64(len(got)) < st.Packets {
				_ = sink.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, _, err := sink.ReadFrom(buf)
				if err != nil {
					t.Fatalf("after %d of %d datagrams: %v", len(got), st.Packets, err)
				}
				got = append(got, slices.Clone(buf[:n]))
			}
			if recs := countRecords(t, flow.FormatNetFlowV9, got); len(recs) != count || st.Records != count || st.Dropped != 0 {
				t.Errorf("received %d records, stats %+v, want %d", len(recs), st, count)
			}
		})
	}
}

func TestSendUDPRefused(t *testing.T) {
	// Nothing listens: the kernel refuses some datagrams; Send counts them
	// and goes on.
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := sink.LocalAddr().String()
	sink.Close()
	w, err := DialUDP(addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	enc, _ := NewEncoder(flow.FormatNetFlowV5, EncoderConfig{})
	mix, _ := NewMix(MixConfig{})
	st, err := Send(context.Background(), SendConfig{Count: 3000, Batch: 4, Rate: 100_000}, enc, mix, w)
	if err != nil || st.Records != 3000 || st.Dropped == 0 {
		t.Errorf("stats %+v, error %v; want 3000 records, some dropped", st, err)
	}
}

func TestPcapWriter(t *testing.T) {
	for _, dst := range []string{"127.0.0.1:2055", "[::1]:6343"} {
		t.Run(dst, func(t *testing.T) {
			var buf bytes.Buffer
			pw, err := NewPcapWriter(&buf, netip.AddrPort{}, netip.MustParseAddrPort(dst))
			if err != nil {
				t.Fatal(err)
			}
			enc, _ := NewEncoder(flow.FormatIPFIX, EncoderConfig{})
			mix, _ := NewMix(MixConfig{Seed: 4, IPv6: 0.2})
			st, err := Send(context.Background(), SendConfig{Count: 2000, Virtual: true, Rate: 10_000, Start: testNow}, enc, mix, pw)
			if err != nil {
				t.Fatal(err)
			}
			if err := pw.Flush(); err != nil {
				t.Fatal(err)
			}
			pkts, times := readPcap(t, buf.Bytes(), netip.MustParseAddrPort(dst))
			if uint64(len(pkts)) != st.Packets {
				t.Errorf("%d frames, sent %d", len(pkts), st.Packets)
			}
			if recs := countRecords(t, flow.FormatIPFIX, pkts); len(recs) != 2000 {
				t.Errorf("%d records, want 2000", len(recs))
			}
			if !times[0].Equal(testNow) || times[len(times)-1].Before(testNow.Add(190*time.Millisecond)) {
				t.Errorf("timestamps %v .. %v", times[0], times[len(times)-1])
			}
		})
	}
}

// readPcap reads frames with gopacket's pcapgo and checks their IP and UDP
// headers and checksums; it returns the UDP payloads.
func readPcap(t *testing.T, b []byte, dst netip.AddrPort) ([][]byte, []time.Time) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("link type %v", r.LinkType())
	}
	var pkts [][]byte
	var times []time.Time
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			t.Fatalf("frame without UDP: %v", p)
		}
		if ip, ok := p.NetworkLayer().(*layers.IPv4); ok {
			if ip.Checksum != ipChecksumOf(ip.Contents) || !ip.DstIP.Equal(dst.Addr().AsSlice()) {
				t.Errorf("bad IPv4 header %+v", ip)
			}
			_ = udp.SetNetworkLayerForChecksum(ip)
		} else if ip6, ok := p.NetworkLayer().(*layers.IPv6); ok {
			_ = udp.SetNetworkLayerForChecksum(ip6)
		}
		if err, res := udp.VerifyChecksum(); err != nil || !res.Valid {
			t.Errorf("UDP checksum %+v, %v", res, err)
		}
		if uint16(udp.DstPort) != dst.Port() {
			t.Errorf("UDP port %d", udp.DstPort)
		}
		pkts = append(pkts, udp.Payload)
		times = append(times, ci.Timestamp)
	}
	return pkts, times
}
