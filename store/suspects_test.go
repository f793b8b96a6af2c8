package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/detect"
)

func TestSuspectsRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	book := detect.NewBook(100, nil)
	var want []detect.Suspect
	for _, f := range []detect.Finding{
		finding(t, "192.0.2.1", detect.RoleScanner, 0.8, at),
		finding(t, "2001:db8::/48", detect.RoleDDoSSource, 0.6, at),
		finding(t, "203.0.113.9", detect.RoleC2, 0.5, at),
	} {
		want = append(want, book.Add(f))
	}
	// The same pseudonym in two key epochs is two suspects.
	for epoch := uint32(1); epoch <= 2; epoch++ {
		f := finding(t, "198.18.0.5", detect.RoleBruteforce, 0.9, at)
		f.Pseudo, f.KeyEpoch = true, epoch
		want = append(want, book.Add(f))
	}
	// Written twice: the second write replaces the first.
	if err := db.SaveSuspects(ctx, want); err != nil {
		t.Fatal(err)
	}
	want[0] = book.Add(finding(t, "192.0.2.1", detect.RoleBruteforce, 0.7, at.Add(time.Hour)))
	if err := db.SaveSuspects(ctx, want[:1]); err != nil {
		t.Fatal(err)
	}
	got, err := db.LoadSuspects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	detect.SortSuspects(want)
	// Compare as the API shows them (scores are rounded in JSON).
	if diff := cmp.Diff(asJSON(t, got), asJSON(t, want)); diff != "" {
		t.Errorf("loaded suspects (-got, +want):\n%s", diff)
	}
	if n, _ := db.CountSuspects(ctx); n != 5 {
		t.Errorf("count = %d, want 5", n)
	}
	// A book loaded from the store answers like the original.
	b2 := detect.NewBook(100, nil)
	b2.Load(got)
	if s, ok := b2.Get(want[0].Key); !ok || len(s.Roles) != len(want[0].Roles) {
		t.Errorf("reloaded book lacks %s: %+v", want[0].Key, s)
	}
}

func TestSuspectKey(t *testing.T) {
	k, _ := detect.ParseKey("198.18.0.5")
	if got := SuspectKey(k); got != "198.18.0.5" {
		t.Errorf("real key = %q", got)
	}
	k.Pseudo, k.KeyEpoch = true, 7
	if got := SuspectKey(k); got != "198.18.0.5#p7" {
		t.Errorf("pseudonym key = %q", got)
	}
}

func TestLoadSkipsBadRows(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.w.ExecContext(ctx, `INSERT INTO suspects VALUES ('x', 'x', 0, 0, 0.5, '', 0, 0, 0, '{bad')`); err != nil {
		t.Fatal(err)
	}
	book := detect.NewBook(10, nil)
	if err := db.SaveSuspects(ctx, []detect.Suspect{book.Add(finding(t, "192.0.2.1", detect.RoleScanner, 0.8, time.Now()))}); err != nil {
		t.Fatal(err)
	}
	got, err := db.LoadSuspects(ctx)
	if err != nil || len(got) != 1 {
		t.Errorf("loaded %d suspects, %v; want 1 (the bad row skipped)", len(got), err)
	}
}

func TestDeleteSuspectsBefore(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	old := suspectAt(t, "192.0.2.1", now.Add(-100*24*time.Hour))
	fresh := suspectAt(t, "192.0.2.2", now.Add(-time.Hour))
	if err := db.SaveSuspects(ctx, []detect.Suspect{old, fresh}); err != nil {
		t.Fatal(err)
	}
	n, err := db.DeleteSuspectsBefore(ctx, now.Add(-90*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want 1", n, err)
	}
	got, _ := db.LoadSuspects(ctx)
	if len(got) != 1 || got[0].Key.String() != "192.0.2.2" {
		t.Errorf("left %v, want only 192.0.2.2", got)
	}
}

// suspectAt makes a suspect last updated at t.
func suspectAt(t *testing.T, addr string, at time.Time) detect.Suspect {
	t.Helper()
	s := detect.NewBook(10, nil).Add(finding(t, addr, detect.RoleScanner, 0.8, at))
	s.Updated = at
	return s
}

func asJSON(t *testing.T, ss []detect.Suspect) []string {
	t.Helper()
	out := make([]string, len(ss))
	for i := range ss {
		b, err := json.Marshal(ss[i])
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

func TestSaveSuspectsDeletesWithdrawn(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := suspectAt(t, "198.51.100.7", time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	if err := db.SaveSuspects(ctx, []detect.Suspect{s}); err != nil {
		t.Fatal(err)
	}
	s.Evidence, s.Roles, s.Score = nil, nil, 0
	if err := db.SaveSuspects(ctx, []detect.Suspect{s}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountSuspects(ctx); err != nil || n != 0 {
		t.Fatalf("after withdrawing every piece of evidence: %d suspects, %v", n, err)
	}
}
