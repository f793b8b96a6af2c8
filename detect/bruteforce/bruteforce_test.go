package bruteforce

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

const (
	minute = int64(60_000)
	t0     = int64(1_735_689_600_000) // 2025-01-01T00:00:00Z
	est    = flow.TCPSyn | flow.TCPAck | flow.TCPPsh | flow.TCPFin
)

func addr(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }

// attempt is a short client-to-server connection at t.
func attempt(src, dst string, port uint16, t int64) flow.Record {
	return flow.Record{Start: t, End: t + 800, SrcAddr: addr(src), DstAddr: addr(dst), SrcPort: 40000 + uint16(t/1000%20000),
		DstPort: port, Proto: 6, TCPFlags: est, Packets: 15, Bytes: 2000, Class: flow.ClassInbound}
}

// answer is the server's reply to r.
func answer(r flow.Record, pkts, bytes uint64) flow.Record {
	r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = r.DstAddr, r.SrcAddr, r.DstPort, r.SrcPort
	r.Packets, r.Bytes = pkts, bytes
	var ps flow.Pseudo
	if r.Pseudo&flow.PseudoSrc != 0 {
		ps |= flow.PseudoDst
	}
	if r.Pseudo&flow.PseudoDst != 0 {
		ps |= flow.PseudoSrc
	}
	r.Pseudo = ps
	return r
}

type collector struct{ got []detect.Finding }

func (c *collector) emit(f detect.Finding) { c.got = append(c.got, f) }

func mustNew(t *testing.T, mod func(*Config)) *Detector {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// run feeds records one batch at a time, advancing to each batch's end
// less lateness the way the engine does.
func run(d *Detector, c *collector, batches ...[]flow.Record) {
	for _, b := range batches {
		var end int64
		for i := range b {
			end = max(end, b[i].End)
		}
		d.Observe(b, 0, c.emit)
		d.Advance(end-minute, c.emit)
	}
}

func series(n int, every int64, mk func(i int, t int64) flow.Record) []flow.Record {
	out := make([]flow.Record, n)
	for i := range out {
		t := t0 + int64(i)*every
		out[i] = mk(i, t)
	}
	return out
}

func TestThresholds(t *testing.T) {
	ssh := func(i int, t int64) flow.Record { return attempt("203.0.113.7", "192.0.2.10", 22, t) }
	cases := []struct {
		name  string
		recs  []flow.Record
		found int
	}{
		{"fast crossed: 20 in a minute", series(20, 2000, ssh), 1},
		{"fast not crossed: 19 in a minute", series(19, 2000, ssh), 0},
		{"slow crossed: 40 in 27 minutes", series(40, 40_000, ssh), 1},
		{"slow not crossed: 39 in 26 minutes", series(39, 40_000, ssh), 0},
		{"too slow: 40 spread over 80 minutes", series(40, 2*minute, ssh), 0},
		{"not a service port", series(50, 1000, func(i int, t int64) flow.Record { return attempt("203.0.113.7", "192.0.2.10", 8080, t) }), 0},
		{"SYN probes are not attempts", series(50, 1000, func(i int, t int64) flow.Record {
			r := attempt("203.0.113.7", "192.0.2.10", 22, t)
			r.TCPFlags, r.Packets, r.Bytes = flow.TCPSyn, 1, 60
			return r
		}), 0},
		{"sessions are not attempts", series(50, 1000, func(i int, t int64) flow.Record {
			r := attempt("203.0.113.7", "192.0.2.10", 22, t)
			r.Packets, r.Bytes = 500, 600_000
			return r
		}), 0},
		{"long connections are not attempts", series(50, 1000, func(i int, t int64) flow.Record {
			r := attempt("203.0.113.7", "192.0.2.10", 22, t)
			r.End = r.Start + 5*minute
			return r
		}), 0},
		{"a horizontal login sweep is not brute force", series(100, 500, func(i int, t int64) flow.Record {
			return attempt("203.0.113.7", netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}).String(), 22, t)
		}), 0},
		{"exporter without flags", series(20, 2000, func(i int, t int64) flow.Record {
			r := ssh(i, t)
			r.TCPFlags = 0
			return r
		}), 1},
		{"IPv6", series(20, 2000, func(i int, t int64) flow.Record { return attempt("2001:db8:e::7", "2001:db8:1::10", 3389, t) }), 1},
		{"sampled 1:2, scaled within the profile", series(20, 2000, func(i int, t int64) flow.Record {
			r := ssh(i, t)
			r.Packets, r.Bytes, r.SamplingRate = 8, 1000, 2
			return r
		}), 1},
		{"sampled 1:100, scaled beyond the profile", series(20, 2000, func(i int, t int64) flow.Record {
			r := ssh(i, t)
			r.Packets, r.Bytes, r.SamplingRate = 2, 200, 100
			return r
		}), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := mustNew(t, nil)
			var c collector
			run(d, &c, tc.recs)
			if len(c.got) != tc.found {
				t.Fatalf("%d findings while observing, want %d: %+v", len(c.got), tc.found, c.got)
			}
			for _, f := range c.got {
				if f.Role != detect.RoleBruteforce || f.Evidence.Score < 0.5 || f.Evidence.Score > 1 {
					t.Errorf("finding %+v", f)
				}
			}
		})
	}
}

// Attempts must make up min_share of the source's connections: a user
// whose connections are mostly real sessions is not flagged, whether the
// sessions show in its own records or in the server's large replies.
func TestShare(t *testing.T) {
	cases := []struct {
		name  string
		every int // every n-th connection is a session
		reply bool
		found bool
	}{
		{"all attempts", 0, false, true},
		{"one session in ten", 10, false, true},
		{"one session in two", 2, false, false},
		{"large replies every other time", 2, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := mustNew(t, nil)
			var c collector
			var recs []flow.Record
			for i := range 60 {
				r := attempt("203.0.113.7", "192.0.2.10", 993, t0+int64(i)*2000)
				switch {
				case tc.every > 0 && i%tc.every == 0 && tc.reply:
					recs = append(recs, r, answer(r, 60, 80_000))
				case tc.every > 0 && i%tc.every == 0:
					r.Packets, r.Bytes = 300, 200_000
					recs = append(recs, r)
				default:
					recs = append(recs, r, answer(r, 10, 1500))
				}
			}
			run(d, &c, recs)
			if (len(c.got) > 0) != tc.found {
				t.Fatalf("found %v, want %v", len(c.got) > 0, tc.found)
			}
		})
	}
}

// Replies never make the server a suspect nor count as attempts.
func TestRepliesOnly(t *testing.T) {
	d := mustNew(t, nil)
	var c collector
	recs := series(100, 1000, func(i int, t int64) flow.Record {
		return answer(attempt("203.0.113.7", "192.0.2.10", 22, t), 10, 1500)
	})
	run(d, &c, recs)
	d.Flush(c.emit)
	if len(c.got) != 0 || d.Stats().Keys != 0 {
		t.Fatalf("replies alone: %d findings, %d keys", len(c.got), d.Stats().Keys)
	}
	// With both directions, only the client is the suspect and answered
	// replies are evidence, not attempts.
	d = mustNew(t, nil)
	var both []flow.Record
	for _, r := range series(25, 1000, func(i int, t int64) flow.Record { return attempt("203.0.113.7", "192.0.2.10", 22, t) }) {
		both = append(both, r, answer(r, 10, 1500))
	}
	run(d, &c, both)
	if len(c.got) != 1 || c.got[0].Addr != addr("203.0.113.7") {
		t.Fatalf("findings %+v", c.got)
	}
	d.Flush(c.emit)
	last := c.got[len(c.got)-1].Evidence
	if last.Counts["attempts"] != 25 || last.Counts["answered"] != 25 {
		t.Errorf("counts %v, want 25 attempts answered 25 times", last.Counts)
	}
}

// One finding when the threshold is crossed, one more when the bucket
// closes with new attempts, none for a bucket without new attempts.
func TestEmission(t *testing.T) {
	d := mustNew(t, func(c *Config) { c.Grace = 0 })
	var c collector
	ssh := func(i int, t int64) flow.Record { return attempt("203.0.113.7", "192.0.2.10", 22, t) }
	d.Observe(series(30, 1000, ssh), 0, c.emit) // minute 0: crossed at the 20th
	if len(c.got) != 1 {
		t.Fatalf("%d findings after crossing, want 1", len(c.got))
	}
	if n := c.got[0].Evidence.Counts["attempts"]; n != 20 {
		t.Errorf("live finding counts %v attempts, want 20", n)
	}
	d.Advance(t0+minute/2, c.emit) // bucket 0 still open
	if len(c.got) != 1 {
		t.Fatalf("%d findings before the bucket closed", len(c.got))
	}
	d.Advance(t0+minute, c.emit) // bucket 0 closes: final counts
	if len(c.got) != 2 || c.got[1].Evidence.Counts["attempts"] != 30 {
		t.Fatalf("findings %d, want a final one with 30 attempts", len(c.got))
	}
	d.Advance(t0+2*minute, c.emit) // nothing new
	if len(c.got) != 2 {
		t.Fatalf("%d findings after an idle bucket", len(c.got))
	}
	f := c.got[1].Evidence
	if len(f.Samples) != maxSamples || len(f.Peers) != 1 || f.Peers[0].Address != "192.0.2.10" || f.Series == nil || f.Reason == "" {
		t.Errorf("evidence %+v", f)
	}
	if f.First != detect.Millis(t0) || f.Last != detect.Millis(t0+29_000+800) {
		t.Errorf("first %v last %v", f.First, f.Last)
	}
	// Flush emits pending attempts only.
	d.Observe(series(5, 1000, func(i int, t int64) flow.Record { return ssh(i, t+2*minute) }), 0, c.emit)
	d.Flush(c.emit)
	if len(c.got) != 3 {
		t.Fatalf("%d findings after flush, want 3", len(c.got))
	}
	if d.Stats().Keys != 0 {
		t.Errorf("keys after flush: %d", d.Stats().Keys)
	}
}

func TestLateAndOutOfOrder(t *testing.T) {
	d := mustNew(t, func(c *Config) { c.Grace = 0 })
	var c collector
	recs := series(20, 2000, func(i int, t int64) flow.Record { return attempt("203.0.113.7", "192.0.2.10", 22, t) })
	// Reverse order within the open bucket: still counted.
	for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
		recs[i], recs[j] = recs[j], recs[i]
	}
	d.Advance(t0, c.emit)
	d.Observe(recs, t0, c.emit)
	if len(c.got) != 1 || d.Stats().Late != 0 {
		t.Fatalf("out of order: %d findings, %d late", len(c.got), d.Stats().Late)
	}
	d.Advance(t0+3*minute, c.emit)
	d.Observe(recs[:5], t0+3*minute, c.emit)
	if d.Stats().Late != 5 {
		t.Fatalf("late %d, want 5", d.Stats().Late)
	}
}

func TestEvictionAndExpiry(t *testing.T) {
	d := mustNew(t, func(c *Config) { c.MaxKeys = 2; c.Grace = 0 })
	var c collector
	for i, src := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		r := attempt(src, "192.0.2.10", 22, t0+int64(i)*1000)
		d.Observe([]flow.Record{r}, 0, c.emit)
	}
	s := d.Stats()
	if s.Keys != 2 || s.Evictions != 1 || s.PeakKeys != 2 || s.MaxKeys != 2 {
		t.Fatalf("stats %+v", s)
	}
	if bpk := s.BytesPerKey(); bpk > 512 {
		t.Errorf("%.0f bytes per key, want ≤ 512", bpk)
	}
	d.Advance(t0+40*minute, c.emit)
	if d.Stats().Keys != 0 {
		t.Errorf("keys beyond the long window kept: %d", d.Stats().Keys)
	}
}

// Pseudonymized sources (an internal host guessing passwords outside)
// are reported as pseudonyms of their key epoch; peers stay pseudonyms.
func TestPseudonyms(t *testing.T) {
	d := mustNew(t, nil)
	var c collector
	recs := series(20, 2000, func(i int, t int64) flow.Record {
		r := attempt("2001:db8:100::5", "2001:db8:e::10", 22, t)
		r.Pseudo, r.KeyEpoch, r.Class = flow.PseudoSrc, 7, flow.ClassOutbound
		return r
	})
	run(d, &c, recs)
	if len(c.got) != 1 {
		t.Fatalf("%d findings", len(c.got))
	}
	f := c.got[0]
	if !f.Pseudo || f.KeyEpoch != 7 || f.Evidence.Peers[0].Pseudo || f.Evidence.Samples[0].Pseudo != "src" {
		t.Errorf("finding %+v", f)
	}
	// Skipping outbound ignores them.
	d = mustNew(t, func(c *Config) { c.SkipClasses = []string{"outbound"} })
	c.got = nil
	run(d, &c, recs)
	if len(c.got) != 0 {
		t.Errorf("skip_classes outbound: %d findings", len(c.got))
	}
}

func TestScoreGrows(t *testing.T) {
	d := mustNew(t, nil)
	at := d.score(window{attempts: 40, peak: 2, active: 20, span: 20})
	far := d.score(window{attempts: 400, peak: 20, active: 20, span: 20})
	fast := d.score(window{attempts: 3000, peak: 300, active: 10, span: 10})
	if !(at >= 0.5 && at < far && far <= fast && fast <= 1) {
		t.Errorf("scores %v %v %v", at, far, fast)
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.MaxKeys = 0 }, "detect.bruteforce.max_keys"},
		{func(c *Config) { c.Bucket = 0 }, "detect.bruteforce.bucket"},
		{func(c *Config) { c.LongWindow = 90 * time.Second }, "detect.bruteforce.long_window"},
		{func(c *Config) { c.LongWindow = 2 * time.Hour }, "detect.bruteforce.long_window"},
		{func(c *Config) { c.Grace = -1 }, "detect.bruteforce.grace"},
		{func(c *Config) { c.FastAttempts, c.SlowAttempts = 0, 0 }, "detect.bruteforce.slow_attempts"},
		{func(c *Config) { c.FastAttempts = 70000 }, "detect.bruteforce.fast_attempts"},
		{func(c *Config) { c.MinShare = 1.5 }, "detect.bruteforce.min_share"},
		{func(c *Config) { c.MinPackets = 0 }, "detect.bruteforce.min_packets"},
		{func(c *Config) { c.MaxDuration = 0 }, "detect.bruteforce.max_duration"},
		{func(c *Config) { c.SkipClasses = []string{"sideways"} }, "detect.bruteforce.skip_classes[0]"},
		{func(c *Config) { c.Services = nil }, "detect.bruteforce.services"},
		{func(c *Config) { c.Services[1].Name = "ssh" }, "detect.bruteforce.services[1].name"},
		{func(c *Config) { c.Services[1].Ports = []uint16{22} }, "detect.bruteforce.services[1].ports"},
		{func(c *Config) { c.Services[0].Ports = nil }, "detect.bruteforce.services[0].ports"},
		{func(c *Config) { c.Services[0].MaxPackets = 1 }, "detect.bruteforce.services[0].max_packets"},
		{func(c *Config) { c.Services[0].MaxBytes = 0 }, "detect.bruteforce.services[0].max_bytes"},
	}
	for _, tc := range cases {
		cfg := DefaultConfig()
		cfg.Services = DefaultServices()
		tc.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want+":") {
			t.Errorf("want an error naming %s, got %v", tc.want, err)
		}
		if _, nerr := New(cfg); nerr == nil {
			t.Errorf("New accepted an invalid config (%s)", tc.want)
		}
	}
}
