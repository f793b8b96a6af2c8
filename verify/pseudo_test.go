package verify

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/flow"
)

// fakePseudonym stands in for Crypto-PAn: the address with its last two
// bytes mixed with the epoch.
func fakePseudonym(a netip.Addr, epoch uint32) (flow.Addr, error) {
	if epoch == 99 {
		return flow.Addr{}, errors.New("no key for epoch 99")
	}
	p := flow.AddrFromNetip(a)
	p[14] ^= byte(epoch) + 0x5a
	p[15] ^= byte(epoch>>8) + 0xa5
	return p, nil
}

// TestRTBHPseudonymized: the rtbh target only appears as its pseudonym,
// under a key epoch that rotates during the stream.
func TestRTBHPseudonymized(t *testing.T) {
	const target = "198.51.100.7"
	tgt := netip.MustParseAddr(target)
	other := netip.MustParseAddr("198.51.100.8")
	// Every 10 s, three flows to the target's pseudonym and one to
	// another host's; the epoch is 1 for the first four minutes, then 2
	// (and a straggler of epoch 99, which has no key).
	gen := func(upTo time.Time) func(at time.Time) []flow.Record {
		return func(at time.Time) []flow.Record {
			e := uint32(1)
			if at.Sub(t0) >= 4*time.Minute {
				e = 2
			}
			var out []flow.Record
			for i, dst := range []netip.Addr{tgt, tgt, tgt, other} {
				if at.After(upTo) && dst == tgt {
					continue
				}
				p, _ := fakePseudonym(dst, e)
				r := rec(at, "203.0.113."+itoa(i+1), "0.0.0.0", 6, 40000, 443, 2)
				r.DstAddr, r.Pseudo, r.KeyEpoch = p, flow.PseudoDst, e
				out = append(out, r)
			}
			return out
		}
	}
	it := item("rtbh-p", cases.ActionRTBH, target, cases.Scope{})
	for _, tc := range []struct {
		name      string
		pseudo    Pseudonymizer
		stops     time.Time
		want      Verdict
		wantFlows float64
	}{
		{"stops", fakePseudonym, activeAt, Effective, 18},
		{"goes on", fakePseudonym, end, Ineffective, 18},
		{"no pseudonymizer", nil, activeAt, Unmeasurable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Result
			v := newVerifier(t, DefaultConfig(), Deps{Pseudonymize: tc.pseudo, OnVerdict: func(r Result) { got = append(got, r) }})
			if err := v.Prewatch(it, end); err != nil {
				t.Fatal(err)
			}
			recs := stream(gen(tc.stops))
			straggler := rec(t0.Add(5*time.Minute), "203.0.113.1", "0.0.0.0", 6, 1, 2, 1)
			straggler.Pseudo, straggler.KeyEpoch = flow.PseudoDst, 99
			v.Observe([]flow.Record{straggler})
			feed(v, nil, recs[:len(recs)/3], 50)
			if err := v.Watch(it, activeAt, nil); err != nil {
				t.Fatal(err)
			}
			feed(v, nil, recs[len(recs)/3:], 50)
			v.Evaluate(time.Time{})
			if len(got) != 1 || got[0].Verdict != tc.want || got[0].Before.Flows != tc.wantFlows {
				t.Fatalf("got %+v, want %s from %v flows/min", got, tc.want, tc.wantFlows)
			}
			if tc.pseudo != nil {
				if n := testutil.ToFloat64(v.m.pseudoErrors); n != 1 {
					t.Errorf("pseudonymize errors %v, want 1 (epoch 99)", n)
				}
				if len(v.pseudo) != 0 || v.nPseudo != 0 {
					t.Errorf("pseudonym index not emptied after the verdict: %d keys, %d watches", len(v.pseudo), v.nPseudo)
				}
			}
		})
	}
}
