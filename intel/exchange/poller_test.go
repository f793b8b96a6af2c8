package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/stix/pattern"
	"github.com/acd-org/acd/intel/taxii/client"
)

func TestPollerBackoff(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(down.Close)
	cfg := client.DefaultConfig()
	cfg.URL, cfg.Retries = down.URL+"/taxii2/", 0
	c, err := client.New(cfg, client.Deps{Logger: logger(t), HTTP: down.Client(), Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	a := inAgreement("jp", "", colJPtoUS, 50)
	p := &Poller{Partners: []Remote{{Gate: &share.Gate{Agreement: a, Ledger: &share.MemLedger{}}, Client: c, APIRoot: down.URL + "/api/"}},
		Sink: BookSink{Book: detect.NewBook(10, nil)}, Every: time.Minute, MaxBackoff: 3 * time.Minute, Now: clk.Now, Logger: logger(t)}
	steps := []struct {
		advance  time.Duration
		deferred int
		wantErr  bool
	}{
		{0, 0, true},                 // fails: retry after 1m
		{30 * time.Second, 1, false}, // backing off
		{30 * time.Second, 0, true},  // tries again, fails: retry after 2m
		{90 * time.Second, 1, false},
		{30 * time.Second, 0, true}, // fails: 4m capped at 3m
		{150 * time.Second, 1, false},
		{30 * time.Second, 0, true},
	}
	for i, s := range steps {
		clk.Add(s.advance)
		st, err := p.Run(ctx)
		if st.Deferred != s.deferred || (err != nil) != s.wantErr {
			t.Errorf("step %d: %+v, %v; want %d deferred, error %v", i, st, err, s.deferred, s.wantErr)
		}
	}
	if _, err := p.SyncNow(ctx, "jp"); err == nil {
		t.Errorf("SyncNow of a failing partner did not fail")
	}
	if _, err := p.SyncNow(ctx, "nobody"); !errors.Is(err, ErrUnknownPartner) {
		t.Errorf("SyncNow of an unknown partner: %v", err)
	}
}

// memSink records what it is given.
type memSink struct{ added, withdrawn []share.Incoming }

func (s *memSink) Add(in share.Incoming) error { s.added = append(s.added, in); return nil }
func (s *memSink) Withdraw(in share.Incoming) error {
	s.withdrawn = append(s.withdrawn, in)
	return nil
}

// jpObjects are jp's STIX objects for a C2 and a scanner.
func jpObjects(t testing.TB, at time.Time) (stix.Identity, []json.RawMessage) {
	id := identity(t, "acd jp", at)
	b := detect.NewBook(10, nil)
	var raws []json.RawMessage
	for _, s := range []detect.Suspect{
		b.Add(finding(t, c2Addr, "beacon", detect.RoleC2, 0.9, "beacon from [address]", at)),
		b.Add(finding(t, scannerAddr, "scan", detect.RoleScanner, 0.6, "scan", at)),
	} {
		objs, err := stix.FromSuspect(s, id, stix.TLPAmber, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			raws = append(raws, o.Raw())
		}
	}
	return id, raws
}

func TestPollerIngest(t *testing.T) {
	at := time.Now().UTC().Truncate(time.Millisecond)
	id, raws := jpObjects(t, at)
	ind := raws[0] // the C2's indicator
	var rest []json.RawMessage
	rest = append(rest, raws[1:]...)
	for _, tc := range []struct {
		name             string
		batches          [][]json.RawMessage
		identity         string
		invalid, refused int
		added            []detect.Role
	}{
		{"whole", [][]json.RawMessage{raws}, id.ID, 0, 0, []detect.Role{detect.RoleC2, detect.RoleScanner}},
		{"context from an earlier batch", [][]json.RawMessage{rest, {ind}}, id.ID, 0, 0, []detect.Role{detect.RoleScanner, detect.RoleC2}},
		{"not STIX", [][]json.RawMessage{{json.RawMessage(`[1]`), json.RawMessage(`{"type":1}`)}}, id.ID, 2, 0, nil},
		{"wrong creator", [][]json.RawMessage{raws}, "identity--0b0a4a57-5e8e-4b3a-8c9d-3a4f1c2d7e10", 0, len(raws), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{}
			a := inAgreement("jp", tc.identity, colJPtoUS, 80)
			p := &Poller{Sink: sink, Now: func() time.Time { return at }, Partners: []Remote{{Gate: &share.Gate{Agreement: a, Ledger: &share.MemLedger{}}, Client: &client.Client{}}}}
			if err := p.init(); err != nil {
				t.Fatal(err)
			}
			var st PollStats
			for _, b := range tc.batches {
				if err := p.ingest(context.Background(), &p.Partners[0], b, &st); err != nil {
					t.Fatal(err)
				}
			}
			if st.Invalid != tc.invalid || st.Refused != tc.refused {
				t.Errorf("%+v, want %d invalid, %d refused", st, tc.invalid, tc.refused)
			}
			var roles []detect.Role
			for _, in := range sink.added {
				roles = append(roles, in.Role)
			}
			if len(roles) != len(tc.added) {
				t.Fatalf("added roles %v, want %v", roles, tc.added)
			}
			for i := range roles {
				if roles[i] != tc.added[i] {
					t.Errorf("added roles %v, want %v", roles, tc.added)
				}
			}
		})
	}
}

func TestBookSink(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	target := func(s string) pattern.Target {
		tg, err := pattern.ParseTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	for _, tc := range []struct {
		name   string
		target string
		err    error
	}{
		{"address", "203.0.113.5", nil},
		{"prefix", "2001:db8:bad::/48", nil},
		{"domain", "c2.example.com", ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := detect.NewBook(10, nil)
			s := BookSink{Book: b}
			in := share.Incoming{Target: target(tc.target), Role: detect.RoleC2, Score: 0.64, Confidence: 80, FirstSeen: at, LastSeen: at,
				Provenance: share.Provenance{Partner: "us", ObjectID: "indicator--x"}}
			if err := s.Add(in); !errors.Is(err, tc.err) {
				t.Fatalf("Add: %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				if b.Len() != 0 {
					t.Errorf("book holds %d suspects", b.Len())
				}
				return
			}
			k := key(t, tc.target)
			e, ok := evidenceOf(b, k, "partner:us")
			if !ok || e.Role != detect.RoleC2 || e.Score != 0.64 || e.Counts["confidence"] != 80 || !e.First.Equal(at) {
				t.Fatalf("evidence %+v (present %v)", e, ok)
			}
			in.Revoked = true
			if err := s.Withdraw(in); err != nil {
				t.Fatal(err)
			}
			if _, ok := b.Get(k); ok {
				t.Errorf("suspect still in the book after Withdraw")
			}
		})
	}
}
