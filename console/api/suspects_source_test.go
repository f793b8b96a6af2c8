package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
)

// TestSuspectSource filters by where the evidence came from: acd's own
// detectors or a partner's (detector "partner:<name>").
func TestSuspectSource(t *testing.T) {
	book := detect.NewBook(100, nil)
	add := func(addr, det string, score float64) {
		k, err := detect.ParseKey(addr)
		if err != nil {
			t.Fatal(err)
		}
		book.Add(detect.Finding{Addr: k.Addr, Bits: k.Bits, Role: detect.RoleScanner,
			Evidence: detect.Evidence{Detector: det, Role: detect.RoleScanner, Score: score, Reason: "test", First: tc0, Last: tc0.Add(time.Hour)}})
	}
	add("192.0.2.1", "scan", 0.9)           // own
	add("192.0.2.2", "partner:allied", 0.8) // partner
	add("192.0.2.3", "scan", 0.7)           // both
	add("192.0.2.3", "partner:other", 0.7)  //
	add("192.0.2.4", "partner:allied", 0.6) // partner
	add("192.0.2.5", "partners-scan", 0.5)  // own: not the partner prefix
	srv := httptest.NewServer(New(Deps{Book: book, Auth: tokenAuth{}}))
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		query  string
		status int
		want   []string
		total  int
	}{
		{"", 200, []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"}, 5},
		{"source=own", 200, []string{"192.0.2.1", "192.0.2.3", "192.0.2.5"}, 3},
		{"source=partner", 200, []string{"192.0.2.2", "192.0.2.3", "192.0.2.4"}, 3},
		{"source=partner&limit=1", 200, []string{"192.0.2.2"}, 3},
		{"source=partner&limit=1&offset=2", 200, []string{"192.0.2.4"}, 3},
		{"source=partner&offset=3", 200, []string{}, 3},
		{"source=own&min_score=0.75", 200, []string{"192.0.2.1"}, 1},
		{"source=partner&detector=partner:allied", 200, []string{"192.0.2.2", "192.0.2.4"}, 2},
		{"source=", 200, []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"}, 5},
		{"source=theirs", 400, nil, 0},
		{"source=own&source=partner", 400, nil, 0},
	} {
		t.Run(tt.query, func(t *testing.T) {
			status, body, _ := sendRequest(t, srv, http.MethodGet, "/api/v1/suspects?"+tt.query, "tok-analyst", nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if status != 200 {
				if !strings.Contains(string(body), `"source: `) {
					t.Errorf("error %s does not name source", body)
				}
				return
			}
			var got listResponse
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			addrs := []string{}
			for _, s := range got.Suspects {
				addrs = append(addrs, s.Key.String())
			}
			if !slices.Equal(addrs, tt.want) || got.Total != tt.total {
				t.Errorf("suspects %v total %d, want %v total %d", addrs, got.Total, tt.want, tt.total)
			}
		})
	}
}

// FuzzSuspectFilter feeds parseFilter arbitrary queries: it never panics,
// errors name a parameter, and what it accepts is in range.
func FuzzSuspectFilter(f *testing.F) {
	for _, s := range []string{"", "source=own", "source=partner&limit=2", "source=x", "role=scanner&min_score=0.5",
		"since=2026-03-01T00:00:00Z", "address=2001:db8::1/48", "limit=0", "offset=-1", "source=own&source=own"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		sf, err := parseFilter(q)
		if err != nil {
			checkParamError(t, q, err)
			return
		}
		if sf.Source != "" && sf.Source != sourceOwn && sf.Source != sourcePartner {
			t.Fatalf("accepted source %q", sf.Source)
		}
		if sf.Limit < 1 || sf.Limit > maxLimit || sf.Offset < 0 || sf.MinScore < 0 || sf.MinScore > 1 {
			t.Fatalf("accepted %+v", sf)
		}
	})
}

// checkParamError fails t unless err (a refusal of query q) starts with
// the name of one of q's parameters, as the API's 400s do.
func checkParamError(t *testing.T, q url.Values, err error) {
	t.Helper()
	for k := range q {
		if strings.HasPrefix(err.Error(), k+": ") {
			return
		}
	}
	t.Fatalf("error %q does not start with a parameter's name", err)
}
