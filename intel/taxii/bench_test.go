package taxii

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchServer returns a server over store, alice authenticated by key.
func benchServer(b *testing.B, store Store) *Server {
	b.Helper()
	cfg := testConfig()
	cfg.APIRoots[0].MaxContentLength = 1 << 20
	srv, err := New(cfg, Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store:  store,
		Auth:   APIKeys{Keys: map[string]string{HashAPIKey("alice-key"): "alice"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// BenchmarkPostIngest posts envelopes of 100 new indicators through the
// handler (parse, validate, store, status) and reports objects/s.
func BenchmarkPostIngest(b *testing.B) {
	srv := benchServer(b, NewMemStore(nil))
	n := 0
	next := func() string {
		var objs []string
		for range 100 {
			objs = append(objs, indicator(n, "2026-01-01T00:00:00.000Z"))
			n++
		}
		return envelopeOf(objs...)
	}
	b.ReportAllocs()
	var objects int
	for b.Loop() {
		b.StopTimer()
		body := next() // always new ids: every object is stored
		r := httptest.NewRequest("POST", "/api1/collections/"+colA+"/objects/", strings.NewReader(body))
		r.Header.Set("X-API-Key", "alice-key")
		r.Header.Set("Content-Type", MediaType)
		w := httptest.NewRecorder()
		b.StartTimer()
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		objects += 100
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}

const bigN = 1_000_000

var (
	bigOnce  sync.Once
	bigStore *MemStore
	bigFirst time.Time
)

// bigCollection returns a MemStore holding 1,000,000 indicators in colA (about
// 1/10 with a second version), added over about 11 days.
func bigCollection(b *testing.B) *MemStore {
	bigOnce.Do(func() {
		clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		bigFirst = clock.t
		bigStore = NewMemStore(clock.Now)
		batch := make([]Object, 0, 1000)
		for i := range bigN {
			id := i
			mod := "2026-01-01T00:00:00.000Z"
			if i%10 == 9 {
				id, mod = i-5, "2026-01-02T00:00:00.000Z"
			}
			batch = append(batch, mustParse(b, indicator(id, mod)))
			if len(batch) == cap(batch) {
				if _, err := bigStore.AddObjects(b.Context(), colA, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
				clock.Add(time.Second)
			}
		}
	})
	return bigStore
}

// BenchmarkGetObjects1M times GET objects (limit 100) on a collection
// of 1,000,000 object versions, for typical queries, and reports the
// p50 and p99 latency of the handler.
func BenchmarkGetObjects1M(b *testing.B) {
	store := bigCollection(b)
	srv := benchServer(b, store)
	rng := rand.New(rand.NewPCG(1, 2))
	queries := []struct {
		name  string
		query func() string
	}{
		{"added_after", func() string {
			at := bigFirst.Add(time.Duration(rng.IntN(bigN/1000)) * time.Second)
			return "limit=100&added_after=" + FormatTimestamp(at)
		}},
		{"first_page", func() string { return "limit=100" }},
		{"match_id", func() string {
			return "match[version]=all&match[id]=" + indicatorID(rng.IntN(bigN))
		}},
		{"match_type_version_all", func() string {
			at := bigFirst.Add(time.Duration(rng.IntN(bigN/1000)) * time.Second)
			return "limit=100&match[type]=indicator&match[version]=all&added_after=" + FormatTimestamp(at)
		}},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			var lat []time.Duration
			for b.Loop() {
				r := httptest.NewRequest("GET", "/api1/collections/"+colA+"/objects/?"+q.query(), nil)
				r.Header.Set("X-API-Key", "alice-key")
				r.Header.Set("Accept", MediaType)
				w := httptest.NewRecorder()
				t0 := time.Now()
				srv.ServeHTTP(w, r)
				lat = append(lat, time.Since(t0))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
