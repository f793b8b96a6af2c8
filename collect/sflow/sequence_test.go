package sflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

func TestSeqWindow(t *testing.T) {
	seq := func(from, to uint32) []uint32 {
		var s []uint32
		for q := from; q != to+1; q++ {
			s = append(s, q)
		}
		return s
	}
	cat := func(ss ...[]uint32) []uint32 {
		var out []uint32
		for _, s := range ss {
			out = append(out, s...)
		}
		return out
	}
	cases := []struct {
		name   string
		seqs   []uint32
		lost   int
		resets int
	}{
		{name: "in order", seqs: seq(1, 1000)},
		{name: "gap counted once out of the window", seqs: cat(seq(1, 10), seq(15, 300)), lost: 4},
		{name: "gap not yet out of the window", seqs: cat(seq(1, 10), seq(15, 100))},
		{name: "reordered within the window", seqs: cat(seq(1, 10), []uint32{12, 11, 14, 13}, seq(15, 400))},
		{name: "late beyond the gap", seqs: cat(seq(1, 10), seq(20, 200), seq(11, 19), seq(201, 600))},
		{name: "duplicates", seqs: cat(seq(1, 10), seq(5, 10), seq(11, 600))},
		{name: "jump beyond the window", seqs: cat(seq(1, 10), seq(1011, 1400)), lost: 1000},
		{name: "jump beyond the window with holes", seqs: cat(seq(1, 10), []uint32{100}, seq(1101, 1500)), lost: 1089},
		{name: "wraparound", seqs: cat(seq(0xffffff00, 0xffffffff), seq(0, 300))},
		{name: "wraparound with loss", seqs: cat(seq(0xffffff00, 0xfffffffd), seq(0, 300)), lost: 2},
		{name: "restart", seqs: cat(seq(5000, 6000), seq(1, 1000)), resets: 1},
		{name: "huge jump resets", seqs: cat(seq(1, 10), seq(1<<30, 1<<30+10)), resets: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var w seqWindow
			w.reset(tc.seqs[0])
			lost, resets := 0, 0
			for _, s := range tc.seqs[1:] {
				l, r := w.add(s)
				lost += l
				if r {
					resets++
				}
			}
			if lost != tc.lost || resets != tc.resets {
				t.Errorf("lost %d, resets %d; want %d, %d", lost, resets, tc.lost, tc.resets)
			}
		})
	}
}

// TestSequenceLost checks the loss estimate through Decode: per data
// source, across datagrams, with agent restarts and several agents.
func TestSequenceLost(t *testing.T) {
	type dg struct {
		agent       string
		sub         uint32
		seq, uptime uint32
		src         uint32   // source index
		samples     []uint32 // flow sample sequence numbers
	}
	run := func(dgs []dg) int {
		ev := recorder{}
		d := New(DefaultConfig(), ev)
		for _, g := range dgs {
			var ss [][]byte
			for _, s := range g.samples {
				ss = append(ss, flowSample{seq: s, srcIndex: g.src, rate: 10}.compact())
			}
			pkt := datagram{agent: g.agent, sub: g.sub, seq: g.seq, uptime: g.uptime, samples: ss}.bytes()
			if _, _, err := d.Decode(pkt, testExp, testNow, nil); err != nil {
				t.Fatal(err)
			}
		}
		return ev[flow.EventSequenceLost]
	}
	// many returns datagrams 1..n of agent a, source src, each with k samples,
	// dropping the datagrams listed in skip.
	many := func(a string, sub, src uint32, n, k uint32, skip ...uint32) []dg {
		var out []dg
		for i := uint32(1); i <= n; i++ {
			var s []uint32
			for j := range k {
				s = append(s, (i-1)*k+j+1)
			}
			if !contains(skip, i) {
				out = append(out, dg{agent: a, sub: sub, seq: i, uptime: 1000 * i, src: src, samples: s})
			}
		}
		return out
	}
	cases := []struct {
		name string
		dgs  []dg
		want int
	}{
		{"no loss", many("192.0.2.1", 0, 1, 200, 4), 0},
		{"two datagrams lost", many("192.0.2.1", 0, 1, 200, 4, 50, 51), 8},
		{"losses of two agents and sub-agents", append(append(many("192.0.2.1", 0, 1, 200, 4, 10),
			many("192.0.2.1", 1, 1, 200, 4, 20, 21)...), many("2001:db8::1", 0, 1, 200, 4, 30)...), 16},
		{"swapped datagrams", func() []dg {
			d := many("192.0.2.1", 0, 1, 200, 4)
			d[10], d[11] = d[11], d[10]
			return d
		}(), 0},
		{"restart", append(many("192.0.2.1", 0, 1, 200, 4), many("192.0.2.1", 0, 1, 100, 4)...), 0},
		{"restart seen by uptime", append(many("192.0.2.1", 0, 1, 20, 4), // samples 1..80
			dg{agent: "192.0.2.1", seq: 1, uptime: 100, src: 1, samples: []uint32{1, 2, 3, 4}},
			dg{agent: "192.0.2.1", seq: 2, uptime: 1100, src: 1, samples: seqRange(300, 700)}), 295},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(tc.dgs); got != tc.want {
				t.Errorf("sequence lost = %d, want %d", got, tc.want)
			}
		})
	}
}

func seqRange(from, to uint32) []uint32 {
	var s []uint32
	for q := from; q <= to; q++ {
		s = append(s, q)
	}
	return s
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestStateBounded checks that agents and sources are bounded.
func TestStateBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxAgents, cfg.MaxSourcesPerAgent = 8, 4
	d := New(cfg, nil)
	for i := range 100 {
		var ss [][]byte
		for j := range 10 {
			ss = append(ss, flowSample{seq: 1, srcIndex: uint32(j)}.compact())
		}
		pkt := datagram{agent: "192.0.2.1", sub: uint32(i), samples: ss}.bytes()
		if _, _, err := d.Decode(pkt, testExp, testNow, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := []int{len(d.agents)}
	for _, a := range d.agents {
		got = append(got, len(a.sources))
	}
	want := []int{8, 4, 4, 4, 4, 4, 4, 4, 4}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("state sizes (-got, +want):\n%s", diff)
	}
}
