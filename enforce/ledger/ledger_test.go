package ledger

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
)

func TestLedger(t *testing.T) {
	l := Ledger{Dir: t.TempDir(), Prefix: "abuse"}
	if ok, err := l.Has("case-1", 2, 0); ok || err != nil {
		t.Fatalf("empty ledger: %v %v", ok, err)
	}
	if err := l.Record("case-1", 2, 0, map[string]string{"via": "smtp"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.Has("case-1", 2, 0); !ok || err != nil {
		t.Fatalf("after record: %v %v", ok, err)
	}
	if ok, _ := l.Has("case-1", 3, 0); ok {
		t.Error("another version is in the ledger")
	}
	b, err := os.ReadFile(filepath.Join(l.Dir, "abuse-case-1-v2-a0.json"))
	if err != nil || string(b) != "{\n  \"via\": \"smtp\"\n}\n" {
		t.Fatalf("file %q %v", b, err)
	}
	left, _ := filepath.Glob(filepath.Join(l.Dir, ".*tmp*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := WriteAtomic(filepath.Join(l.Dir, "missing"), "x", nil); err == nil {
		t.Error("a write into a missing directory succeeded")
	}
}

func TestActionIndexAndSafeID(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	a := cases.Action{Type: cases.ActionAbuseReport, Target: cases.MustTarget("198.51.100.7"), NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	b := a
	b.Target = cases.MustTarget("198.51.100.8")
	c := cases.Case{ID: "c", Actions: []cases.Action{b, a}}
	if i, err := ActionIndex(c, a); err != nil || i != 1 {
		t.Fatalf("index %d %v", i, err)
	}
	a.NotAfter = a.NotAfter.Add(time.Second)
	if _, err := ActionIndex(c, a); err == nil {
		t.Error("a changed action was found")
	}
	for id, want := range map[string]bool{"case-20261126T1.2Z_x": true, "": false, "../etc": false, "a b": false, string(make([]byte, 65)): false} {
		if SafeID(id) != want {
			t.Errorf("SafeID(%q) = %v", id, !want)
		}
	}
}
