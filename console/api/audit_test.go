package api

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/store"
)

// auditFixture is newFixture with more entries: 20 tokens made through
// the API (token.create by token:t-admin) and one revoked.
func auditFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	for i := range 20 {
		f.admin(t, "POST", "/api/v1/tokens", map[string]string{"name": fmt.Sprintf("n%02d", i), "role": "analyst"}, 201, nil)
	}
	f.admin(t, "DELETE", "/api/v1/tokens/n03", nil, 200, nil)
	return f
}

// seqs lists the entries' seqs.
func seqs(es []audit.Entry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

func TestAuditList(t *testing.T) {
	f := auditFixture(t)
	all, err := f.db.ListAudit(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byAdmin := func(e audit.Entry) bool { return e.Actor == "token:t-admin" }
	var adminSeqs, lastFive []int64
	for _, e := range all {
		if byAdmin(e) {
			adminSeqs = append(adminSeqs, e.Seq)
		}
	}
	lastFive = seqs(all[len(all)-5:])
	tests := []struct {
		query string
		want  []int64
		more  bool
	}{
		{"", seqs(all), false},
		{"limit=5", lastFive, true},
		{"actor=token:t-admin", adminSeqs, false},
		{"action=token.revoke", []int64{all[len(all)-1].Seq}, false},
		{"action=token.*&object=token:n05", []int64{adminSeqs[5]}, false},
		{"action=case.*", []int64{}, false},
		{"after_seq=" + fmt.Sprint(all[len(all)-3].Seq), seqs(all[len(all)-2:]), false},
		{"after_seq=0&limit=3", seqs(all[:3]), true},
		{"after_seq=" + fmt.Sprint(all[len(all)-1].Seq), []int64{}, false},
		{"actor=token:t-admin&after_seq=" + fmt.Sprint(adminSeqs[1]) + "&limit=2", adminSeqs[2:4], true},
		{"to=2000-01-01", []int64{}, false},
		{"from=2000-01-01T00:00:00Z&to=2100-01-01", seqs(all), false},
	}
	for _, tt := range tests {
		var page auditPage
		f.admin(t, "GET", "/api/v1/audit?"+tt.query, nil, 200, &page)
		if got := seqs(page.Entries); !slices.Equal(got, tt.want) || page.More != tt.more {
			t.Errorf("?%s: seqs %v more %v, want %v more %v", tt.query, got, page.More, tt.want, tt.more)
		}
	}
	// Paging forward with after_seq visits every entry once, in order.
	var paged []int64
	for after, n := int64(0), 0; ; n++ {
		var page auditPage
		f.admin(t, "GET", fmt.Sprintf("/api/v1/audit?limit=4&after_seq=%d", after), nil, 200, &page)
		paged = append(paged, seqs(page.Entries)...)
		if !page.More || n > len(all) {
			break
		}
		after = page.Entries[len(page.Entries)-1].Seq
	}
	if !slices.Equal(paged, seqs(all)) {
		t.Errorf("paged %v, want %v", paged, seqs(all))
	}
	// Entries carry their chain fields.
	var page auditPage
	f.admin(t, "GET", "/api/v1/audit?limit=1", nil, 200, &page)
	if e := page.Entries[0]; e.Hash != all[len(all)-1].Hash || e.Prev == "" || e.Action != audit.ActionTokenRevoke || e.Object != "token:n03" {
		t.Errorf("entry %+v", e)
	}
}

func TestAuditBadParameters(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ path, errPrefix string }{
		{"/api/v1/audit?limit=0", "limit: "},
		{"/api/v1/audit?limit=1001", "limit: "},
		{"/api/v1/audit?after_seq=-1", "after_seq: "},
		{"/api/v1/audit?after_seq=x", "after_seq: "},
		{"/api/v1/audit?from=yesterday", "from: "},
		{"/api/v1/audit?from=2026-02-01&to=2026-01-01", "from: "},
		{"/api/v1/audit?action=Case.*", "action: "},
		{"/api/v1/audit?action=case*", "action: "},
		{"/api/v1/audit?actor=" + strings.Repeat("a", audit.MaxActor+1), "actor: "},
		{"/api/v1/audit?object=" + strings.Repeat("a", audit.MaxObject+1), "object: "},
		{"/api/v1/audit?seq=1", "seq: unknown parameter"},
		{"/api/v1/audit?limit=1&limit=2", "limit: given 2 times"},
		{"/api/v1/audit/verify?full=1", "full: unknown parameter"},
		{"/api/v1/reports/oversight", "from: required"},
		{"/api/v1/reports/oversight?from=2026-01-01", "to: required"},
		{"/api/v1/reports/oversight?from=2026-01-01&to=2026-01-01", "from: "},
		{"/api/v1/reports/oversight?from=2026-01-01&to=tomorrow", "to: "},
		{"/api/v1/reports/oversight?from=2026-01-01&to=2026-02-01&by=type", "by: unknown parameter"},
	} {
		status, data := f.send(t, "GET", tt.path, f.tokens[store.RoleAdmin], nil)
		var e struct{ Error string }
		_ = json.Unmarshal(data, &e)
		if status != http.StatusBadRequest || !strings.HasPrefix(e.Error, tt.errPrefix) {
			t.Errorf("%.80s: %d %q, want 400 %q...", tt.path, status, e.Error, tt.errPrefix)
		}
	}
}

// TestAuditVerify verifies a signed log with the right key (ok) and with
// another one (the checkpoint's signature fails), and without a key (503).
func TestAuditVerify(t *testing.T) {
	f := auditFixture(t)
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(nil)
	cp, err := audit.NewCheckpointer(priv, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.db.SetAuditCheckpointer(cp)
	if _, ok, err := f.db.AuditCheckpoint(ctx); err != nil || !ok {
		t.Fatalf("checkpoint: %v %v", ok, err)
	}
	f.admin(t, "POST", "/api/v1/tokens", map[string]string{"name": "after", "role": "analyst"}, 201, nil)
	serve := func(key ed25519.PublicKey) (int, verification) {
		srv := httptest.NewServer(New(Deps{Auth: f.db, Audit: f.db, AuditKey: key}))
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/audit/verify", nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens[store.RoleAuditor])
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v verification
		if resp.StatusCode == 200 {
			if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, v
	}
	status, v := serve(pub)
	if status != 200 || !v.OK || v.VerifiedThrough != v.LastSeq || v.Valid != 1 || v.Entries != v.LastSeq || v.Tail != 1 || v.SignedThrough != v.LastSeq-1 || v.Key != audit.Fingerprint(pub) {
		t.Errorf("right key: %d %+v", status, v)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	status, v = serve(other)
	if status != 200 || v.OK || v.Valid != 0 || len(v.Problems) == 0 || v.Problems[0].Kind != audit.ProblemSignature {
		t.Errorf("another key: %d %+v", status, v)
	}
	if status, _ := serve(nil); status != http.StatusServiceUnavailable {
		t.Errorf("no key: %d", status)
	}
}

func TestOversightReport(t *testing.T) {
	f := auditFixture(t)
	var o audit.Oversight
	status, data := f.send(t, "GET", "/api/v1/reports/oversight?"+url.Values{"from": {"2000-01-01T00:00:00+09:00"}, "to": {"2100-01-01"}}.Encode(), f.tokens[store.RoleCommissioner], nil)
	if status != 200 {
		t.Fatalf("%d %s", status, data)
	}
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	count := func(action string) int64 {
		for _, c := range o.ByAction {
			if c.Action == action {
				return c.Count
			}
		}
		return 0
	}
	// 7 fixture tokens and 20 through the API; one revoked.
	if count(audit.ActionTokenCreate) != 27 || count(audit.ActionTokenRevoke) != 1 || o.Entries < 28 {
		t.Errorf("report %+v", o)
	}
	// A period before everything counts nothing.
	f.admin(t, "GET", "/api/v1/reports/oversight?from=2000-01-01&to=2000-01-02", nil, 200, &o)
	if o.Entries != 0 || len(o.ByAction) != 0 {
		t.Errorf("empty period: %+v", o)
	}
}

// FuzzAuditQuery feeds parseAuditQuery arbitrary queries: it never
// panics, errors name a parameter, and what it accepts is in range.
func FuzzAuditQuery(f *testing.F) {
	for _, s := range []string{"", "limit=5", "after_seq=3&limit=2", "action=case.*", "from=2026-01-01&to=2026-02-01",
		"from=2026-01-01T00:00:00Z", "action=%00", "q=token", "q=%ff", "q=n03&after_seq=2", "limit=1&limit=2", "x=1", "after_seq=-1", "actor=user:ann&object=case:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		aq, err := parseAuditQuery(q)
		if err != nil {
			checkParamError(t, q, err)
			return
		}
		if aq.limit < 1 || aq.limit > maxAuditLimit || aq.after < 0 {
			t.Fatalf("accepted %+v", aq)
		}
		if len(aq.text) > 4*maxAuditText || aq.text != strings.ToLower(aq.text) {
			t.Fatalf("accepted q %q", aq.text)
		}
		if a := aq.filter.Action; a != "" && !actionFilter.MatchString(a) {
			t.Fatalf("accepted action %q", a)
		}
	})
}
