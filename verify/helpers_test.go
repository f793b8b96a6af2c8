package verify

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/flow"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the start of every generated stream.
var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func addr(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }

// rec is one flow of pkts packets of 100 bytes, lasting a second.
func rec(at time.Time, src, dst string, proto uint8, sport, dport uint16, pkts uint64) flow.Record {
	return flow.Record{Start: at.UnixMilli(), End: at.Add(time.Second).UnixMilli(), SrcAddr: addr(src), DstAddr: addr(dst),
		Proto: proto, SrcPort: sport, DstPort: dport, Packets: pkts, Bytes: pkts * 100, Format: flow.FormatIPFIX}
}

// every calls f at each step in [from, to) and gathers the records.
func every(from, to time.Time, step time.Duration, f func(at time.Time) []flow.Record) []flow.Record {
	var out []flow.Record
	for at := from; at.Before(to); at = at.Add(step) {
		out = append(out, f(at)...)
	}
	return out
}

// background is unrelated traffic, one flow a second, which keeps event
// time moving.
func background(from, to time.Time) []flow.Record {
	return every(from, to, time.Second, func(at time.Time) []flow.Record {
		return []flow.Record{rec(at, "198.18.0.1", "172.16.0.1", 6, 40000, 443, 10)}
	})
}

// beacon: victim and C2 exchange a flow each way every 10 s.
func beacon(c2, victim string) func(at time.Time) []flow.Record {
	return func(at time.Time) []flow.Record {
		return []flow.Record{rec(at, victim, c2, 6, 50000, 443, 4), rec(at, c2, victim, 6, 443, 50000, 3)}
	}
}

// fakeClock is an injected wall clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// feed consumes recs in batches of n, setting the clock to the latest
// record end of each batch (an exporter with no delay) when clock is
// not nil, and calls Evaluate after each batch; it returns the verdicts.
func feed(v *Verifier, clock *fakeClock, recs []flow.Record, n int) []Result {
	var out []Result
	for len(recs) > 0 {
		k := min(n, len(recs))
		b := &flow.Batch{Records: append([]flow.Record(nil), recs[:k]...)}
		recs = recs[k:]
		now := time.Time{}
		if clock != nil {
			for i := range b.Records {
				clock.Set(b.Records[i].EndTime())
			}
			now = clock.Now()
		}
		v.Consume(b)
		out = append(out, v.Evaluate(now)...)
	}
	return out
}

// item makes the enforce.Item of a one-action case.
func item(caseID string, typ cases.ActionType, target string, scope cases.Scope) enforce.Item {
	a := cases.Action{Type: typ, Target: cases.MustTarget(target), Scope: scope,
		NotBefore: t0, NotAfter: t0.Add(24 * time.Hour)}
	return enforce.Item{Case: cases.Case{ID: caseID, Version: 1, Target: a.Target, Actions: []cases.Action{a}},
		Index: 0, Action: a}
}

func newVerifier(t *testing.T, cfg Config, deps Deps) *Verifier {
	t.Helper()
	v, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// golden compares got, as indented JSON, with testdata/name, rewriting
// it with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("unable to read the golden file (run with -update): %v", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from the golden file (-update to rewrite):\n%s", path, b)
	}
}
