package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce/crowdsec"
	"github.com/acd-org/acd/flow"
)

func rec(src, dst string) flow.Record {
	return flow.Record{SrcAddr: flow.AddrFromNetip(netip.MustParseAddr(src)), DstAddr: flow.AddrFromNetip(netip.MustParseAddr(dst))}
}

func TestBanListFilter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ban := func(id int64, scope, value string, until time.Time) crowdsec.Decision {
		d := crowdsec.Decision{ID: id, Type: "ban", Scope: scope, Value: value}
		if !until.IsZero() {
			d.Until = until.Format(time.RFC3339)
		}
		return d
	}
	later := now.Add(time.Hour)
	for _, tt := range []struct {
		name    string
		streams []crowdsec.StreamResponse
		recs    []flow.Record
		want    []int // indexes of recs kept
		wantErr bool
		startup []bool // streams[i] is a startup answer (the whole state)
	}{
		{name: "no bans", recs: []flow.Record{rec("198.18.0.1", "100.65.0.1")}, want: []int{0}},
		{name: "banned destination and source",
			streams: []crowdsec.StreamResponse{{New: []crowdsec.Decision{ban(1, "Ip", "100.65.0.1", later)}}},
			recs:    []flow.Record{rec("198.18.0.1", "100.65.0.1"), rec("100.65.0.1", "198.18.0.1"), rec("198.18.0.1", "100.65.0.2")},
			want:    []int{2}},
		{name: "range and IPv6",
			streams: []crowdsec.StreamResponse{{New: []crowdsec.Decision{ban(1, "Range", "100.66.0.0/30", later), ban(2, "Ip", "2001:db8:e000::7", later)}}},
			recs:    []flow.Record{rec("100.66.0.3", "198.18.0.1"), rec("100.66.0.4", "198.18.0.1"), rec("2001:db8:100::1", "2001:db8:e000::7")},
			want:    []int{1}},
		{name: "deleted by value",
			streams: []crowdsec.StreamResponse{{New: []crowdsec.Decision{ban(1, "Ip", "100.65.0.1", later)}},
				{Deleted: []crowdsec.Decision{ban(1, "Ip", "100.65.0.1", time.Time{})}}},
			recs: []flow.Record{rec("198.18.0.1", "100.65.0.1")}, want: []int{0}},
		{name: "replaced: deleted then new in one answer",
			streams: []crowdsec.StreamResponse{{New: []crowdsec.Decision{ban(1, "Ip", "100.65.0.1", later)}},
				{Deleted: []crowdsec.Decision{ban(1, "Ip", "100.65.0.1", time.Time{})}, New: []crowdsec.Decision{ban(2, "Ip", "100.65.0.1", later.Add(time.Hour))}}},
			recs: []flow.Record{rec("198.18.0.1", "100.65.0.1")}, want: []int{}},
		{name: "ended decisions let go",
			streams: []crowdsec.StreamResponse{{New: []crowdsec.Decision{ban(1, "Ip", "100.65.0.1", now.Add(-time.Second))}}},
			recs:    []flow.Record{rec("198.18.0.1", "100.65.0.1")}, want: []int{0}},
		{name: "a startup answer replaces the state (after a lost answer)",
			streams: []crowdsec.StreamResponse{{New: []crowdsec.Decision{ban(1, "Ip", "100.65.0.1", later)}},
				{New: []crowdsec.Decision{ban(2, "Ip", "100.65.0.2", later)}}},
			startup: []bool{true, true},
			recs:    []flow.Record{rec("198.18.0.1", "100.65.0.1"), rec("198.18.0.1", "100.65.0.2")}, want: []int{0}},
		{name: "not a ban",
			streams: []crowdsec.StreamResponse{{New: []crowdsec.Decision{{ID: 1, Type: "captcha", Scope: "Ip", Value: "100.65.0.1"}}}},
			recs:    []flow.Record{rec("198.18.0.1", "100.65.0.1")}, want: []int{0}},
		{name: "bad values are reported, good ones kept",
			streams: []crowdsec.StreamResponse{{New: []crowdsec.Decision{ban(1, "Ip", "not-an-ip", later), ban(2, "Country", "FR", later), ban(3, "Ip", "100.65.0.1", later)}}},
			recs:    []flow.Record{rec("198.18.0.1", "100.65.0.1")}, want: []int{}, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBanList()
			var err error
			for i, s := range tt.streams {
				if e := b.apply(s, i < len(tt.startup) && tt.startup[i]); e != nil {
					err = e
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("apply error %v, want error %v", err, tt.wantErr)
			}
			recs := append([]flow.Record(nil), tt.recs...)
			kept, dropped := b.filter(recs, now)
			var want []flow.Record
			for _, i := range tt.want {
				want = append(want, tt.recs[i])
			}
			if len(kept) != len(want) || dropped != len(tt.recs)-len(want) {
				t.Fatalf("kept %v (dropped %d), want %v", kept, dropped, want)
			}
			for i := range want {
				if kept[i] != want[i] {
					t.Errorf("kept[%d] = %v, want %v", i, kept[i], want[i])
				}
			}
		})
	}
}

// TestObeyClientAgainstLAPI runs the bouncer against acd's own CrowdSec
// Local API server: a block applied is banned after the next pull, a
// withdrawal lets the address go, and a wrong key is refused.
func TestObeyClientAgainstLAPI(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	dec, err := crowdsec.NewDecisions(crowdsec.DefaultConfig(), clock)
	if err != nil {
		t.Fatal(err)
	}
	keys := &crowdsec.MemKeys{}
	keys.Add("flows", "the-key")
	srv := httptest.NewServer(&crowdsec.Server{Decisions: dec, Keys: keys})
	t.Cleanup(srv.Close)
	ctx := context.Background()

	c, err := newObeyClient(srv.URL+"/", "the-key")
	if err != nil {
		t.Fatal(err)
	}
	c.client = srv.Client()
	c1 := cases.Case{ID: "c1"}
	block := cases.Action{Type: cases.ActionBlock, Target: cases.MustTarget("100.65.0.1"), NotBefore: now, NotAfter: now.Add(time.Hour)}
	if err := dec.Apply(ctx, c1, block); err != nil {
		t.Fatal(err)
	}
	if err := c.pull(ctx); err != nil {
		t.Fatal(err)
	}
	beacon := []flow.Record{rec("198.18.0.9", "100.65.0.1"), rec("198.18.0.9", "100.64.0.7")}
	kept, dropped := c.bans.filter(append([]flow.Record(nil), beacon...), now)
	if dropped != 1 || len(kept) != 1 || kept[0] != beacon[1] {
		t.Fatalf("after the block: kept %v, dropped %d", kept, dropped)
	}
	if err := dec.Withdraw(ctx, c1, block); err != nil {
		t.Fatal(err)
	}
	if err := c.pull(ctx); err != nil {
		t.Fatal(err)
	}
	if _, dropped := c.bans.filter(append([]flow.Record(nil), beacon...), now); dropped != 0 || c.bans.len() != 0 {
		t.Fatalf("after the withdrawal: %d dropped, %d bans held", dropped, c.bans.len())
	}

	bad, err := newObeyClient(srv.URL, "wrong")
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.pull(ctx); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("a wrong key: %v, want a 403", err)
	}
	for _, tt := range []struct{ url, key string }{{"127.0.0.1:8090", "k"}, {"http://127.0.0.1:8090", " "}} {
		if _, err := newObeyClient(tt.url, tt.key); err == nil {
			t.Errorf("newObeyClient(%q, %q): no error", tt.url, tt.key)
		}
	}
}

func FuzzParseStream(f *testing.F) {
	for _, p := range []string{"../../enforce/crowdsec/testdata/stream-startup.json", "../../enforce/crowdsec/testdata/stream-delta.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"new":null,"deleted":null}`))
	f.Add([]byte(`{"new":[{"type":"ban","scope":"Range","value":"::/0"}]}`))
	f.Add([]byte(`[]`))
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseStream(body)
		if err != nil {
			return
		}
		b := newBanList()
		_ = b.apply(r, false)
		recs := []flow.Record{rec("100.65.0.1", "198.18.0.1"), rec("2001:db8::7", "2001:db8:100::1")}
		kept, dropped := b.filter(recs, now)
		if len(kept)+dropped != 2 {
			t.Fatalf("kept %d + dropped %d != 2", len(kept), dropped)
		}
	})
}

// TestFlowgenObeys runs "acd flowgen --scenario --obey" against acd's
// LAPI server banning the scenario's whole internal network (one Range
// decision): every record has an internal end, so nothing is sent.
func TestFlowgenObeys(t *testing.T) {
	cfg := crowdsec.DefaultConfig()
	cfg.Ranges = crowdsec.RangesNative
	dec, err := crowdsec.NewDecisions(cfg, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	keys := &crowdsec.MemKeys{}
	keys.Add("flowgen", "k3y")
	srv := httptest.NewServer(&crowdsec.Server{Decisions: dec, Keys: keys})
	t.Cleanup(srv.Close)
	now := time.Now()
	if err := dec.Apply(context.Background(), cases.Case{ID: "c1"}, cases.Action{Type: cases.ActionBlock,
		Target: cases.MustTarget("198.18.0.0/15"), NotBefore: now, NotAfter: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile, scen := dir+"/bouncer.key", dir+"/s.yaml"
	if err := os.WriteFile(keyFile, []byte("k3y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(scen, []byte("name: live\nduration: 1m\nbackground: {clients: 20, servers: 40, flows_per_second: 400}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pc := udpSink(t)
	code, out, errOut := flowgenCmd(t, context.Background(), "--scenario", scen, "--duration", "1500ms", "--to", pc.LocalAddr().String(),
		"--obey", srv.URL, "--obey-key", keyFile)
	if code != 0 || !strings.Contains(errOut, "obeying") || !strings.Contains(out, "sent 0 ") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := flowgenCmd(t, context.Background(), "--scenario", scen, "--duration", "1s", "--to", pc.LocalAddr().String(),
		"--obey", srv.URL, "--obey-key", "wrong"); code != 1 || !strings.Contains(errOut, "403") {
		t.Errorf("a wrong key: exit %d, stderr %q", code, errOut)
	}
}

// TestObeyClientRestartsAfterFailure: after a failed pull the next one
// asks for the whole state (startup=true), as acd counts an answer's
// changes delivered when it sends them.
func TestObeyClientRestartsAfterFailure(t *testing.T) {
	var (
		mu    sync.Mutex
		asked []string
		fail  = map[int]bool{1: true}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(asked)
		asked = append(asked, r.URL.Query().Get("startup"))
		mu.Unlock()
		if fail[n] {
			http.Error(w, "lost", http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(`{"new":[],"deleted":[]}`))
	}))
	t.Cleanup(srv.Close)
	c, err := newObeyClient(srv.URL, "k")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		_ = c.pull(context.Background())
	}
	if want := []string{"true", "false", "true", "false"}; !slices.Equal(asked, want) {
		t.Errorf("startup per pull %q, want %q", asked, want)
	}
}
