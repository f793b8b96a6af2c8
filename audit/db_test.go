package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAppendVerifyDB(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	cp, err := NewCheckpointer(key, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, db, cp, 23, ActionCaseRequest)
	r, err := VerifyDB(ctx, db, pub)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Entries != 23 || r.LastSeq != 23 || r.Checkpoints != 4 || r.SignedThrough != 20 || r.Tail != 3 {
		t.Fatalf("report = %+v", r)
	}
	// An on-demand checkpoint signs the tail; a second one has nothing to do.
	for i, want := range []bool{true, false} {
		write(t, db, func(tx *sql.Tx) error {
			c, ok, err := cp.Checkpoint(ctx, tx)
			if ok != want || (ok && c.Seq != 23) {
				t.Errorf("checkpoint %d: %+v, %v, want ok=%v", i, c, ok, want)
			}
			return err
		})
	}
	if r, _ = VerifyDB(ctx, db, pub); !r.OK() || r.Tail != 0 || r.SignedThrough != 23 {
		t.Fatalf("after checkpoint: %+v", r)
	}
	// Stored entries read back exactly as appended.
	es, err := List(ctx, db, Filter{})
	if err != nil || len(es) != 23 {
		t.Fatal(len(es), err)
	}
	for i, e := range es {
		if e.Seq != int64(i+1) || e.Hash != e.ComputeHash() || e.Time.Location() != time.UTC {
			t.Fatalf("entry %d read back as %+v", i+1, e)
		}
	}
}

func TestAppendRollsBackWithTx(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	appendN(t, db, nil, 2, ActionLogin)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Append(ctx, tx, Entry{Actor: "a", Action: ActionCaseExecute}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	appendN(t, db, nil, 1, ActionLogin)
	es, _ := List(ctx, db, Filter{})
	if len(es) != 3 || es[2].Seq != 3 || es[2].Action != ActionLogin {
		t.Fatalf("entries after rollback: %+v", es)
	}
	if r, _ := VerifyDB(ctx, db, newKey(t).Public().(ed25519.PublicKey)); !r.OK() {
		t.Fatal(r.Problems)
	}
}

func TestAppendRefusesInvalid(t *testing.T) {
	db := openDB(t)
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := Append(context.Background(), tx, Entry{Action: "login"}); err == nil || !strings.Contains(err.Error(), "actor") {
		t.Fatalf("Append without actor: %v", err)
	}
}

func TestTriggersRefuseChanges(t *testing.T) {
	db := openDB(t)
	key := newKey(t)
	cp, _ := NewCheckpointer(key, 1, nil)
	appendN(t, db, cp, 2, ActionLogin)
	for _, q := range []string{
		`UPDATE audit_entries SET actor = 'x' WHERE seq = 1`,
		`DELETE FROM audit_entries WHERE seq = 2`,
		`UPDATE audit_checkpoints SET sig = '' WHERE seq = 1`,
		`DELETE FROM audit_checkpoints`,
	} {
		if _, err := db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", q, err)
		}
	}
}

func TestExportVerifyOffline(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	cp, _ := NewCheckpointer(key, 4, nil)
	appendN(t, db, cp, 10, ActionCaseApprove)
	// Data with characters encoding/json would escape survives.
	write(t, db, func(tx *sql.Tx) error {
		_, err := Append(ctx, tx, Entry{Actor: "ö<&>", Action: ActionShare, Data: []byte(`{"tlp":"<amber+strict>","s":"\u2028"}`)})
		return err
	})
	var buf bytes.Buffer
	h, err := Export(ctx, db, &buf, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h.FromSeq != 1 || h.ToSeq != 11 || h.Partial {
		t.Errorf("header = %+v", h)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1+11+2 || !strings.HasPrefix(lines[0], `{"header":`) || !strings.HasPrefix(lines[5], `{"checkpoint":`) {
		t.Fatalf("export:\n%s", buf.String())
	}
	r, err := VerifyExport(strings.NewReader(buf.String()), pub, Options{})
	if err != nil || !r.OK() || r.Entries != 11 || r.SignedThrough != 8 || r.Tail != 3 {
		t.Fatalf("verify export: %v %+v", err, r)
	}

	tests := []struct {
		name string
		edit func([]string) []string
		seq  int64
		kind string
	}{
		{"delete a line", func(l []string) []string { return append(l[:3:3], l[4:]...) }, 3, ProblemGap},
		{"swap lines", func(l []string) []string { l[2], l[3] = l[3], l[2]; return l }, 2, ProblemGap},
		{"edit a field", func(l []string) []string { l[7] = strings.Replace(l[7], `"bob"`, `"eve"`, 1); return l }, 6, ProblemHash},
		{"garbage line", func(l []string) []string { l[3] = "{nope"; return l }, 3, ProblemMalformed},
		{"two records in a line", func(l []string) []string {
			l[3] = strings.Replace(l[3], `{"entry":`, `{"header":{},"entry":`, 1)
			return l
		}, 3, ProblemMalformed},
		{"drop the tail and its checkpoint", func(l []string) []string { return l[:6] }, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.edit(append([]string(nil), lines...))
			r, err := VerifyExport(strings.NewReader(strings.Join(l, "\n")), pub, Options{})
			if err != nil {
				t.Fatal(err)
			}
			p, ok := r.First()
			if tt.kind == "" {
				// Undetectable without another copy: reported as fewer
				// entries, all signed.
				if ok || r.Tail != 0 || r.LastSeq != 4 {
					t.Errorf("report = %+v", r)
				}
				return
			}
			if !ok || p.Seq != tt.seq || p.Kind != tt.kind {
				t.Errorf("first problem = %v (ok %v), want seq %d %s", p, ok, tt.seq, tt.kind)
			}
		})
	}
}

func TestExportRange(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	key := newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	cp, _ := NewCheckpointer(key, 5, nil)
	for i := 0; i < 12; i++ {
		write(t, db, func(tx *sql.Tx) error {
			if _, err := Append(ctx, tx, Entry{Actor: "a", Action: ActionLogin, Time: t0.Add(time.Duration(i) * time.Hour)}); err != nil {
				return err
			}
			return cp.AfterWrite(ctx, tx)
		})
	}
	var buf bytes.Buffer
	// Entries at hours 3..6 are seq 4..7; the end extends to the
	// checkpoint at 10.
	h, err := Export(ctx, db, &buf, ExportOptions{From: t0.Add(3 * time.Hour), To: t0.Add(7 * time.Hour)})
	if err != nil || h.FromSeq != 4 || h.ToSeq != 10 || !h.Partial {
		t.Fatalf("header %+v, %v", h, err)
	}
	r, err := VerifyExport(bytes.NewReader(buf.Bytes()), pub, Options{Partial: true})
	if err != nil || !r.OK() || r.FirstSeq != 4 || r.LastSeq != 10 || r.SignedThrough != 10 || r.Tail != 0 {
		t.Fatalf("partial verify: %v %+v", err, r)
	}
	if r, _ := VerifyExport(bytes.NewReader(buf.Bytes()), pub, Options{}); r.OK() {
		t.Error("a partial export verified as a whole log")
	}
	buf.Reset()
	if h, err := Export(ctx, db, &buf, ExportOptions{From: t0.Add(100 * time.Hour)}); err != nil || h.ToSeq >= h.FromSeq {
		t.Fatalf("empty range: %+v %v", h, err)
	}
	if r, err := VerifyExport(&buf, pub, Options{Partial: true}); err != nil || !r.OK() || r.Entries != 0 {
		t.Fatalf("empty export: %+v %v", r, err)
	}
}

func TestVerifyExportReadErrors(t *testing.T) {
	pub := newKey(t).Public().(ed25519.PublicKey)
	long := strings.Repeat("x", maxLine+10)
	if _, err := VerifyExport(strings.NewReader(long), pub, Options{}); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("long line: %v", err)
	}
	if _, err := VerifyExport(iotestErr{}, pub, Options{}); err == nil {
		t.Error("read error not returned")
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestList(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	add := func(actor, action, object string, at time.Duration) {
		write(t, db, func(tx *sql.Tx) error {
			_, err := Append(ctx, tx, Entry{Actor: actor, Action: action, Object: object, Time: t0.Add(at)})
			return err
		})
	}
	add("alice", ActionCaseCreate, "case:1", 0)
	add("bob", ActionCaseApprove, "case:1", time.Hour)
	add("carol", ActionCaseApprove, "case:1", 2*time.Hour)
	add("alice", ActionLogin, "", 3*time.Hour)
	add("alice", ActionCaseCreate, "case:2", 4*time.Hour)
	tests := []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all", Filter{}, []int64{1, 2, 3, 4, 5}},
		{"actor", Filter{Actor: "alice"}, []int64{1, 4, 5}},
		{"action", Filter{Action: ActionCaseApprove}, []int64{2, 3}},
		{"action prefix", Filter{Action: "case.*"}, []int64{1, 2, 3, 5}},
		{"object", Filter{Object: "case:1"}, []int64{1, 2, 3}},
		{"time", Filter{From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour)}, []int64{2, 3}},
		{"limit keeps newest", Filter{Limit: 2}, []int64{4, 5}},
		{"combined", Filter{Actor: "alice", Action: "case.*", Limit: 1}, []int64{5}},
		{"none", Filter{Actor: "mallory"}, nil},
	}
	for _, tt := range tests {
		es, err := List(ctx, db, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, e := range es {
			got = append(got, e.Seq)
		}
		if !equalSeqs(got, tt.want) {
			t.Errorf("%s: seqs %v, want %v", tt.name, got, tt.want)
		}
	}
}

func equalSeqs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
