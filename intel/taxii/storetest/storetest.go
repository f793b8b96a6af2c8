// Package storetest is a conformance suite for taxii.Store
// implementations: the behaviour of taxii.MemStore (dates added, dedup,
// version and spec version selection, filters, paging, Delete, status
// resources), run against any store. Call Run from a test:
//
//	storetest.Run(t, func(t *testing.T, now func() time.Time) taxii.Store { ... })
package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/intel/taxii"
)

// NewStore returns an empty store reading the time from now.
type NewStore func(t *testing.T, now func() time.Time) taxii.Store

// Run runs the suite, each case on a fresh store from newStore.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	t.Run("DateAdded", func(t *testing.T) { testDateAdded(t, newStore) })
	t.Run("PagingConsistent", func(t *testing.T) { testPaging(t, newStore) })
	t.Run("MatchFilters", func(t *testing.T) { testMatch(t, newStore) })
	t.Run("SpecVersionDefaultIsLatest", func(t *testing.T) { testSpecDefault(t, newStore) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore) })
	t.Run("Status", func(t *testing.T) { testStatus(t, newStore) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, newStore) })
}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// Indicator returns an indicator's JSON with the given uuid suffix and
// modified time.
func Indicator(n int, modified string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d",`+
		`"created":"2026-01-01T00:00:00.000Z","modified":%q,"pattern":"[ipv4-addr:value = '198.51.100.%d']",`+
		`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, n, modified, n%256)
}

// IndicatorID is the id of Indicator(n, …).
func IndicatorID(n int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", n) }

// Parse parses raw, failing t on error.
func Parse(t testing.TB, raw string) taxii.Object {
	t.Helper()
	o, err := taxii.ParseObject([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// all pages through every match of f.
func all(t *testing.T, s taxii.Store, col string, f taxii.Filter, limit int) []taxii.Object {
	t.Helper()
	var got []taxii.Object
	q := taxii.Query{Filter: f, Limit: limit}
	for {
		p, err := s.Objects(t.Context(), col, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Objects...)
		if !p.More {
			return got
		}
		if p.Next == "" || len(p.Objects) != limit {
			t.Fatalf("page with more: %d objects (limit %d), next %q", len(p.Objects), limit, p.Next)
		}
		q.Next = p.Next
	}
}

const col = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"

func testDateAdded(t *testing.T, newStore NewStore) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newStore(t, c.now)
	ctx := t.Context()
	var added []time.Time
	k := 0
	for _, step := range []struct {
		advance time.Duration
		n       int
	}{
		{0, 3},                     // same instant: +1 µs each
		{-time.Hour, 2},            // clock goes back: still increasing
		{2 * time.Hour, 1},         // jumps ahead
		{time.Nanosecond * 300, 2}, // sub-µs advance
	} {
		c.t = c.t.Add(step.advance)
		var objs []taxii.Object
		for range step.n {
			objs = append(objs, Parse(t, Indicator(k, "2026-01-01T00:00:00.000Z")))
			k++
		}
		got, err := s.AddObjects(ctx, col, objs)
		if err != nil || len(got) != len(objs) {
			t.Fatalf("AddObjects: %v, %d dates for %d objects", err, len(got), len(objs))
		}
		added = append(added, got...)
	}
	for i := 1; i < len(added); i++ {
		if !added[i].After(added[i-1]) || added[i].Nanosecond()%1000 != 0 {
			t.Errorf("date added %d: %v after %v", i, added[i], added[i-1])
		}
	}
	if want := time.Date(2026, 1, 1, 0, 0, 0, 4000, time.UTC); !added[4].Equal(want) {
		t.Errorf("date added after clock went back: %v, want %v", added[4], want)
	}
	// A duplicate (same id, version, spec) keeps its first date added,
	// in another post and within one.
	dup := Parse(t, Indicator(0, "2026-01-01T00:00:00.000Z"))
	again, err := s.AddObjects(ctx, col, []taxii.Object{dup, dup})
	if err != nil || !again[0].Equal(added[0]) || !again[1].Equal(added[0]) {
		t.Errorf("duplicate: %v (%v), want %v", again, err, added[0])
	}
	got := all(t, s, col, taxii.Filter{Versions: []taxii.VersionMatch{{Kind: taxii.VersionAll}}}, 100)
	if len(got) != len(added) {
		t.Errorf("%d stored, want %d", len(got), len(added))
	}
	for i, o := range got {
		if !o.DateAdded.Equal(added[i]) {
			t.Errorf("object %d: date added %v, want %v", i, o.DateAdded, added[i])
		}
	}
	// Another collection has its own dates; deleting does not reuse one.
	if n, err := s.Delete(ctx, col, IndicatorID(k-1), taxii.Filter{}); n != 1 || err != nil {
		t.Fatalf("delete: %d, %v", n, err)
	}
	more, err := s.AddObjects(ctx, col, []taxii.Object{Parse(t, Indicator(k-1, "2026-01-01T00:00:00.000Z"))})
	if err != nil || !more[0].After(added[len(added)-1]) {
		t.Errorf("after delete: %v (%v), want after %v", more, err, added[len(added)-1])
	}
	other, err := s.AddObjects(ctx, "other", []taxii.Object{dup})
	if err != nil || !other[0].Equal(c.t.Truncate(time.Microsecond)) {
		t.Errorf("other collection: %v (%v), want %v", other, err, c.t)
	}
}

func testPaging(t *testing.T, newStore NewStore) {
	s := newStore(t, nil)
	ctx := t.Context()
	var objs []taxii.Object
	for i := range 97 {
		objs = append(objs, Parse(t, Indicator(i%40, fmt.Sprintf("2026-01-%02dT00:00:00.000Z", 1+i/40))))
	}
	if _, err := s.AddObjects(ctx, col, objs); err != nil {
		t.Fatal(err)
	}
	for _, f := range []taxii.Filter{
		{},
		{Versions: []taxii.VersionMatch{{Kind: taxii.VersionAll}}},
		{Versions: []taxii.VersionMatch{{Kind: taxii.VersionFirst}}},
		{IDs: []string{IndicatorID(3), IndicatorID(5)}, Versions: []taxii.VersionMatch{{Kind: taxii.VersionAll}}},
		{IDs: []string{IndicatorID(3), IndicatorID(3)}, Versions: []taxii.VersionMatch{{Kind: taxii.VersionAll}}},
	} {
		whole, err := s.Objects(ctx, col, taxii.Query{Filter: f, Limit: 1000})
		if err != nil || whole.More || len(whole.Objects) == 0 {
			t.Fatalf("filter %+v: %v, more %v, %d objects", f, err, whole.More, len(whole.Objects))
		}
		for _, limit := range []int{1, 2, 7, 40, 96} {
			if diff := cmp.Diff(all(t, s, col, f, limit), whole.Objects); diff != "" {
				t.Errorf("filter %+v limit %d (-paged, +whole):\n%s", f, limit, diff)
			}
		}
		man, err := s.Manifest(ctx, col, taxii.Query{Filter: f, Limit: 1000})
		if err != nil || len(man.Objects) != len(whole.Objects) {
			t.Fatalf("manifest: %v, %d objects, want %d", err, len(man.Objects), len(whole.Objects))
		}
		for i, o := range man.Objects {
			if o.Raw != nil {
				t.Errorf("manifest %d has raw bytes", i)
			}
			w := whole.Objects[i]
			w.Raw = nil
			if diff := cmp.Diff(o, w); diff != "" {
				t.Errorf("manifest %d (-manifest, +objects):\n%s", i, diff)
			}
		}
	}
}

// versioned adds three versions of indicator 1, one of indicator 2, an
// ipv4-addr (no version: its date added) and a 2.0 indicator, a second
// apart, and returns the store and the ipv4-addr's version.
func versioned(t *testing.T, newStore NewStore) (taxii.Store, string) {
	c := &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	s := newStore(t, c.now)
	for _, raw := range []string{
		Indicator(1, "2026-01-01T00:00:00.000Z"),
		Indicator(2, "2026-01-05T00:00:00.000Z"),
		Indicator(1, "2026-01-03T00:00:00.000Z"),
		`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`,
		Indicator(1, "2026-01-02T00:00:00.000Z"), // an older version, added last
		`{"type":"indicator","spec_version":"2.0","id":"indicator--00000000-0000-4000-8000-000000000003","created":"2016-01-01T00:00:00.000Z","modified":"2016-01-01T00:00:00.000Z"}`,
	} {
		if _, err := s.AddObjects(t.Context(), col, []taxii.Object{Parse(t, raw)}); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Second)
	}
	return s, "2026-11-26T10:00:03.000Z"
}

// key is "id@version" (version as taxii.FormatVersion).
func key(o taxii.Object) string { return o.ID + "@" + taxii.FormatVersion(o.Version) }

func ts(s string) time.Time {
	t, err := taxii.ParseTimestamp(s)
	if err != nil {
		panic(err)
	}
	return t
}

func testMatch(t *testing.T, newStore NewStore) {
	s, ipVer := versioned(t, newStore)
	i1 := func(day int) string { return fmt.Sprintf("%s@2026-01-0%dT00:00:00.000Z", IndicatorID(1), day) }
	i2 := IndicatorID(2) + "@2026-01-05T00:00:00.000Z"
	ip := "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd@" + ipVer
	i3 := IndicatorID(3) + "@2016-01-01T00:00:00.000Z"
	v := func(kinds ...taxii.VersionKind) []taxii.VersionMatch {
		var out []taxii.VersionMatch
		for _, k := range kinds {
			out = append(out, taxii.VersionMatch{Kind: k})
		}
		return out
	}
	at := func(s ...string) []taxii.VersionMatch {
		var out []taxii.VersionMatch
		for _, x := range s {
			out = append(out, taxii.VersionMatch{Kind: taxii.VersionAt, At: ts(x)})
		}
		return out
	}
	after := time.Date(2026, 11, 26, 10, 0, 1, 0, time.UTC)
	cases := []struct {
		name string
		f    taxii.Filter
		want []string // in date added order
	}{
		{"default", taxii.Filter{}, []string{i2, i1(3), ip, i3}},
		{"last", taxii.Filter{Versions: v(taxii.VersionLast)}, []string{i2, i1(3), ip, i3}},
		{"first", taxii.Filter{Versions: v(taxii.VersionFirst)}, []string{i1(1), i2, ip, i3}},
		{"all", taxii.Filter{Versions: v(taxii.VersionAll)}, []string{i1(1), i2, i1(3), ip, i1(2), i3}},
		{"first,last", taxii.Filter{Versions: v(taxii.VersionFirst, taxii.VersionLast)}, []string{i1(1), i2, i1(3), ip, i3}},
		{"at", taxii.Filter{Versions: at("2026-01-02T00:00:00.000Z")}, []string{i1(2)}},
		{"at two", taxii.Filter{Versions: at("2026-01-02T00:00:00Z", "2026-01-05T00:00:00.000Z")}, []string{i2, i1(2)}},
		{"at,first", taxii.Filter{Versions: append(at("2026-01-02T00:00:00Z"), v(taxii.VersionFirst)...)}, []string{i1(1), i2, ip, i1(2), i3}},
		{"at none", taxii.Filter{Versions: at("2027-01-01T00:00:00Z")}, nil},
		{"type", taxii.Filter{Types: []string{"ipv4-addr"}}, []string{ip}},
		{"types", taxii.Filter{Types: []string{"indicator", "ipv4-addr"}}, []string{i2, i1(3), ip, i3}},
		{"type none", taxii.Filter{Types: []string{"malware"}}, nil},
		{"id", taxii.Filter{IDs: []string{IndicatorID(1)}}, []string{i1(3)}},
		{"ids all", taxii.Filter{IDs: []string{IndicatorID(1), IndicatorID(2)}, Versions: v(taxii.VersionAll)}, []string{i1(1), i2, i1(3), i1(2)}},
		{"id none", taxii.Filter{IDs: []string{IndicatorID(9)}}, nil},
		{"spec 2.1", taxii.Filter{SpecVersions: []string{"2.1"}}, []string{i2, i1(3), ip}},
		{"spec 2.0", taxii.Filter{SpecVersions: []string{"2.0"}}, []string{i3}},
		{"specs type", taxii.Filter{SpecVersions: []string{"2.0", "2.1"}, Types: []string{"indicator"}}, []string{i2, i1(3), i3}},
		{"added after", taxii.Filter{AddedAfter: after}, []string{i1(3), ip, i3}},
		{"added after sub-µs", taxii.Filter{AddedAfter: after.Add(-time.Nanosecond)}, []string{i2, i1(3), ip, i3}},
		{"added after all", taxii.Filter{AddedAfter: after, Versions: v(taxii.VersionAll)}, []string{i1(3), ip, i1(2), i3}},
		{"added after first", taxii.Filter{AddedAfter: after, Versions: v(taxii.VersionFirst)}, []string{ip, i3}},
		{"added after type all", taxii.Filter{AddedAfter: after, Types: []string{"indicator"}, Versions: v(taxii.VersionAll)}, []string{i1(3), i1(2), i3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, o := range all(t, s, col, tc.f, 2) {
				got = append(got, key(o))
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("objects (-got, +want):\n%s", diff)
			}
		})
	}
	p, err := s.Objects(t.Context(), "no-such-collection", taxii.Query{Limit: 10})
	if err != nil || len(p.Objects) != 0 || p.More {
		t.Errorf("unknown collection: %+v, %v", p, err)
	}
}

func testSpecDefault(t *testing.T, newStore NewStore) {
	// The same object version in STIX 2.0 and 2.1: by default only the
	// 2.1 representation is served.
	s := newStore(t, nil)
	ctx := t.Context()
	old := Parse(t, `{"type":"indicator","spec_version":"2.0","id":"`+IndicatorID(7)+`","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"}`)
	for _, o := range []taxii.Object{old, Parse(t, Indicator(7, "2026-01-01T00:00:00.000Z"))} {
		if _, err := s.AddObjects(ctx, col, []taxii.Object{o}); err != nil {
			t.Fatal(err)
		}
	}
	specs := func(f taxii.Filter) []string {
		var out []string
		for _, o := range all(t, s, col, f, 10) {
			out = append(out, o.SpecVersion)
		}
		return out
	}
	v := func(k taxii.VersionKind) []taxii.VersionMatch { return []taxii.VersionMatch{{Kind: k}} }
	for _, tc := range []struct {
		name string
		f    taxii.Filter
		want []string
	}{
		{"default", taxii.Filter{}, []string{"2.1"}},
		{"all", taxii.Filter{Versions: v(taxii.VersionAll)}, []string{"2.1"}},
		{"first", taxii.Filter{Versions: v(taxii.VersionFirst)}, []string{"2.1"}},
		{"2.0", taxii.Filter{SpecVersions: []string{"2.0"}}, []string{"2.0"}},
		{"both all", taxii.Filter{SpecVersions: []string{"2.0", "2.1"}, Versions: v(taxii.VersionAll)}, []string{"2.0", "2.1"}},
		{"both last", taxii.Filter{SpecVersions: []string{"2.0", "2.1"}}, []string{"2.1"}},
		{"both first", taxii.Filter{SpecVersions: []string{"2.0", "2.1"}, Versions: v(taxii.VersionFirst)}, []string{"2.0"}},
	} {
		if diff := cmp.Diff(specs(tc.f), tc.want); diff != "" {
			t.Errorf("%s: spec versions (-got, +want):\n%s", tc.name, diff)
		}
	}
	n, err := s.Delete(ctx, col, IndicatorID(7), taxii.Filter{Versions: v(taxii.VersionFirst)})
	if err != nil || n != 2 {
		t.Errorf("delete of the first version: %d removed (%v), want both representations", n, err)
	}
}

func testDelete(t *testing.T, newStore NewStore) {
	at := func(s string) []taxii.VersionMatch { return []taxii.VersionMatch{{Kind: taxii.VersionAt, At: ts(s)}} }
	v := func(k taxii.VersionKind) []taxii.VersionMatch { return []taxii.VersionMatch{{Kind: k}} }
	d := func(day int) string { return fmt.Sprintf("2026-01-0%dT00:00:00.000Z", day) }
	cases := []struct {
		name string
		f    taxii.Filter
		n    int
		left []string // versions left of indicator 1
	}{
		{"default", taxii.Filter{}, 3, nil},
		{"all", taxii.Filter{Versions: v(taxii.VersionAll)}, 3, nil},
		{"first", taxii.Filter{Versions: v(taxii.VersionFirst)}, 1, []string{d(2), d(3)}},
		{"last", taxii.Filter{Versions: v(taxii.VersionLast)}, 1, []string{d(1), d(2)}},
		{"at", taxii.Filter{Versions: at(d(2))}, 1, []string{d(1), d(3)}},
		{"at none", taxii.Filter{Versions: at("2027-01-02T00:00:00.000Z")}, 0, []string{d(1), d(2), d(3)}},
		{"spec none", taxii.Filter{SpecVersions: []string{"2.0"}}, 0, []string{d(1), d(2), d(3)}},
		{"spec last", taxii.Filter{SpecVersions: []string{"2.1"}, Versions: v(taxii.VersionLast)}, 1, []string{d(1), d(2)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := versioned(t, newStore)
			n, err := s.Delete(t.Context(), col, IndicatorID(1), tc.f)
			if err != nil || n != tc.n {
				t.Fatalf("Delete: %d (%v), want %d", n, err, tc.n)
			}
			var left []string
			for _, o := range all(t, s, col, taxii.Filter{IDs: []string{IndicatorID(1)}, Versions: v(taxii.VersionAll)}, 10) {
				left = append(left, taxii.FormatVersion(o.Version))
			}
			slices.Sort(left)
			if diff := cmp.Diff(left, tc.left); diff != "" {
				t.Errorf("versions left (-got, +want):\n%s", diff)
			}
			if got := all(t, s, col, taxii.Filter{IDs: []string{IndicatorID(2)}}, 10); len(got) != 1 {
				t.Errorf("indicator 2: %d versions left, want 1", len(got))
			}
		})
	}
	s, _ := versioned(t, newStore)
	for _, c := range []string{col, "no-such-collection"} {
		if n, err := s.Delete(t.Context(), c, IndicatorID(9), taxii.Filter{}); n != 0 || err != nil {
			t.Errorf("delete of an absent object in %s: %d, %v", c, n, err)
		}
	}
}

func testStatus(t *testing.T, newStore NewStore) {
	s := newStore(t, nil)
	ctx := t.Context()
	if _, err := s.Status(ctx, "nope"); !errors.Is(err, taxii.ErrNotFound) {
		t.Errorf("absent status: %v, want ErrNotFound", err)
	}
	rec := taxii.StatusRecord{APIRoot: "api1", Owner: "alice", Status: taxii.Status{
		ID: "s1", Status: "pending", RequestTimestamp: "2026-11-26T10:00:00.000000Z", TotalCount: 3, SuccessCount: 1,
		Successes:    []taxii.StatusDetails{{ID: IndicatorID(1), Version: "2026-01-01T00:00:00.000Z"}},
		FailureCount: 1, Failures: []taxii.StatusDetails{{ID: IndicatorID(2), Version: "2026-01-01T00:00:00.000Z", Message: "bad"}},
		PendingCount: 1, Pendings: []taxii.StatusDetails{{ID: IndicatorID(3), Version: "2026-01-01T00:00:00.000Z"}},
	}}
	if err := s.PutStatus(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Status(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, rec); diff != "" {
		t.Errorf("status (-got, +want):\n%s", diff)
	}
	rec.Status.Status, rec.PendingCount, rec.Pendings = "complete", 0, nil
	if err := s.PutStatus(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Status(ctx, "s1"); err != nil || got.Status.Status != "complete" || got.PendingCount != 0 {
		t.Errorf("replaced status: %+v, %v", got, err)
	}
}

func testTokens(t *testing.T, newStore NewStore) {
	s := newStore(t, nil)
	ctx := t.Context()
	if _, err := s.AddObjects(ctx, col, []taxii.Object{Parse(t, Indicator(1, "2026-01-01T00:00:00.000Z"))}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"!", "bm9wZQ", "eDox"} {
		if _, err := s.Objects(ctx, col, taxii.Query{Limit: 1, Next: tok}); !errors.Is(err, taxii.ErrBadToken) {
			t.Errorf("token %q: %v, want ErrBadToken", tok, err)
		}
	}
}
