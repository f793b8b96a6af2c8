package store

import (
	"context"
	"testing"
	"time"

	"github.com/acd-org/acd/intel/share"
)

func TestShareLedgerAndBookmarks(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	l := db.ShareLedger()
	at := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	for i, e := range []share.Entry{
		{Partner: "us", ObjectID: "indicator--1", Version: at, Direction: share.Out, At: at, Allowed: true, Reason: "ok"},
		{Partner: "us", ObjectID: "indicator--1", Version: at.Add(time.Minute), Direction: share.Out, At: at.Add(time.Minute), Allowed: false, Reason: "tlp"},
		{Partner: "uk", ObjectID: "indicator--1", Direction: share.Out, At: at.Add(2 * time.Minute), Allowed: true, Reason: "ok"},
	} {
		if err := l.Record(ctx, e); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	e, ok, err := l.LastAllowed(ctx, "us", "indicator--1", share.Out)
	if err != nil || !ok || !e.Version.Equal(at) || e.Reason != "ok" {
		t.Fatalf("last allowed: %+v %v %v", e, ok, err)
	}
	if _, ok, _ := l.LastAllowed(ctx, "us", "indicator--1", share.In); ok {
		t.Error("an incoming entry found")
	}
	es, err := l.Entries(ctx, share.Query{Partner: "us"})
	if err != nil || len(es) != 2 || es[0].Allowed != true || es[1].Reason != "tlp" {
		t.Fatalf("entries: %+v %v", es, err)
	}
	if es, _ := l.Entries(ctx, share.Query{Limit: 1}); len(es) != 1 || es[0].Partner != "uk" {
		t.Errorf("latest one: %+v", es)
	}
	b := db.ShareBookmarks()
	if got, err := b.Get(ctx, "jp", "c1"); err != nil || !got.IsZero() {
		t.Fatalf("no bookmark: %v %v", got, err)
	}
	for _, ts := range []time.Time{at, at.Add(time.Hour)} {
		if err := b.Set(ctx, "jp", "c1", ts); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.Get(ctx, "jp", "c1"); !got.Equal(ts) {
			t.Errorf("bookmark %v, want %v", got, ts)
		}
	}
}
