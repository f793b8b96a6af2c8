package taxii

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func FuzzObjectsQuery(f *testing.F) {
	for _, q := range []string{
		"", "limit=10", "limit=0", "added_after=2026-11-26T10:00:01.000000Z",
		"match[version]=first,last,all,2026-01-02T00:00:00.000Z", "match[type]=indicator,ipv4-addr",
		"match[id]=indicator--00000000-0000-4000-8000-000000000001", "match[spec_version]=2.0,2.1",
		"next=" + encodeToken(1764151200000000), "next=%%%", "limit=1&limit=2", "foo=bar",
		"added_after=2026-01-01T00:00:00+09:00&limit=99999999999999999999",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for ep := range allowed {
			q, err := parseQuery(v, ep, 100)
			if err != nil {
				continue
			}
			if q.Limit < 1 || q.Limit > 100 {
				t.Fatalf("limit %d out of [1, 100] for %q", q.Limit, raw)
			}
			for _, id := range q.IDs {
				if !isUUID(id[len(id)-36:]) {
					t.Fatalf("bad id %q accepted", id)
				}
			}
			// The store accepts any parsed query, or refuses its token.
			m := NewMemStore(nil)
			if _, err := m.Objects(t.Context(), "c", q); err != nil && q.Next == "" {
				t.Fatalf("store refused %+v: %v", q, err)
			}
		}
	})
}

func FuzzEnvelope(f *testing.F) {
	files, _ := filepath.Glob("testdata/stix/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		envelopeOf(indicator(1, "2026-01-01T00:00:00.000Z")), `{"objects":[`, `[1,2]`, `{"objects":null}`,
		`{"objects":[1]}`, `{"objects":[{"id":"x--1"}]}`, `{"more":true,"objects":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		raws, status, err := DecodeEnvelope(body)
		if err != nil {
			if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
				t.Fatalf("error %v with status %d", err, status)
			}
			return
		}
		m := NewMemStore(nil)
		var objs []Object
		for _, raw := range raws {
			o, err := ParseObject(raw)
			if err != nil || ValidateObject(raw) != nil {
				continue
			}
			if o.ID == "" || o.Type == "" {
				t.Fatalf("parsed object without id or type from %s", raw)
			}
			objs = append(objs, o)
		}
		added, err := m.AddObjects(t.Context(), "c", objs)
		if err != nil || len(added) != len(objs) {
			t.Fatalf("add: %v, %d dates for %d objects", err, len(added), len(objs))
		}
	})
}
