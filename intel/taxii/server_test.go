package taxii

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestDiscoveryAndAPIRoot(t *testing.T) {
	f := newFixture(t, nil)
	golden(t, "discovery.json", f.ok(req{Path: "/taxii2/", Who: "bob"}, 200).Body)
	golden(t, "api-root.json", f.ok(req{Path: "/api1/", Who: "bob"}, 200).Body)
	root := decode[map[string]any](t, f.ok(req{Path: "/api2/", Who: "bob"}, 200).Body)
	if root["max_content_length"] != float64(DefaultMaxContentLength) {
		t.Errorf("api2 max_content_length = %v, want the default %d", root["max_content_length"], DefaultMaxContentLength)
	}
	f.ok(req{Path: "/nope/", Who: "bob"}, 404)
	f.ok(req{Path: "/api1/nope/", Who: "bob"}, 404)
}

func TestCollectionsPerPrincipal(t *testing.T) {
	f := newFixture(t, nil)
	type access struct {
		ID          string
		Read, Write bool
	}
	cases := []struct {
		who  string
		want []access
	}{
		{"alice", []access{{colA, true, true}, {colB, true, false}, {colW, false, true}}},
		{"bob", []access{{colA, true, false}}},
		{"eve", []access{{colW, false, true}}},
	}
	for _, tc := range cases {
		t.Run(tc.who, func(t *testing.T) {
			f := f.with(t)
			got := decode[struct {
				Collections []collectionResource `json:"collections"`
			}](t, f.ok(req{Path: "/api1/collections/", Who: tc.who}, 200).Body)
			var acc []access
			for _, c := range got.Collections {
				acc = append(acc, access{c.ID, c.CanRead, c.CanWrite})
				one := decode[collectionResource](t, f.ok(req{Path: "/api1/collections/" + c.ID + "/", Who: tc.who}, 200).Body)
				if diff := cmp.Diff(one, c); diff != "" {
					t.Errorf("collection %s (-one, +listed):\n%s", c.ID, diff)
				}
			}
			if diff := cmp.Diff(acc, tc.want); diff != "" {
				t.Errorf("collections (-got, +want):\n%s", diff)
			}
		})
	}
	golden(t, "collections-alice.json", f.ok(req{Path: "/api1/collections/", Who: "alice"}, 200).Body)
	// Not listed means not found, for every endpoint.
	for _, p := range []string{"", "objects/", "manifest/", "objects/" + indicatorID(1) + "/", "objects/" + indicatorID(1) + "/versions/"} {
		f.ok(req{Path: "/api1/collections/" + colHidden + "/" + p, Who: "alice"}, 404)
		f.ok(req{Path: "/api1/collections/" + colA + "/" + p, Who: "eve"}, 404)
	}
	f.ok(req{Path: "/api1/collections/6d8e9d2d-9f6b-4f67-9a8b-8c2b2b8f0000/", Who: "alice"}, 404)
	f.ok(req{Path: "/api2/collections/" + colA + "/", Who: "alice"}, 404) // another root's
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		name   string
		header map[string]string
		want   int // for discovery and collections; objects of colA: 404 for carol
	}{
		{"none", nil, 401},
		{"bad key", map[string]string{"X-API-Key": "wrong"}, 401},
		{"bearer key", map[string]string{"Authorization": "Bearer bob-key"}, 200},
		{"bad bearer", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"basic", map[string]string{"Authorization": "Basic Y2Fyb2w6Y2Fyb2wtcGFzcw=="}, 200},      // carol:carol-pass
		{"basic bad password", map[string]string{"Authorization": "Basic Y2Fyb2w6d3Jvbmc="}, 401}, // carol:wrong
		{"basic unknown user", map[string]string{"Authorization": "Basic bWFsbG9yeTp4"}, 401},     // mallory:x
		{"basic malformed", map[string]string{"Authorization": "Basic !!!"}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			for _, path := range []string{"/taxii2/", "/api1/collections/", "/api1/collections/" + colA + "/objects/"} {
				resp := f.do(req{Path: path, Header: tc.header})
				want := tc.want
				if want == 200 && strings.Contains(path, colA) && strings.HasPrefix(tc.header["Authorization"], "Basic") {
					want = 404 // carol cannot see colA
				}
				if resp.Code != want {
					t.Errorf("%s: status %d, want %d (%s)", path, resp.Code, want, resp.Body)
				}
				if resp.Code == 401 {
					if resp.Header.Get("WWW-Authenticate") == "" {
						t.Errorf("%s: 401 without WWW-Authenticate", path)
					}
					checkError(t, resp, 401)
				}
			}
		})
	}
}

// checkError checks that resp is a TAXII error resource with status.
func checkError(t *testing.T, resp response, status int) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != MediaType {
		t.Errorf("error Content-Type %q", ct)
	}
	e := decode[Error](t, resp.Body)
	if e.Title == "" || e.HTTPStatus != fmt.Sprint(status) || e.ErrorCode == "" {
		t.Errorf("error resource %+v, want title and http_status %d", e, status)
	}
}

func TestMediaTypes(t *testing.T) {
	objs := "/api1/collections/" + colA + "/objects/"
	cases := []struct {
		name   string
		method string
		header map[string]string
		body   string
		want   int
	}{
		{"accept taxii 2.1", "GET", map[string]string{"Accept": "application/taxii+json;version=2.1"}, "", 200},
		{"accept taxii", "GET", map[string]string{"Accept": "application/taxii+json"}, "", 200},
		{"accept spaced", "GET", map[string]string{"Accept": "application/taxii+json; version=2.1"}, "", 200},
		{"accept among others", "GET", map[string]string{"Accept": "text/html, application/taxii+json;version=2.1;q=0.5"}, "", 200},
		{"accept any", "GET", map[string]string{"Accept": "*/*"}, "", 200},
		{"accept absent", "GET", map[string]string{"Accept": ""}, "", 200},
		{"accept taxii 2.0", "GET", map[string]string{"Accept": "application/vnd.oasis.taxii+json; version=2.0"}, "", 406},
		{"accept taxii version 3", "GET", map[string]string{"Accept": "application/taxii+json;version=3.0"}, "", 406},
		{"accept json", "GET", map[string]string{"Accept": "application/json"}, "", 406},
		{"accept stix", "GET", map[string]string{"Accept": "application/stix+json;version=2.1"}, "", 406},
		{"accept q=0", "GET", map[string]string{"Accept": "application/taxii+json;q=0"}, "", 406},
		{"post taxii 2.1", "POST", nil, envelopeOf(indicator(1, "2026-01-01T00:00:00.000Z")), 202},
		{"post taxii", "POST", map[string]string{"Content-Type": "application/taxii+json"}, envelopeOf(), 202},
		{"post json", "POST", map[string]string{"Content-Type": "application/json"}, envelopeOf(), 415},
		{"post stix", "POST", map[string]string{"Content-Type": "application/stix+json;version=2.1"}, envelopeOf(), 415},
		{"post taxii 2.0", "POST", map[string]string{"Content-Type": "application/taxii+json;version=2.0"}, envelopeOf(), 415},
		{"post no type", "POST", map[string]string{"Content-Type": ""}, envelopeOf(), 415},
		{"post too large", "POST", nil, envelopeOf(strings.Repeat(indicator(2, "2026-01-01T00:00:00.000Z")+",", 400) + indicator(3, "2026-01-01T00:00:00.000Z")), 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			resp := f.do(req{Method: tc.method, Path: objs, Who: "alice", Body: tc.body, Header: tc.header})
			if resp.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.Code, tc.want, resp.Body)
			}
			if resp.Header.Get("Content-Type") != MediaType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), MediaType)
			}
			if tc.want >= 400 {
				checkError(t, resp, tc.want)
			}
		})
	}
}

func TestTooLargeWithoutContentLength(t *testing.T) {
	f := newFixture(t, nil)
	body := envelopeOf(strings.Repeat(indicator(2, "2026-01-01T00:00:00.000Z")+",", 400) + indicator(3, "2026-01-01T00:00:00.000Z"))
	hr, _ := http.NewRequest("POST", "http://taxii.test/api1/collections/"+colA+"/objects/", strings.NewReader(body))
	hr.ContentLength = -1 // chunked
	hr.Header.Set("X-API-Key", "alice-key")
	hr.Header.Set("Content-Type", MediaType)
	rec := newRecorder()
	f.srv.ServeHTTP(rec, hr)
	if rec.Code != 413 {
		t.Fatalf("status %d, want 413: %s", rec.Code, rec.Body)
	}
	if n := f.store.Len(colA); n != 0 {
		t.Errorf("%d objects stored from a refused body", n)
	}
}

func TestForbidden(t *testing.T) {
	f := newFixture(t, nil)
	f.post(colA, indicator(1, "2026-01-01T00:00:00.000Z"))
	body := envelopeOf(indicator(2, "2026-01-01T00:00:00.000Z"))
	obj := "objects/" + indicatorID(1) + "/"
	cases := []struct {
		name string
		r    req
	}{
		{"bob posts to read-only", req{Method: "POST", Path: colA + "/objects/", Who: "bob", Body: body}},
		{"bob deletes", req{Method: "DELETE", Path: colA + "/" + obj, Who: "bob"}},
		{"alice posts to read-only", req{Method: "POST", Path: colB + "/objects/", Who: "alice", Body: body}},
		{"alice reads write-only objects", req{Path: colW + "/objects/", Who: "alice"}},
		{"alice reads write-only manifest", req{Path: colW + "/manifest/", Who: "alice"}},
		{"eve reads write-only object", req{Path: colW + "/" + obj, Who: "eve"}},
		{"eve reads write-only versions", req{Path: colW + "/" + obj + "versions/", Who: "eve"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			tc.r.Path = "/api1/collections/" + tc.r.Path
			checkError(t, f.ok(tc.r, 403), 403)
		})
	}
	if n := f.store.Len(colA); n != 1 {
		t.Errorf("colA holds %d objects after refused writes, want 1", n)
	}
	// Eve may write where she may not read.
	resp := f.ok(req{Method: "POST", Path: "/api1/collections/" + colW + "/objects/", Who: "eve", Body: body}, 202)
	if st := decode[Status](t, resp.Body); st.SuccessCount != 1 {
		t.Errorf("eve's post: %+v", st)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct{ method, path, allow string }{
		{"POST", "/taxii2/", "GET"},
		{"DELETE", "/api1/", "GET"},
		{"PUT", "/api1/collections/" + colA + "/objects/", "GET, POST"},
		{"POST", "/api1/collections/" + colA + "/objects/" + indicatorID(1) + "/", "GET, DELETE"},
		{"POST", "/api1/collections/" + colA + "/manifest/", "GET"},
		{"DELETE", "/api1/collections/" + colA + "/", "GET"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			f := f.with(t)
			resp := f.ok(req{Method: tc.method, Path: tc.path, Who: "alice"}, 405)
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			checkError(t, resp, 405)
		})
	}
}

func TestPostStatus(t *testing.T) {
	f := newFixture(t, nil)
	objs := "/api1/collections/" + colA + "/objects/"
	body := envelopeOf(
		indicator(1, "2026-01-01T00:00:00.000Z"),
		`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`,
		`{"type":"indicator","spec_version":"2.0","id":"indicator--00000000-0000-4000-8000-000000000009","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z"}`,
		`{"type":"indicator","spec_version":"2.1","id":"malware--00000000-0000-4000-8000-000000000009","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z"}`,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000010","created":"2026-01-01T00:00:00Z"}`,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000011","created":"2026-01-02T00:00:00Z","modified":"2026-01-01T00:00:00Z"}`,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--not-a-uuid","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z"}`,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000012","created":"yesterday","modified":"2026-01-01T00:00:00Z"}`,
	)
	resp := f.ok(req{Method: "POST", Path: objs, Who: "alice", Body: body}, 202)
	golden(t, "status.json", resp.Body)
	st := decode[Status](t, resp.Body)
	if st.TotalCount != 8 || st.SuccessCount != 2 || st.FailureCount != 6 || st.PendingCount != 0 || st.Status != "complete" {
		t.Errorf("status counts %+v", st)
	}
	// The poster reads it back; nobody else does.
	again := f.ok(req{Path: "/api1/status/" + st.ID + "/", Who: "alice"}, 200)
	if diff := cmp.Diff(decode[Status](t, again.Body), st); diff != "" {
		t.Errorf("status read back (-got, +want):\n%s", diff)
	}
	f.ok(req{Path: "/api1/status/" + st.ID + "/", Who: "bob"}, 404)
	f.ok(req{Path: "/api2/status/" + st.ID + "/", Who: "alice"}, 404)
	f.ok(req{Path: "/api1/status/00000000-0000-4000-8000-999999999999/", Who: "alice"}, 404)
	// Posting the same again is idempotent: successes, nothing new stored.
	before := f.store.Len(colA)
	st2 := f.post(colA, indicator(1, "2026-01-01T00:00:00.000Z"))
	if st2.SuccessCount != 1 || f.store.Len(colA) != before {
		t.Errorf("re-post: %+v, %d stored, want %d", st2, f.store.Len(colA), before)
	}
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"not json", `{"objects":[`, 400},
		{"not an object", `[1,2]`, 422},
		{"no objects", `{"more":false}`, 422},
		{"objects not a list", `{"objects":{}}`, 422},
		{"objects null", `{"objects":null}`, 422},
		{"object not an object", `{"objects":[1]}`, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := f.with(t)
			checkError(t, f.ok(req{Method: "POST", Path: objs, Who: "alice", Body: tc.body}, tc.want), tc.want)
		})
	}
}

func TestSTIXExamples(t *testing.T) {
	f := newFixture(t, nil)
	for _, name := range []string{"indicator-for-c2-ip-address.json", "indicators-for-C2-with-COA.json", "infrastructure.json", "indicator-to-campaign-relationship.json"} {
		resp := f.ok(req{Method: "POST", Path: "/api1/collections/" + colA + "/objects/", Who: "alice", Body: string(readFile(t, "testdata/stix/"+name))}, 202)
		st := decode[Status](t, resp.Body)
		if st.FailureCount != 0 || st.SuccessCount == 0 {
			t.Errorf("%s: %+v", name, st)
		}
	}
}

// page fetches one objects page.
func (f *fixture) page(who, path, query string) (envelopeResp, response) {
	f.t.Helper()
	resp := f.ok(req{Path: path + "?" + query, Who: who}, 200)
	return decode[envelopeResp](f.t, resp.Body), resp
}

func TestPagingWithNext(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.MaxPageSize = 10 })
	var objs []string
	for i := range 25 {
		objs = append(objs, indicator(i, "2026-01-01T00:00:00.000Z"))
	}
	// One POST at one instant: date added ties broken by the store.
	f.post(colA, objs...)
	path := "/api1/collections/" + colA + "/objects/"
	var got []string
	var lastAdded time.Time
	query := "limit=100" // clamped to 10
	for page := 0; ; page++ {
		env, resp := f.page("bob", path, query)
		if len(env.Objects) != min(10, 25-10*page) {
			t.Fatalf("page %d has %d objects", page, len(env.Objects))
		}
		first, err1 := ParseTimestamp(resp.Header.Get("X-TAXII-Date-Added-First"))
		last, err2 := ParseTimestamp(resp.Header.Get("X-TAXII-Date-Added-Last"))
		if err1 != nil || err2 != nil || !first.After(lastAdded) || last.Sub(first) != time.Duration(len(env.Objects)-1)*time.Microsecond {
			t.Errorf("page %d: date added first %v last %v after %v (%v, %v)", page, first, last, lastAdded, err1, err2)
		}
		lastAdded = last
		for _, o := range env.Objects {
			got = append(got, o["id"].(string))
		}
		if !env.More {
			if env.Next != "" || page != 2 {
				t.Errorf("last page %d: next %q", page, env.Next)
			}
			break
		}
		if env.Next == "" {
			t.Fatalf("page %d: more without next", page)
		}
		query = "limit=10&next=" + env.Next
	}
	var want []string
	for i := range 25 {
		want = append(want, indicatorID(i))
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("objects across pages (-got, +want):\n%s", diff)
	}
	// Bookmark: what was added after the last header seen.
	f.clock.Add(time.Second)
	f.post(colA, indicator(100, "2026-01-01T00:00:00.000Z"))
	env, _ := f.page("bob", path, "added_after="+FormatTimestamp(lastAdded))
	if diff := cmp.Diff(env.ids(), []string{indicatorID(100) + "@2026-01-01T00:00:00.000Z"}); diff != "" {
		t.Errorf("added_after bookmark (-got, +want):\n%s", diff)
	}
	env, _ = f.page("bob", path, "added_after="+FormatTimestamp(lastAdded.Add(time.Second)))
	if len(env.Objects) != 0 || env.More {
		t.Errorf("added_after the end: %+v", env)
	}
}

func TestBadQueries(t *testing.T) {
	f := newFixture(t, nil)
	for _, q := range []string{
		"limit=0", "limit=-1", "limit=abc", "added_after=yesterday", "added_after=2026-01-01T00:00:00+09:00",
		"next=%%%", "next=bm90IGEgdG9rZW4", "match[version]=newest", "match[id]=indicator--x",
		"foo=bar", "limit=1&limit=2", "match[idx]=1",
	} {
		t.Run(q, func(t *testing.T) {
			f := f.with(t)
			checkError(t, f.ok(req{Path: "/api1/collections/" + colA + "/objects/?" + q, Who: "alice"}, 400), 400)
		})
	}
	// Per endpoint: versions takes no match[type], delete no limit.
	f.ok(req{Path: "/api1/collections/" + colA + "/objects/" + indicatorID(1) + "/versions/?match[type]=indicator", Who: "alice"}, 400)
	f.ok(req{Method: "DELETE", Path: "/api1/collections/" + colA + "/objects/" + indicatorID(1) + "/?limit=1", Who: "alice"}, 400)
}

// failingStore is a MemStore whose reads fail with err.
type failingStore struct {
	*MemStore
	err error
}

func (s failingStore) Objects(context.Context, string, Query) (Page, error)  { return Page{}, s.err }
func (s failingStore) Manifest(context.Context, string, Query) (Page, error) { return Page{}, s.err }

func TestStoreErrors(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{errors.New("disk on fire"), 500},
		{fmt.Errorf("busy: %w", ErrUnavailable), 503},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			f := newFixture(t, func(_ *Config, d *Deps) { d.Store = failingStore{NewMemStore(nil), tc.err} })
			for _, p := range []string{"objects/", "manifest/", "objects/" + indicatorID(1) + "/"} {
				resp := f.ok(req{Path: "/api1/collections/" + colA + "/" + p, Who: "bob"}, tc.want)
				checkError(t, resp, tc.want)
				if tc.want == 503 && resp.Header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				if strings.Contains(string(resp.Body), "fire") {
					t.Errorf("internal error leaked: %s", resp.Body)
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func TestCustomValidator(t *testing.T) {
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Validator = func(raw []byte) error {
			if strings.Contains(string(raw), "198.51.100.2") {
				return errors.New("documentation address refused")
			}
			return nil
		}
	})
	st := f.post(colA, indicator(1, "2026-01-01T00:00:00.000Z"), indicator(2, "2026-01-01T00:00:00.000Z"),
		`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000003"}`)
	if st.SuccessCount != 2 || st.FailureCount != 1 || st.Failures[0].Message != "documentation address refused" {
		t.Errorf("status %+v", st)
	}
}

func TestConcurrentPostAndGet(t *testing.T) {
	f := newFixture(t, nil)
	const writers, per = 4, 25
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for w := range writers {
		wg.Go(func() {
			for i := range per {
				resp := f.do(req{Method: "POST", Path: "/api1/collections/" + colA + "/objects/", Who: "alice",
					Body: envelopeOf(indicator(w*per+i, "2026-01-01T00:00:00.000Z"))})
				if resp.Code != 202 {
					errs <- fmt.Sprintf("post: %d %s", resp.Code, resp.Body)
				}
			}
		})
		wg.Go(func() {
			for range per {
				if resp := f.do(req{Path: "/api1/collections/" + colA + "/manifest/", Who: "bob"}); resp.Code != 200 {
					errs <- fmt.Sprintf("get: %d %s", resp.Code, resp.Body)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	m := decode[struct {
		Objects []manifestRecord `json:"objects"`
	}](t, f.ok(req{Path: "/api1/collections/" + colA + "/manifest/", Who: "bob"}, 200).Body)
	seen := map[string]bool{}
	for i, o := range m.Objects {
		if seen[o.DateAdded] || i > 0 && o.DateAdded <= m.Objects[i-1].DateAdded {
			t.Errorf("date added %s not strictly increasing", o.DateAdded)
		}
		seen[o.DateAdded] = true
	}
	if len(m.Objects) != writers*per {
		t.Errorf("%d objects, want %d", len(m.Objects), writers*per)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	f := newFixture(t, func(_ *Config, d *Deps) { d.Registerer = reg })
	f.post(colA, indicator(1, "2026-01-01T00:00:00.000Z"), `{"type":"indicator"}`)
	f.ok(req{Path: "/api1/collections/" + colA + "/objects/", Who: "bob"}, 200)
	f.ok(req{Path: "/api1/collections/" + colA + "/objects/", Who: "bob"}, 200)
	f.do(req{Path: "/api1/collections/" + colA + "/objects/"}) // 401
	f.do(req{Path: "/nowhere/at/all/", Who: "bob"})            // 404
	objects := "/{root}/collections/{cid}/objects/{$}"
	for _, c := range []struct {
		got  prometheus.Collector
		want float64
	}{
		{f.srv.m.requests.WithLabelValues(objects, "202"), 1},
		{f.srv.m.requests.WithLabelValues(objects, "200"), 2},
		{f.srv.m.requests.WithLabelValues(objects, "401"), 1},
		{f.srv.m.requests.WithLabelValues("/", "404"), 1},
		{f.srv.m.objects.WithLabelValues("success"), 1},
		{f.srv.m.objects.WithLabelValues("failure"), 1},
	} {
		if got := testutil.ToFloat64(c.got); got != c.want {
			t.Errorf("%v = %v, want %v", c.got, got, c.want)
		}
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Errorf("gather: %d, %v", n, err)
	}
}
