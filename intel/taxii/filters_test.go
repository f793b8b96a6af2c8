package taxii

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// versioned posts three versions of indicator 1, one version of
// indicator 2, and an ipv4-addr, and a 2.0 indicator straight into the
// store; each post a second apart.
func versioned(t *testing.T) *fixture {
	f := newFixture(t, nil)
	for _, o := range []string{
		indicator(1, "2026-01-01T00:00:00.000Z"),
		indicator(2, "2026-01-05T00:00:00.000Z"),
		indicator(1, "2026-01-03T00:00:00.000Z"),
		`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`,
		indicator(1, "2026-01-02T00:00:00.000Z"), // an older version, added last
	} {
		f.post(colA, o)
		f.clock.Add(time.Second)
	}
	raw := `{"type":"indicator","spec_version":"2.0","id":"indicator--00000000-0000-4000-8000-000000000003","created":"2016-01-01T00:00:00.000Z","modified":"2016-01-01T00:00:00.000Z"}`
	o, err := ParseObject([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.AddObjects(t.Context(), colA, []Object{o}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMatchFilters(t *testing.T) {
	f := versioned(t)
	i1 := func(day int) string { return fmt.Sprintf("%s@2026-01-0%dT00:00:00.000Z", indicatorID(1), day) }
	i2 := indicatorID(2) + "@2026-01-05T00:00:00.000Z"
	ip := "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd@<nil>"
	i3 := indicatorID(3) + "@2016-01-01T00:00:00.000Z"
	cases := []struct {
		query string
		want  []string // in date added order
	}{
		{"", []string{i2, i1(3), ip, i3}},
		{"match[version]=last", []string{i2, i1(3), ip, i3}},
		{"match[version]=first", []string{i1(1), i2, ip, i3}},
		{"match[version]=all", []string{i1(1), i2, i1(3), ip, i1(2), i3}},
		{"match[version]=first,last", []string{i1(1), i2, i1(3), ip, i3}},
		{"match[version]=2026-01-02T00:00:00.000Z", []string{i1(2)}},
		{"match[version]=2026-01-02T00:00:00Z,2026-01-05T00:00:00.000Z", []string{i2, i1(2)}},
		{"match[version]=2027-01-01T00:00:00Z", nil},
		{"match[type]=ipv4-addr", []string{ip}},
		{"match[type]=indicator,ipv4-addr", []string{i2, i1(3), ip, i3}},
		{"match[type]=malware", nil},
		{"match[id]=" + indicatorID(1), []string{i1(3)}},
		{"match[id]=" + indicatorID(1) + "," + indicatorID(2) + "&match[version]=all", []string{i1(1), i2, i1(3), i1(2)}},
		{"match[id]=" + indicatorID(9), nil},
		{"match[spec_version]=2.1", []string{i2, i1(3), ip}},
		{"match[spec_version]=2.0", []string{i3}},
		{"match[spec_version]=2.0,2.1&match[type]=indicator", []string{i2, i1(3), i3}},
		{"added_after=2026-11-26T10:00:01.000000Z", []string{i1(3), ip, i3}},
		{"added_after=2026-11-26T10:00:01.000000Z&match[version]=all", []string{i1(3), ip, i1(2), i3}},
		{"added_after=2026-11-26T10:00:01.000000Z&match[version]=first", []string{ip, i3}},
		{"added_after=2026-11-26T10:00:01Z&match[version]=all&match[type]=indicator&limit=2", []string{i1(3), i1(2)}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			f := f.with(t)
			env, _ := f.page("bob", "/api1/collections/"+colA+"/objects/", tc.query)
			if diff := cmp.Diff(env.ids(), tc.want); diff != "" {
				t.Errorf("objects (-got, +want):\n%s", diff)
			}
			// The manifest selects the same.
			m := decode[struct {
				Objects []manifestRecord `json:"objects"`
			}](t, f.ok(req{Path: "/api1/collections/" + colA + "/manifest/?" + tc.query, Who: "bob"}, 200).Body)
			if len(m.Objects) != len(env.Objects) {
				t.Errorf("manifest has %d entries, objects %d", len(m.Objects), len(env.Objects))
			}
			for i := range min(len(m.Objects), len(env.Objects)) {
				if m.Objects[i].ID != env.Objects[i]["id"] {
					t.Errorf("manifest %d: %s, objects %s", i, m.Objects[i].ID, env.Objects[i]["id"])
				}
			}
		})
	}
}

func TestObjectVersionsManifest(t *testing.T) {
	f := versioned(t)
	base := "/api1/collections/" + colA + "/"
	one := base + "objects/" + indicatorID(1) + "/"
	env, resp := f.page("bob", one, "")
	if diff := cmp.Diff(env.ids(), []string{indicatorID(1) + "@2026-01-03T00:00:00.000Z"}); diff != "" {
		t.Errorf("one object (-got, +want):\n%s", diff)
	}
	if resp.Header.Get("X-TAXII-Date-Added-First") != "2026-11-26T10:00:02.000000Z" {
		t.Errorf("date added first %q", resp.Header.Get("X-TAXII-Date-Added-First"))
	}
	env, _ = f.page("bob", one, "match[version]=all&limit=2")
	if len(env.Objects) != 2 || !env.More {
		t.Errorf("one object, all versions, limit 2: %v more=%v", env.ids(), env.More)
	}
	f.ok(req{Path: base + "objects/" + indicatorID(9) + "/", Who: "bob"}, 404)
	env, _ = f.page("bob", one, "match[spec_version]=2.0")
	if len(env.Objects) != 0 {
		t.Errorf("object exists but filter matches nothing: want an empty envelope, got %v", env.ids())
	}

	resp = f.ok(req{Path: one + "versions/", Who: "bob"}, 200)
	golden(t, "versions.json", resp.Body)
	if resp.Header.Get("X-TAXII-Date-Added-Last") != "2026-11-26T10:00:04.000000Z" {
		t.Errorf("versions date added last %q", resp.Header.Get("X-TAXII-Date-Added-Last"))
	}
	v := decode[struct {
		More     bool     `json:"more"`
		Next     string   `json:"next"`
		Versions []string `json:"versions"`
	}](t, f.ok(req{Path: one + "versions/?limit=2", Who: "bob"}, 200).Body)
	v2 := decode[struct {
		Versions []string `json:"versions"`
	}](t, f.ok(req{Path: one + "versions/?limit=2&next=" + v.Next, Who: "bob"}, 200).Body)
	if !v.More || len(v.Versions) != 2 || len(v2.Versions) != 1 {
		t.Errorf("versions paging: %+v then %+v", v, v2)
	}
	f.ok(req{Path: base + "objects/" + indicatorID(9) + "/versions/", Who: "bob"}, 404)

	resp = f.ok(req{Path: base + "manifest/?match[version]=all", Who: "bob"}, 200)
	golden(t, "manifest.json", resp.Body)
	if resp.Header.Get("X-TAXII-Date-Added-First") == "" || resp.Header.Get("X-TAXII-Date-Added-Last") == "" {
		t.Error("manifest without date added headers")
	}
	golden(t, "objects.json", f.ok(req{Path: base + "objects/?match[type]=indicator", Who: "bob"}, 200).Body)
}

func TestSCOVersionIsDateAdded(t *testing.T) {
	f := versioned(t)
	m := decode[struct {
		Objects []manifestRecord `json:"objects"`
	}](t, f.ok(req{Path: "/api1/collections/" + colA + "/manifest/?match[type]=ipv4-addr", Who: "bob"}, 200).Body)
	if len(m.Objects) != 1 || m.Objects[0].DateAdded != "2026-11-26T10:00:03.000000Z" || m.Objects[0].Version != "2026-11-26T10:00:03.000Z" {
		t.Errorf("ipv4-addr manifest %+v", m.Objects)
	}
}

func TestDelete(t *testing.T) {
	obj := "/api1/collections/" + colA + "/objects/" + indicatorID(1) + "/"
	cases := []struct {
		query string
		want  int      // status
		left  []string // versions left of indicator 1
	}{
		{"", 200, nil},
		{"match[version]=all", 200, nil},
		{"match[version]=first", 200, []string{"2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"}},
		{"match[version]=last", 200, []string{"2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"}},
		{"match[version]=2026-01-02T00:00:00.000Z", 200, []string{"2026-01-01T00:00:00.000Z", "2026-01-03T00:00:00.000Z"}},
		{"match[version]=2027-01-02T00:00:00.000Z", 404, []string{"2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"}},
		{"match[spec_version]=2.0", 404, []string{"2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			f := versioned(t)
			resp := f.do(req{Method: "DELETE", Path: obj + "?" + tc.query, Who: "alice"})
			if resp.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.Code, tc.want, resp.Body)
			}
			env, _ := f.page("bob", "/api1/collections/"+colA+"/objects/", "match[version]=all&match[id]="+indicatorID(1))
			var left []string
			for _, o := range env.Objects {
				left = append(left, o["modified"].(string))
			}
			slices.Sort(left)
			if diff := cmp.Diff(left, tc.left); diff != "" {
				t.Errorf("versions left (-got, +want):\n%s", diff)
			}
			if len(tc.left) == 0 {
				f.ok(req{Path: obj, Who: "bob"}, 404)
				f.ok(req{Method: "DELETE", Path: obj, Who: "alice"}, 404)
			}
			// Other objects are untouched.
			f.ok(req{Path: "/api1/collections/" + colA + "/objects/" + indicatorID(2) + "/", Who: "bob"}, 200)
		})
	}
}

func TestSpecVersionDefaultIsLatest(t *testing.T) {
	// The same object version in STIX 2.0 and 2.1: by default only the
	// 2.1 representation is served (TAXII: the latest spec version).
	f := newFixture(t, nil)
	old := mustParse(t, `{"type":"indicator","spec_version":"2.0","id":"`+indicatorID(7)+`","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"}`)
	if _, err := f.store.AddObjects(t.Context(), colA, []Object{old}); err != nil {
		t.Fatal(err)
	}
	f.post(colA, indicator(7, "2026-01-01T00:00:00.000Z"))
	specs := func(query string) []string {
		env, _ := f.page("bob", "/api1/collections/"+colA+"/objects/", query)
		var out []string
		for _, o := range env.Objects {
			out = append(out, o["spec_version"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"2.1"}},
		{"match[version]=all", []string{"2.1"}},
		{"match[version]=first", []string{"2.1"}},
		{"match[spec_version]=2.0", []string{"2.0"}},
		{"match[spec_version]=2.0,2.1&match[version]=all", []string{"2.0", "2.1"}},
	} {
		if diff := cmp.Diff(specs(tc.query), tc.want); diff != "" {
			t.Errorf("%q: spec versions (-got, +want):\n%s", tc.query, diff)
		}
	}
	f.ok(req{Method: "DELETE", Path: "/api1/collections/" + colA + "/objects/" + indicatorID(7) + "/?match[version]=first", Who: "alice"}, 200)
	if n := f.store.Len(colA); n != 0 {
		t.Errorf("delete of the first version left %d representations", n)
	}
}
