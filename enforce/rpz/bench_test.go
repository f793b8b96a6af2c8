package rpz

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
)

// bigCase returns a case of n sinkholes.
func bigCase(n int) cases.Case {
	acts := make([]cases.Action, n)
	for i := range acts {
		acts[i] = sinkhole(fmt.Sprintf("host-%06d.example", i), i%2 == 0)
	}
	return kase("case-big", acts...)
}

// BenchmarkApply measures one Apply (new record, serial bump, journal)
// into a zone of 10,000 items.
func BenchmarkApply(b *testing.B) {
	r, err := New(testConfig(), Deps{Logger: quiet(), Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	big := bigCase(10_000)
	ctx := context.Background()
	if _, err := r.Sync(ctx, items(big)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a := sinkhole(fmt.Sprintf("new-%d.example", i), false)
		if err := r.Apply(ctx, kase(fmt.Sprintf("case-%d", i), a), a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSync measures a Sync of 10,000 items that finds no drift.
func BenchmarkSync(b *testing.B) {
	r, err := New(testConfig(), Deps{Logger: quiet(), Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	desired := items(bigCase(10_000))
	ctx := context.Background()
	if _, err := r.Sync(ctx, desired); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d, err := r.Sync(ctx, desired); err != nil || d.Total() != 0 {
			b.Fatal(d, err)
		}
	}
}

// BenchmarkAXFR measures building and chunking the AXFR of 10,000 items
// (15,000 records).
func BenchmarkAXFR(b *testing.B) {
	r, err := New(testConfig(), Deps{Logger: quiet(), Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Sync(context.Background(), items(bigCase(10_000))); err != nil {
		b.Fatal(err)
	}
	req := axfrMsg("rpz.acd.")
	b.ReportAllocs()
	for b.Loop() {
		if rep := r.transfer(req, true); len(rep.msgs) < 2 {
			b.Fatal("one message")
		}
	}
}
