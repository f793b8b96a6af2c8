package report

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/ddos"
	"github.com/acd-org/acd/detect/reflection"
	"github.com/acd-org/acd/flow"
)

// observer is what the ddos and reflection detectors have in common.
type observer interface {
	Observe(recs []flow.Record, wm int64, emit detect.Emit)
	Advance(wm int64, emit detect.Emit)
	Flush(emit detect.Emit)
}

// detectLive runs the real detectors over records (in batches, the
// watermark a minute behind the latest end, as the engine does) and
// returns the suspects of a book fed with their findings.
func detectLive(t *testing.T, recs []flow.Record) *detect.Book {
	t.Helper()
	dd, err := ddos.New(ddos.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rf, err := reflection.New(reflection.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	book := detect.NewBook(0, nil)
	emit := func(f detect.Finding) { book.Add(f) }
	for _, d := range []observer{dd, rf} {
		maxEnd := int64(math.MinInt64)
		for rest := recs; len(rest) > 0; {
			n := min(len(rest), 1024)
			for i := range rest[:n] {
				maxEnd = max(maxEnd, rest[i].End)
			}
			d.Observe(rest[:n], maxEnd-60_000, emit)
			d.Advance(maxEnd-60_000, emit)
			rest = rest[n:]
		}
		d.Flush(emit)
	}
	return book
}

// liveFlood makes rate records a second for secs seconds from n sources
// of 203.0.112.0/22 to dst: "syn" (TCP SYN), "udp" (UDP of 50 × 1000
// bytes), "dns" (responses from port 53, 10 × 1400 bytes), "ntp"
// (responses from port 123, 10 × 468 bytes).
func liveFlood(kind string, dst netip.Addr, n, rate, secs int) []flow.Record {
	start := t0.UnixMilli()
	var out []flow.Record
	for i := range rate * secs {
		ts := start + int64(i)*1000/int64(rate)
		s := netip.AddrFrom4([4]byte{203, 0, byte(112 + i%n/256), byte(i % n % 256)})
		r := flow.Record{Start: ts, End: ts, SrcAddr: flow.AddrFromNetip(s), DstAddr: flow.AddrFromNetip(dst),
			SrcPort: uint16(1024 + i%60000), DstPort: 80, Packets: 1, Bytes: 60, Class: flow.ClassInbound}
		switch kind {
		case "syn":
			r.Proto, r.TCPFlags = 6, flow.TCPSyn
		case "udp":
			r.Proto, r.Packets, r.Bytes, r.End = 17, 50, 50*1000, ts+200
		case "dns":
			r.Proto, r.SrcPort, r.DstPort, r.Packets, r.Bytes, r.End = 17, 53, uint16(1024+i%60000), 10, 10*1400, ts+5
		case "ntp":
			r.Proto, r.SrcPort, r.DstPort, r.Packets, r.Bytes, r.End = 17, 123, uint16(1024+i%60000), 10, 10*468, ts+5
		}
		out = append(out, r)
	}
	return out
}

// TestFromLiveDetection fills reports from what the real ddos and
// reflection detectors find in synthetic floods: the classification,
// vectors and peaks follow from the detectors' own evidence.
func TestFromLiveDetection(t *testing.T) {
	victim := netip.MustParseAddr("198.51.100.7")
	tests := []struct {
		name       string
		recs       []flow.Record
		vectors    []string
		techniques []string
		minPps     float64
	}{
		{"syn", liveFlood("syn", victim, 50, 3000, 10), []string{"syn-flood"}, []string{T1498, T1498001, T1499}, 2000},
		{"udp", liveFlood("udp", victim, 40, 400, 10), []string{"udp-flood"}, []string{T1498, T1498001}, 10000},
		{"dns", liveFlood("dns", victim, 30, 400, 10), []string{"dns-reflection"}, []string{T1498, T1498002}, 2000},
		{"ntp", liveFlood("ntp", victim, 30, 400, 10), []string{"ntp-reflection"}, []string{T1498, T1498002}, 2000},
		{"mixed", append(liveFlood("syn", victim, 50, 3000, 10), liveFlood("ntp", victim, 30, 400, 10)...),
			[]string{"syn-flood", "ntp-reflection"}, []string{T1498, T1498001, T1498002, T1499}, 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slices.SortFunc(tt.recs, func(a, b flow.Record) int { return int(a.Start - b.Start) })
			book := detectLive(t, tt.recs)
			s, ok := book.Get(detect.Key{Addr: flow.AddrFromNetip(victim)})
			if !ok || !s.HasRole(detect.RoleDDoSVictim) {
				t.Fatalf("the detectors did not find the victim (suspects: %d)", book.Len())
			}
			r, err := FromSuspect(s, opts())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, x := range r.Techniques {
				ids = append(ids, x.ID)
			}
			if !slices.Equal(r.Vectors, tt.vectors) || !slices.Equal(ids, tt.techniques) {
				t.Errorf("vectors %q techniques %q, want %q %q\nevidence: %s", r.Vectors, ids, tt.vectors, tt.techniques, reasons(s))
			}
			if r.Volumes.PeakPps < tt.minPps || r.Volumes.PeakBps <= 0 || r.End.Before(r.Start) || len(r.Indicators) == 0 {
				t.Errorf("volumes %+v, times %v..%v, indicators %q", r.Volumes, r.Start, r.End, r.Indicators)
			}
			for _, ind := range r.Indicators {
				if a := netip.MustParseAddr(ind); !netip.MustParsePrefix("203.0.112.0/22").Contains(a) {
					t.Errorf("indicator %s is not one of the flood's sources", ind)
				}
			}
			t.Logf("%s: %s; peak %.0f pps %.0f bit/s; %d indicators", tt.name, r.Title, r.Volumes.PeakPps, r.Volumes.PeakBps, len(r.Indicators))
		})
	}
}

func reasons(s detect.Suspect) string {
	out := ""
	for _, e := range s.Evidence {
		out += fmt.Sprintf("\n  %s/%s: %s %v", e.Detector, e.Role, e.Reason, e.Counts)
	}
	return out
}
