package taxii

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t testing.TB, raw string) Object {
	t.Helper()
	o, err := ParseObject([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestMemStoreDateAdded(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := NewMemStore(clock.Now)
	ctx := t.Context()
	var all []time.Time
	steps := []struct {
		advance time.Duration
		n       int
	}{
		{0, 3},                     // same instant: +1 µs each
		{-time.Hour, 2},            // clock goes back: still increasing
		{2 * time.Hour, 1},         // jumps ahead
		{time.Nanosecond * 300, 2}, // sub-µs advance
	}
	k := 0
	for _, s := range steps {
		clock.Add(s.advance)
		var objs []Object
		for range s.n {
			objs = append(objs, mustParse(t, indicator(k, "2026-01-01T00:00:00.000Z")))
			k++
		}
		added, err := m.AddObjects(ctx, "c", objs)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, added...)
	}
	for i := 1; i < len(all); i++ {
		if !all[i].After(all[i-1]) || all[i].Nanosecond()%1000 != 0 {
			t.Errorf("date added %d: %v after %v", i, all[i], all[i-1])
		}
	}
	want := time.Date(2026, 1, 1, 0, 0, 0, 4000, time.UTC) // 5th: after the 3 ties and 1 back in time
	if !all[4].Equal(want) {
		t.Errorf("date added after clock went back: %v, want %v", all[4], want)
	}
	// A duplicate (same id, version, spec) keeps its first date added.
	again, err := m.AddObjects(ctx, "c", []Object{mustParse(t, indicator(0, "2026-01-01T00:00:00.000Z"))})
	if err != nil || !again[0].Equal(all[0]) || m.Len("c") != len(all) {
		t.Errorf("duplicate: %v (%v), %d stored", again, err, m.Len("c"))
	}
}

func TestMemStorePagingConsistent(t *testing.T) {
	// Whatever the page size, paging with next returns every match once,
	// in date added order, the same as one big page.
	m := NewMemStore(nil)
	ctx := t.Context()
	var objs []Object
	for i := range 97 {
		objs = append(objs, mustParse(t, indicator(i%40, fmt.Sprintf("2026-01-%02dT00:00:00.000Z", 1+i/40))))
	}
	if _, err := m.AddObjects(ctx, "c", objs); err != nil {
		t.Fatal(err)
	}
	for _, f := range []Filter{
		{},
		{Versions: []VersionMatch{{Kind: VersionAll}}},
		{Versions: []VersionMatch{{Kind: VersionFirst}}},
		{IDs: []string{indicatorID(3), indicatorID(5)}, Versions: []VersionMatch{{Kind: VersionAll}}},
	} {
		whole, err := m.Objects(ctx, "c", Query{Filter: f, Limit: 1000})
		if err != nil || whole.More {
			t.Fatal(err, whole.More)
		}
		for _, limit := range []int{1, 2, 7, 40, 96} {
			var got []Object
			q := Query{Filter: f, Limit: limit}
			for {
				p, err := m.Objects(ctx, "c", q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p.Objects...)
				if !p.More {
					break
				}
				q.Next = p.Next
			}
			if diff := cmp.Diff(got, whole.Objects); diff != "" {
				t.Errorf("filter %+v limit %d (-paged, +whole):\n%s", f, limit, diff)
			}
		}
	}
}

func TestParseObject(t *testing.T) {
	cases := []struct {
		name, raw string
		wantErr   bool
		version   string
	}{
		{"sdo", indicator(1, "2026-01-02T00:00:00.123Z"), false, "2026-01-02T00:00:00.123Z"},
		{"created only", `{"type":"marking-definition","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","created":"2017-01-20T00:00:00.000Z"}`, false, "2017-01-20T00:00:00.000Z"},
		{"sco", `{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`, false, "0001-01-01T00:00:00.000Z"},
		{"nanoseconds", indicator(1, "2026-01-02T00:00:00.123456789Z"), false, "2026-01-02T00:00:00.123456789Z"},
		{"microseconds", indicator(1, "2026-01-02T00:00:00.123456Z"), false, "2026-01-02T00:00:00.123456Z"},
		{"not json", `{`, true, ""},
		{"array", `[]`, true, ""},
		{"no type", `{"id":"indicator--00000000-0000-4000-8000-000000000001"}`, true, ""},
		{"short uuid", `{"type":"x","id":"x--1234"}`, true, ""},
		{"offset time", `{"type":"x","id":"x--00000000-0000-4000-8000-000000000001","created":"2026-01-01T00:00:00+01:00"}`, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseObject([]byte(tc.raw))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err == nil && FormatVersion(o.Version) != tc.version {
				t.Errorf("version %s, want %s", FormatVersion(o.Version), tc.version)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if err := testConfig().Validate(); err != nil {
		t.Errorf("test config: %v", err)
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"bad root name", func(c *Config) { c.APIRoots[0].Name = "a/b" }, `api root name "a/b" is not a path segment`},
		{"discovery name", func(c *Config) { c.APIRoots[0].Name = "taxii2" }, `"taxii2" is the discovery path`},
		{"twice", func(c *Config) { c.APIRoots[1].Name = "api1" }, `api root "api1" is defined twice`},
		{"bad collection", func(c *Config) { c.APIRoots[0].Collections[0].ID = "a" }, `collection id "a" is not a UUID`},
		{"dup collection", func(c *Config) { c.APIRoots[0].Collections[1].ID = colA }, `is defined twice`},
		{"default", func(c *Config) { c.Default = "nope" }, `default api root "nope" is not defined`},
		{"negative", func(c *Config) { c.APIRoots[0].MaxContentLength = -1 }, `max_content_length -1 is negative`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mod(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMemStoreStatusesBounded(t *testing.T) {
	m := NewMemStore(nil)
	m.maxStats = 3
	ctx := t.Context()
	for i := range 5 {
		if err := m.PutStatus(ctx, StatusRecord{Status: Status{ID: fmt.Sprint(i), Status: "pending"}}); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing a status does not count twice.
	if err := m.PutStatus(ctx, StatusRecord{Status: Status{ID: "4", Status: "complete"}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, false, true, true, true} {
		_, err := m.Status(ctx, fmt.Sprint(i))
		if (err == nil) != want {
			t.Errorf("status %d: %v, want kept %v", i, err, want)
		}
	}
	if s, _ := m.Status(ctx, "4"); s.Status.Status != "complete" {
		t.Errorf("status 4 not replaced: %+v", s)
	}
}
