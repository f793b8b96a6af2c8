package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/intel/taxii"
	"github.com/acd-org/acd/intel/taxii/storetest"
)

// newTAXII opens a fresh store whose clock is now (time.Now when nil).
func newTAXII(t *testing.T, now func() time.Time) taxii.Store {
	db := openTest(t)
	if now != nil {
		db.now = now
	}
	return db.TAXII()
}

func TestTAXIIConformance(t *testing.T) {
	storetest.Run(t, newTAXII)
}

func TestTAXIIStatusesBounded(t *testing.T) {
	s := newTAXII(t, nil).(*taxiiStore)
	s.maxStats = 3
	ctx := t.Context()
	for i := range 5 {
		if err := s.PutStatus(ctx, taxii.StatusRecord{Status: taxii.Status{ID: fmt.Sprint(i), Status: "pending"}}); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing a status does not count twice.
	if err := s.PutStatus(ctx, taxii.StatusRecord{Status: taxii.Status{ID: "4", Status: "complete"}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, false, true, true, true} {
		_, err := s.Status(ctx, fmt.Sprint(i))
		if (err == nil) != want {
			t.Errorf("status %d: %v, want kept %v", i, err, want)
		}
	}
	if st, _ := s.Status(ctx, "4"); st.Status.Status != "complete" {
		t.Errorf("status 4 not replaced: %+v", st)
	}
}

// TestTAXIIMatchesMemStore adds, queries and deletes at random in
// MemStore and the SQLite store with the same clock, and compares every
// answer.
func TestTAXIIMatchesMemStore(t *testing.T) {
	clock := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	mem, sq := taxii.NewMemStore(now), newTAXII(t, now)
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	const cols = 2
	col := func() string { return fmt.Sprintf("c%d", rng.IntN(cols)) }
	id := func() string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", rng.IntN(12)) }
	object := func() taxii.Object {
		if rng.IntN(10) == 0 { // no version: its date added
			return storetest.Parse(t, fmt.Sprintf(`{"type":"ipv4-addr","id":"ipv4-addr--00000000-0000-4000-8000-%012d","value":"198.51.100.1"}`, rng.IntN(3)))
		}
		spec := []string{"2.0", "2.1", "2.1"}[rng.IntN(3)]
		return storetest.Parse(t, fmt.Sprintf(`{"type":"indicator","spec_version":%q,"id":%q,"created":"2026-01-01T00:00:00Z","modified":"2026-01-%02dT00:00:00.%03dZ"}`,
			spec, id(), 1+rng.IntN(4), rng.IntN(2)))
	}
	filter := func() taxii.Filter {
		var f taxii.Filter
		if rng.IntN(3) == 0 {
			f.AddedAfter = clock.Add(-time.Duration(rng.IntN(200)) * time.Millisecond)
		}
		for range rng.IntN(3) {
			f.IDs = append(f.IDs, id())
		}
		if rng.IntN(4) == 0 {
			f.Types = []string{[]string{"indicator", "ipv4-addr", "malware"}[rng.IntN(3)]}
		}
		for range rng.IntN(3) {
			v := taxii.VersionMatch{Kind: taxii.VersionKind(rng.IntN(4))}
			if v.Kind == taxii.VersionAt {
				v.At = time.Date(2026, 1, 1+rng.IntN(4), 0, 0, 0, rng.IntN(2)*int(time.Millisecond), time.UTC)
			}
			f.Versions = append(f.Versions, v)
		}
		for range rng.IntN(3) {
			f.SpecVersions = append(f.SpecVersions, []string{"2.0", "2.1", "2.2"}[rng.IntN(3)])
		}
		return f
	}
	served := 0
	for step := range 800 {
		clock = clock.Add(time.Duration(rng.IntN(3)) * time.Millisecond / 2)
		switch op := rng.IntN(10); {
		case op < 4:
			c := col()
			var objs []taxii.Object
			for range 1 + rng.IntN(4) {
				objs = append(objs, object())
			}
			a, err1 := mem.AddObjects(ctx, c, objs)
			b, err2 := sq.AddObjects(ctx, c, objs)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if diff := cmp.Diff(a, b); diff != "" {
				t.Fatalf("step %d: dates added (-mem, +sqlite):\n%s", step, diff)
			}
		case op < 5:
			c, i, f := col(), id(), filter()
			f.AddedAfter, f.IDs, f.Types = time.Time{}, nil, nil
			a, err1 := mem.Delete(ctx, c, i, f)
			b, err2 := sq.Delete(ctx, c, i, f)
			if err1 != nil || err2 != nil || a != b {
				t.Fatalf("step %d: delete %s %+v: mem %d (%v), sqlite %d (%v)", step, i, f, a, err1, b, err2)
			}
		default:
			c := col()
			q := taxii.Query{Filter: filter(), Limit: 1 + rng.IntN(6)}
			manifest := rng.IntN(4) == 0
			qm, qs := q, q // each store pages with its own tokens
			for page := 0; ; page++ {
				var a, b taxii.Page
				var err1, err2 error
				if manifest {
					a, err1 = mem.Manifest(ctx, c, qm)
					b, err2 = sq.Manifest(ctx, c, qs)
				} else {
					a, err1 = mem.Objects(ctx, c, qm)
					b, err2 = sq.Objects(ctx, c, qs)
				}
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if diff := cmp.Diff(a.Objects, b.Objects); diff != "" || a.More != b.More {
					t.Fatalf("step %d page %d: %+v: more %v/%v (-mem, +sqlite):\n%s", step, page, q, a.More, b.More, diff)
				}
				served += len(b.Objects)
				if !a.More {
					break
				}
				qm.Next, qs.Next = a.Next, b.Next
			}
		}
	}
	if served < 300 {
		t.Errorf("only %d objects served in all: the random queries test little", served)
	}
	t.Logf("%d objects served", served)
}

// TestTAXIIPersists checks that objects, dates added and statuses
// survive reopening the database.
func TestTAXIIPersists(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "acd.db")
	ctx := t.Context()
	db, err := Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixed := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	db.now = func() time.Time { return fixed }
	first, err := db.TAXII().AddObjects(ctx, "c", []taxii.Object{storetest.Parse(t, storetest.Indicator(1, "2026-01-01T00:00:00Z"))})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.TAXII().PutStatus(ctx, taxii.StatusRecord{Status: taxii.Status{ID: "s", Status: "complete"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	db.now = func() time.Time { return fixed }
	s := db.TAXII()
	second, err := s.AddObjects(ctx, "c", []taxii.Object{storetest.Parse(t, storetest.Indicator(2, "2026-01-01T00:00:00Z"))})
	if err != nil || !second[0].Equal(first[0].Add(time.Microsecond)) {
		t.Errorf("date added after reopen: %v (%v), want %v", second, err, first[0].Add(time.Microsecond))
	}
	p, err := s.Objects(ctx, "c", taxii.Query{Limit: 10})
	if err != nil || len(p.Objects) != 2 {
		t.Errorf("after reopen: %d objects (%v), want 2", len(p.Objects), err)
	}
	if _, err := s.Status(ctx, "s"); err != nil {
		t.Errorf("status after reopen: %v", err)
	}
}

// TestTAXIIServer runs the TAXII server on the SQLite store over HTTP:
// a POST, then a GET paged with next until every object is served.
func TestTAXIIServer(t *testing.T) {
	const col = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	cfg := taxii.DefaultConfig()
	cfg.APIRoots = []taxii.APIRootConfig{{Name: "api1", Collections: []taxii.CollectionConfig{
		{ID: col, Title: "A", Read: []string{"alice"}, Write: []string{"alice"}}}}}
	srv, err := taxii.New(cfg, taxii.Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store:  newTAXII(t, nil),
		Auth:   taxii.APIKeys{Keys: map[string]string{taxii.HashAPIKey("k"): "alice"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	do := func(method, path, body string, want int) []byte {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", taxii.MediaType)
		req.Header.Set("X-API-Key", "k")
		if body != "" {
			req.Header.Set("Content-Type", taxii.MediaType)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("%s %s: %d (%v), want %d: %s", method, path, resp.StatusCode, err, want, b)
		}
		return b
	}
	var objs []string
	for i := range 25 {
		objs = append(objs, storetest.Indicator(i, "2026-01-01T00:00:00.000Z"))
	}
	var st taxii.Status
	if err := json.Unmarshal(do("POST", "/api1/collections/"+col+"/objects/", `{"objects":[`+strings.Join(objs, ",")+`]}`, http.StatusAccepted), &st); err != nil {
		t.Fatal(err)
	}
	if st.SuccessCount != 25 || st.Status != "complete" {
		t.Fatalf("status %+v", st)
	}
	do("GET", "/api1/status/"+st.ID+"/", "", http.StatusOK)
	var ids []string
	next := ""
	for pages := 1; ; pages++ {
		var env struct {
			More    bool             `json:"more"`
			Next    string           `json:"next"`
			Objects []map[string]any `json:"objects"`
		}
		if err := json.Unmarshal(do("GET", "/api1/collections/"+col+"/objects/?limit=10&next="+next, "", http.StatusOK), &env); err != nil {
			t.Fatal(err)
		}
		for _, o := range env.Objects {
			ids = append(ids, o["id"].(string))
		}
		if !env.More {
			if pages != 3 {
				t.Errorf("%d pages of 10 for 25 objects, want 3", pages)
			}
			break
		}
		next = env.Next
	}
	var want []string
	for i := range 25 {
		want = append(want, storetest.IndicatorID(i))
	}
	if diff := cmp.Diff(ids, want); diff != "" {
		t.Errorf("ids served (-got, +want):\n%s", diff)
	}
	do("GET", "/api1/collections/"+col+"/objects/?next=bad", "", http.StatusBadRequest)
}

// loadTAXII fills collection "bench" of db with n object versions in one
// transaction through one prepared statement: mostly distinct ids, and
// every 50th row a version of one of 200 ids with many versions. Dates
// added are base, base+1µs, …
func loadTAXII(tb testing.TB, db *DB, n int, base time.Time) {
	tb.Helper()
	ctx := context.Background()
	err := db.WriteTx(ctx, func(tx *sql.Tx) error {
		col, _, err := collectionTx(ctx, tx, "bench")
		if err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO taxii_objects
			(col, added, id, type, spec_version, version, created, modified, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer func() { _ = ins.Close() }()
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			id, typ, mod := i, "indicator", start
			if i%50 == 0 { // version i/50/200 of id 200+i/50%200... of 200 ids
				id, mod = -(1 + i/50%200), start.Add(time.Duration(i)*time.Millisecond)
			}
			if i%7 == 0 && i%50 != 0 {
				typ = "malware"
			}
			o := benchObject(id, typ, mod)
			if _, err := ins.ExecContext(ctx, col, base.UnixMicro()+int64(i), o.ID, o.Type, o.SpecVersion, o.Version.UnixNano(),
				stamp(o.Created), stamp(o.Modified), []byte(o.Raw)); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE taxii_collections SET last_added = ? WHERE seq = ?`, base.UnixMicro()+int64(n), col)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// benchObject is object n (negative: the many-versioned ones) of type
// typ, modified at mod.
func benchObject(n int, typ string, mod time.Time) taxii.Object {
	if n < 0 {
		n = 1_000_000_000 - n
	}
	raw := fmt.Sprintf(`{"type":%q,"spec_version":"2.1","id":"%s--00000000-0000-4000-8000-%012d",`+
		`"created":"2026-01-01T00:00:00.000Z","modified":%q,"pattern":"[ipv4-addr:value = '198.51.%d.%d']",`+
		`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, typ, typ, n, taxii.FormatVersion(mod), n/256%256, n%256)
	o, err := taxii.ParseObject([]byte(raw))
	if err != nil {
		panic(err)
	}
	return o
}

// BenchmarkTAXIIGet1M pages 100 objects from a random added_after in a
// collection of 1,000,000 object versions (980,000 distinct ids, 200
// ids with 100 versions each). p50 and p99 are per GET.
func BenchmarkTAXIIGet1M(b *testing.B) {
	if testing.Short() {
		b.Skip("loads 1,000,000 objects; not under -short")
	}
	const n = 1_000_000
	db := openBench(b)
	base := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	t0 := time.Now()
	loadTAXII(b, db, n, base)
	b.Logf("loaded %d objects in %v", n, time.Since(t0))
	s := db.TAXII()
	v := func(k taxii.VersionKind) []taxii.VersionMatch { return []taxii.VersionMatch{{Kind: k}} }
	for _, bc := range []struct {
		name     string
		f        taxii.Filter
		manifest bool
	}{
		{"last", taxii.Filter{}, false},
		{"all", taxii.Filter{Versions: v(taxii.VersionAll)}, false},
		{"first", taxii.Filter{Versions: v(taxii.VersionFirst)}, false},
		{"type", taxii.Filter{Types: []string{"malware"}}, false},
		{"spec", taxii.Filter{SpecVersions: []string{"2.1"}}, false},
		{"manifest", taxii.Filter{}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			rng := rand.New(rand.NewPCG(3, 4))
			var lat []time.Duration
			ctx := b.Context()
			for b.Loop() {
				q := taxii.Query{Filter: bc.f, Limit: 100}
				q.AddedAfter = base.Add(time.Duration(rng.IntN(n-1000)) * time.Microsecond)
				start := time.Now()
				var p taxii.Page
				var err error
				if bc.manifest {
					p, err = s.Manifest(ctx, "bench", q)
				} else {
					p, err = s.Objects(ctx, "bench", q)
				}
				lat = append(lat, time.Since(start))
				if err != nil || len(p.Objects) == 0 {
					b.Fatalf("%d objects, %v", len(p.Objects), err)
				}
			}
			reportPercentiles(b, lat)
		})
	}
}

// reportPercentiles reports the p50 and p99 of lat in µs.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkTAXIIPost adds envelopes of 100 new objects.
func BenchmarkTAXIIPost(b *testing.B) {
	b.ReportAllocs()
	db := openBench(b)
	s := db.TAXII()
	ctx := b.Context()
	next := 0
	objs := make([]taxii.Object, 100)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	added := 0
	var busy time.Duration
	for b.Loop() {
		for i := range objs {
			objs[i] = benchObject(next, "indicator", start)
			next++
		}
		t0 := time.Now()
		if _, err := s.AddObjects(ctx, "bench", objs); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(t0)
		added += len(objs)
	}
	b.ReportMetric(float64(added)/busy.Seconds(), "objects/s")
}

// openBench opens a fresh store in b.TempDir, closed at cleanup.
func openBench(b *testing.B) *DB {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(b.TempDir(), "acd.db")
	db, err := Open(b.Context(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// TestTAXIIQueryPlans checks that every form of GET objects walks an
// index in date added order (or, with match[id], the id index), never
// the whole table.
func TestTAXIIQueryPlans(t *testing.T) {
	db := openTest(t)
	loadTAXII(t, db, 500, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	v := func(k taxii.VersionKind) []taxii.VersionMatch { return []taxii.VersionMatch{{Kind: k}} }
	cases := []struct {
		name string
		f    taxii.Filter
		want string // in the plan of the outer table
	}{
		{"default", taxii.Filter{}, "SEARCH o USING PRIMARY KEY (col=? AND added>?)"},
		{"all", taxii.Filter{Versions: v(taxii.VersionAll)}, "SEARCH o USING PRIMARY KEY (col=? AND added>?)"},
		{"first spec", taxii.Filter{Versions: v(taxii.VersionFirst), SpecVersions: []string{"2.1"}}, "SEARCH o USING PRIMARY KEY (col=? AND added>?)"},
		{"type", taxii.Filter{Types: []string{"malware"}}, "SEARCH o USING INDEX taxii_objects_type (col=? AND type=? AND added>?)"},
		{"types", taxii.Filter{Types: []string{"malware", "indicator"}}, "SEARCH o USING PRIMARY KEY (col=? AND added>?)"},
		{"ids", taxii.Filter{IDs: []string{"a", "b"}, Types: []string{"malware"}}, "SEARCH o USING INDEX taxii_objects_version (col=? AND id=?)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, args := selectSQL("bench", 5, tc.f, 101, true)
			rows, err := db.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = rows.Close() }()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if !slices.Contains(plan, tc.want) {
				t.Errorf("plan lacks %q:\n%s", tc.want, strings.Join(plan, "\n"))
			}
			for _, p := range plan {
				if strings.HasPrefix(p, "SCAN") {
					t.Errorf("plan scans a table: %q\n%s", p, strings.Join(plan, "\n"))
				}
			}
		})
	}
}

// FuzzTAXIIToken checks that any next token is either one the store
// could have issued (and encodes back the same) or ErrBadToken.
func FuzzTAXIIToken(f *testing.F) {
	for _, s := range []string{"", encodeTAXIIToken(0), encodeTAXIIToken(1795651200000000), "czE6LTE", "!", "bTE6MTIz", "czE6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := decodeTAXIIToken(s)
		if err != nil {
			if !errors.Is(err, taxii.ErrBadToken) {
				t.Fatalf("%q: %v, not ErrBadToken", s, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("%q: negative %d", s, n)
		}
		if s != "" {
			if m, err := decodeTAXIIToken(encodeTAXIIToken(n)); err != nil || m != n {
				t.Fatalf("%q: %d does not round trip: %d, %v", s, n, m, err)
			}
		}
	})
}
