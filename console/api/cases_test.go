package api

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/casestest"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/store"
)

// tokenAuth authenticates "tok-ROLE" as the principal "u-ROLE" with ROLE.
type tokenAuth struct{}

func (tokenAuth) Authenticate(_ context.Context, secret string) (store.Principal, error) {
	role, ok := strings.CutPrefix(secret, "tok-")
	if !ok {
		return store.Principal{}, store.ErrUnauthenticated
	}
	return store.Principal{Name: "u-" + role, Roles: []string{role}, Kind: "token"}, nil
}

// caseFixture is the API over a fake cases service and a small Book.
type caseFixture struct {
	srv  *httptest.Server
	svc  *casestest.Fake
	key  ed25519.PrivateKey // u-commissioner's signing key, known to svc as keyID
	book *detect.Book
}

const keyID = "0123456789abcdef"

var tc0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newCaseFixture(t *testing.T) *caseFixture {
	t.Helper()
	book := detect.NewBook(100, nil)
	for _, a := range []string{"198.51.100.7", "198.51.100.8"} {
		k, err := detect.ParseKey(a)
		if err != nil {
			t.Fatal(err)
		}
		book.Add(detect.Finding{Addr: k.Addr, Bits: k.Bits, Role: detect.RoleC2,
			Evidence: detect.Evidence{Detector: "beacon", Score: 0.9, Reason: "test", First: tc0, Last: tc0.Add(time.Hour)}})
	}
	svc := casestest.New()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.AddKey(keyID, pub)
	srv := httptest.NewServer(New(Deps{Book: book, Auth: tokenAuth{}, Cases: svc}))
	t.Cleanup(srv.Close)
	return &caseFixture{srv: srv, svc: svc, key: priv, book: book}
}

// call sends body (nil for none) as role ("" for no credentials) and
// returns the status and the raw answer.
func (f *caseFixture) call(t *testing.T, role, method, path string, body any) (int, []byte, http.Header) {
	t.Helper()
	token := ""
	if role != "" {
		token = "tok-" + role
	}
	return sendRequest(t, f.srv, method, path, token, body)
}

// testAction is a valid block of the case target for a day.
func testAction() cases.Action {
	return cases.Action{Type: cases.ActionBlock, Target: cases.MustTarget("198.51.100.7"),
		NotBefore: tc0, NotAfter: tc0.Add(24 * time.Hour)}
}

// caseIn returns a case requested by "requester", brought to state st
// through the real transitions (urgent when emergency).
func caseIn(t *testing.T, id string, st cases.State, emergency bool) cases.Case {
	t.Helper()
	c := cases.New(id, "requester", tc0)
	c.Target = cases.MustTarget("198.51.100.7")
	c.Suspects = []string{"198.51.100.7"}
	c.EvidenceHash = strings.Repeat("ab", 32)
	c.LegalBasis = "§ 5 ACD Act"
	c.Actions = []cases.Action{testAction()}
	if emergency {
		c.Route = cases.RouteUrgent
	}
	apply := func(ev cases.Event, reason string) {
		t.Helper()
		if err := c.Apply(cases.Change{Event: ev, By: "someone", At: tc0, Reason: reason, ReviewBy: tc0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	path := map[cases.State][]cases.Event{
		cases.StateDraft:     nil,
		cases.StateRequested: {cases.EventRequest},
		cases.StateApproved:  {cases.EventRequest, cases.EventApprove},
		cases.StateRejected:  {cases.EventRequest, cases.EventReject},
		cases.StateActive:    {cases.EventRequest, cases.EventApprove, cases.EventActivate},
	}[st]
	if emergency {
		path = []cases.Event{cases.EventRequest, cases.EventEmergency}
	}
	for _, ev := range path {
		apply(ev, "because")
	}
	if c.State != st {
		t.Fatalf("caseIn: %s, want %s", c.State, st)
	}
	return c
}

// signed returns u-commissioner's signed decision on c.
func (f *caseFixture) signed(t *testing.T, c cases.Case, d cases.Decision, reason string) cases.Approval {
	t.Helper()
	a, err := cases.SignCase(c, "u-commissioner", keyID, d, reason, tc0, f.key)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func validCreate() map[string]any {
	return map[string]any{
		"target": "198.51.100.7", "suspects": []string{"198.51.100.7"}, "legal_basis": "§ 5 ACD Act",
		"route": "ordinary", "urgency": "high",
		"actions": []map[string]any{{"type": "block", "target": "198.51.100.7",
			"not_before": "2026-03-01T12:00:00Z", "not_after": "2026-03-02T12:00:00Z"}},
	}
}

// TestCaseRoleMatrix calls every case endpoint as every role with a
// valid request and the case in a state that allows it: the allowed
// roles succeed, every other role gets 403, and no credentials 401.
func TestCaseRoleMatrix(t *testing.T) {
	readers := []store.Role{store.RoleAnalyst, store.RoleCommissioner, store.RoleOperator, store.RoleAuditor, store.RoleAdmin}
	authors := []store.Role{store.RoleAnalyst, store.RoleAdmin}
	commission := []store.Role{store.RoleCommissioner, store.RoleAdmin}
	type endpoint struct {
		method, path string
		state        cases.State
		emergency    bool
		body         func(f *caseFixture, c cases.Case) any
		allowed      []store.Role
		want         int
	}
	none := func(*caseFixture, cases.Case) any { return nil }
	reason := func(*caseFixture, cases.Case) any { return map[string]string{"reason": "no longer needed"} }
	endpoints := []endpoint{
		{"GET", "/api/v1/cases", cases.StateDraft, false, none, readers, 200},
		{"POST", "/api/v1/cases", cases.StateDraft, false, func(*caseFixture, cases.Case) any { return validCreate() }, authors, 201},
		{"GET", "/api/v1/cases/c-1", cases.StateDraft, false, none, readers, 200},
		{"PATCH", "/api/v1/cases/c-1", cases.StateDraft, false, func(*caseFixture, cases.Case) any {
			return map[string]any{"urgency": "critical", "reason": "worse"}
		}, authors, 200},
		{"GET", "/api/v1/cases/c-1/payload", cases.StateRequested, false, none, readers, 200},
		{"POST", "/api/v1/cases/c-1/request", cases.StateDraft, false, none, authors, 200},
		{"POST", "/api/v1/cases/c-1/withdraw", cases.StateDraft, false, reason, authors, 200},
		{"POST", "/api/v1/cases/c-1/close", cases.StateRejected, false, none, authors, 200},
		{"POST", "/api/v1/cases/c-1/approvals", cases.StateRequested, false, func(f *caseFixture, c cases.Case) any {
			return f.signed(t, c, cases.DecisionApprove, "")
		}, []store.Role{store.RoleCommissioner}, 200},
		{"POST", "/api/v1/cases/c-1/execute", cases.StateApproved, false, func(*caseFixture, cases.Case) any {
			return map[string]int{"action": 0}
		}, []store.Role{store.RoleOperator}, 200},
		{"POST", "/api/v1/cases/c-1/emergency", cases.StateRequested, false, func(*caseFixture, cases.Case) any {
			return map[string]any{"action": 0, "reason": "attack under way"}
		}, []store.Role{store.RoleOperator}, 200},
		{"POST", "/api/v1/cases/c-1/revoke", cases.StateApproved, false, reason, commission, 200},
		{"POST", "/api/v1/cases/c-1/review", cases.StateActive, true, none, commission, 200},
	}
	for _, ep := range endpoints {
		for _, role := range append([]store.Role{""}, store.Roles()...) {
			t.Run(ep.method+" "+ep.path+" as "+string(role), func(t *testing.T) {
				f := newCaseFixture(t)
				c := caseIn(t, "c-1", ep.state, ep.emergency)
				if strings.HasSuffix(ep.path, "/emergency") {
					c = caseIn(t, "c-1", cases.StateRequested, false)
					c.Route = cases.RouteUrgent
				}
				f.svc.Put(c)
				status, body, _ := f.call(t, string(role), ep.method, ep.path, ep.body(f, c))
				want := http.StatusForbidden
				switch {
				case role == "":
					want = http.StatusUnauthorized
				case slices.Contains(ep.allowed, role):
					want = ep.want
				}
				if status != want {
					t.Fatalf("status %d, want %d: %s", status, want, body)
				}
				if want == http.StatusForbidden && len(f.svc.Calls) != 0 {
					t.Errorf("a refused call reached the service: %v", f.svc.Calls)
				}
			})
		}
	}
}

func TestCaseCreate(t *testing.T) {
	f := newCaseFixture(t)
	status, body, hdr := f.call(t, "analyst", "POST", "/api/v1/cases", validCreate())
	if status != http.StatusCreated {
		t.Fatalf("status %d: %s", status, body)
	}
	var c cases.Case
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	if c.Requester != "u-analyst" || c.State != cases.StateDraft || c.Urgency != cases.UrgencyHigh ||
		!slices.Equal(c.Suspects, []string{"198.51.100.7"}) || len(c.Actions) != 1 || c.EvidenceHash == "" {
		t.Errorf("created %+v", c)
	}
	if loc := hdr.Get("Location"); loc != "/api/v1/cases/"+c.ID {
		t.Errorf("Location %q", loc)
	}
	// The requester is the principal, whatever the body says.
	in := validCreate()
	in["requester"] = "someone-else"
	if status, body, _ := f.call(t, "analyst", "POST", "/api/v1/cases", in); status != http.StatusBadRequest || !strings.Contains(string(body), "requester: unknown field") {
		t.Errorf("requester in body: %d %s", status, body)
	}
}

func TestCaseBadInput(t *testing.T) {
	with := func(edit func(m map[string]any)) map[string]any {
		m := validCreate()
		edit(m)
		return m
	}
	action := func(edit func(a map[string]any)) map[string]any {
		return with(func(m map[string]any) {
			a := map[string]any{"type": "block", "target": "198.51.100.7", "not_before": "2026-03-01T12:00:00Z", "not_after": "2026-03-02T12:00:00Z"}
			edit(a)
			m["actions"] = []map[string]any{a}
		})
	}
	tests := []struct {
		name         string
		role, method string
		path         string
		body         any
		field        string // the error message starts with it
	}{
		{"no body", "analyst", "POST", "/api/v1/cases", nil, "body:"},
		{"not json", "analyst", "POST", "/api/v1/cases", "{", "body:"},
		{"trailing", "analyst", "POST", "/api/v1/cases", `{"target":"198.51.100.7"} {}`, "body:"},
		{"no target", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { delete(m, "target") }), "target:"},
		{"bad target", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { m["target"] = "1.2.3" }), "target:"},
		{"wrong type", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { m["target"] = 7 }), "target:"},
		{"no legal basis", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { delete(m, "legal_basis") }), "legal_basis:"},
		{"bad route", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { m["route"] = "fast" }), "route:"},
		{"bad urgency", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { m["urgency"] = "now" }), "urgency:"},
		{"no suspects", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { delete(m, "suspects") }), "suspects:"},
		{"unknown suspect", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { m["suspects"] = []string{"192.0.2.99"} }), "suspects[0]:"},
		{"suspect twice", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { m["suspects"] = []string{"198.51.100.7", "198.51.100.7"} }), "suspects[1]:"},
		{"no actions", "analyst", "POST", "/api/v1/cases", with(func(m map[string]any) { m["actions"] = []any{} }), "actions:"},
		{"action type", "analyst", "POST", "/api/v1/cases", action(func(a map[string]any) { a["type"] = "hack-back" }), "actions[0].type:"},
		{"action target", "analyst", "POST", "/api/v1/cases", action(func(a map[string]any) { a["target"] = "" }), "actions[0].target:"},
		{"open-ended", "analyst", "POST", "/api/v1/cases", action(func(a map[string]any) { delete(a, "not_after") }), "actions[0].not_after:"},
		{"window reversed", "analyst", "POST", "/api/v1/cases", action(func(a map[string]any) { a["not_after"] = "2026-03-01T11:00:00Z" }), "actions[0].not_after:"},
		{"bad time", "analyst", "POST", "/api/v1/cases", action(func(a map[string]any) { a["not_before"] = "yesterday" }), "actions[0].not_before:"},
		{"scope field", "analyst", "POST", "/api/v1/cases", action(func(a map[string]any) { a["scope"] = map[string]any{"color": 1} }), "actions[0].scope:"},
		{"amend suspects", "analyst", "PATCH", "/api/v1/cases/c-1", map[string]any{"suspects": []string{"198.51.100.8"}}, "suspects:"},
		{"amend nothing", "analyst", "PATCH", "/api/v1/cases/c-1", map[string]any{"reason": "x"}, "body:"},
		{"bad id", "analyst", "GET", "/api/v1/cases/c%201", nil, "id:"},
		{"list state", "auditor", "GET", "/api/v1/cases?state=sleeping", nil, "state:"},
		{"list target", "auditor", "GET", "/api/v1/cases?target=x%2Fy", nil, "target:"},
		{"list limit", "auditor", "GET", "/api/v1/cases?limit=0", nil, "limit:"},
		{"list unknown", "auditor", "GET", "/api/v1/cases?colour=red", nil, "colour:"},
		{"withdraw reason", "analyst", "POST", "/api/v1/cases/c-1/withdraw", map[string]string{}, "reason:"},
		{"revoke reason", "admin", "POST", "/api/v1/cases/c-1/revoke", nil, "body:"},
		{"execute index", "operator", "POST", "/api/v1/cases/c-1/execute", map[string]any{}, "action:"},
		{"execute negative", "operator", "POST", "/api/v1/cases/c-1/execute", map[string]any{"action": -1}, "action:"},
		{"execute reason", "operator", "POST", "/api/v1/cases/c-1/execute", map[string]any{"action": 0, "reason": "x"}, "reason:"},
		{"emergency reason", "operator", "POST", "/api/v1/cases/c-1/emergency", map[string]any{"action": 0}, "reason:"},
		{"approval case", "commissioner", "POST", "/api/v1/cases/c-1/approvals", map[string]any{"case": "c-2"}, "case:"},
		{"approval decision", "commissioner", "POST", "/api/v1/cases/c-1/approvals", map[string]any{
			"case": "c-1", "version": 1, "commissioner": "u-commissioner", "key_id": "k", "decision": "maybe"}, "decision:"},
		{"rejection reason", "commissioner", "POST", "/api/v1/cases/c-1/approvals", map[string]any{
			"case": "c-1", "version": 1, "commissioner": "u-commissioner", "key_id": "k", "decision": "reject"}, "reason:"},
		{"approval signature", "commissioner", "POST", "/api/v1/cases/c-1/approvals", map[string]any{
			"case": "c-1", "version": 1, "commissioner": "u-commissioner", "key_id": "k", "decision": "approve",
			"signed_at": "2026-03-01T12:00:00Z", "signature": "AAAA"}, "signature:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCaseFixture(t)
			f.svc.Put(caseIn(t, "c-1", cases.StateDraft, false))
			status, body, _ := f.call(t, tt.role, tt.method, tt.path, tt.body)
			var e struct{ Error string }
			_ = json.Unmarshal(body, &e)
			if status != http.StatusBadRequest || !strings.HasPrefix(e.Error, tt.field) {
				t.Errorf("status %d, error %q; want 400 starting %q", status, e.Error, tt.field)
			}
			if slices.ContainsFunc(f.svc.Calls, func(c string) bool { return !strings.HasPrefix(c, "case ") }) {
				t.Errorf("bad input reached the service: %v", f.svc.Calls)
			}
		})
	}
}

// TestCaseErrors checks how the service's refusals are answered.
func TestCaseErrors(t *testing.T) {
	tests := []struct {
		err    error
		status int
		shown  bool // the message is shown
	}{
		{fmt.Errorf("case c-1: %w", cases.ErrNotFound), 404, true},
		{fmt.Errorf("%w: the requester cannot execute", cases.ErrDuties), 403, true},
		{fmt.Errorf("%w: approved → draft", cases.ErrState), 409, true},
		{fmt.Errorf("%w: forged", cases.ErrSignature), 409, true},
		{fmt.Errorf("%w: version 1 of 2", cases.ErrReplay), 409, true},
		{fmt.Errorf("%w: key k", cases.ErrRevokedKey), 409, true},
		{fmt.Errorf("%w: 1 of 2", cases.ErrQuorum), 409, true},
		{fmt.Errorf("%w: a widened prefix", cases.ErrScope), 409, true},
		{fmt.Errorf("%w: expired", cases.ErrWindow), 409, true},
		{errors.Join(fmt.Errorf("%w: a", cases.ErrQuorum), fmt.Errorf("%w: b", cases.ErrRevokedKey)), 409, true},
		{fmt.Errorf("enforce: %w: 198.51.100.0/24 overlaps never_act", enforce.ErrRail), 409, true},
		{fmt.Errorf("unable to run action 0: %w", fmt.Errorf("crowdsec: %w: block narrowed by ports", enforce.ErrUnsupported)), 409, true},
		{errors.New("disk I/O error at /var/lib/acd"), 500, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			f := newCaseFixture(t)
			f.svc.Err = tt.err
			status, body, _ := f.call(t, "operator", "POST", "/api/v1/cases/c-1/execute", map[string]int{"action": 0})
			if status != tt.status {
				t.Errorf("status %d, want %d: %s", status, tt.status, body)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(e.Error, strings.Split(tt.err.Error(), "\n")[0]); got != tt.shown {
				t.Errorf("message %q: shown %v, want %v", e.Error, got, tt.shown)
			}
		})
	}
}

// TestCaseFlow runs a case through the API: create, request, the
// payload, a signed approval (and the refusals around it), execute.
func TestCaseFlow(t *testing.T) {
	f := newCaseFixture(t)
	status, body, _ := f.call(t, "analyst", "POST", "/api/v1/cases", validCreate())
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var c cases.Case
	_ = json.Unmarshal(body, &c)
	base := "/api/v1/cases/" + c.ID
	if status, body, _ = f.call(t, "analyst", "POST", base+"/request", nil); status != 200 {
		t.Fatalf("request: %d %s", status, body)
	}
	rec, err := f.svc.Case(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	status, body, hdr := f.call(t, "commissioner", "GET", base+"/payload", nil)
	if status != 200 || !bytes.Equal(body, rec.Payload) || hdr.Get("Content-Type") != "application/json" || hdr.Get("X-Acd-Case-Version") != "1" {
		t.Fatalf("payload: %d %q %v, want exactly %q", status, body, hdr, rec.Payload)
	}
	a, err := cases.Sign(body, cases.Approval{Case: c.ID, Version: 1, Commissioner: "u-commissioner", KeyID: keyID,
		Decision: cases.DecisionApprove, SignedAt: tc0}, f.key)
	if err != nil {
		t.Fatal(err)
	}
	// In someone else's name: 403, whatever the signature.
	other := a
	other.Commissioner = "carol"
	if status, body, _ = f.call(t, "commissioner", "POST", base+"/approvals", other); status != 403 || !strings.Contains(string(body), "commissioner:") {
		t.Errorf("approval in another's name: %d %s", status, body)
	}
	// A tampered approval: 409 with the typed reason.
	forged := a
	forged.SignedAt = tc0.Add(time.Minute)
	if status, body, _ = f.call(t, "commissioner", "POST", base+"/approvals", forged); status != 409 || !strings.Contains(string(body), cases.ErrSignature.Error()) {
		t.Errorf("forged approval: %d %s", status, body)
	}
	if status, body, _ = f.call(t, "commissioner", "POST", base+"/approvals", a); status != 200 {
		t.Fatalf("approval: %d %s", status, body)
	}
	// Twice: the case is approved already.
	if status, body, _ = f.call(t, "commissioner", "POST", base+"/approvals", a); status != 409 {
		t.Errorf("approval twice: %d %s", status, body)
	}
	if status, body, _ = f.call(t, "operator", "POST", base+"/execute", map[string]int{"action": 3}); status != 409 || !strings.Contains(string(body), "no action 3") {
		t.Errorf("execute action 3: %d %s", status, body)
	}
	if status, body, _ = f.call(t, "operator", "POST", base+"/execute", map[string]int{"action": 0}); status != 200 {
		t.Fatalf("execute: %d %s", status, body)
	}
	_ = json.Unmarshal(body, &c)
	if c.State != cases.StateActive {
		t.Errorf("state %s after execute", c.State)
	}
	status, body, _ = f.call(t, "auditor", "GET", "/api/v1/cases?state=active&target=198.51.100.7", nil)
	var list caseList
	if err := json.Unmarshal(body, &list); status != 200 || err != nil || list.Total != 1 || len(list.Cases) != 1 {
		t.Errorf("list: %d %s", status, body)
	}
	if status, body, _ = f.call(t, "auditor", "GET", "/api/v1/cases?state=draft", nil); status != 200 || !strings.Contains(string(body), `"cases":[]`) {
		t.Errorf("empty list: %d %s", status, body)
	}
}

func TestCaseRequesterCannotApprove(t *testing.T) {
	f := newCaseFixture(t)
	c := caseIn(t, "c-1", cases.StateRequested, false)
	c.Requester = "u-commissioner"
	f.svc.Put(c)
	status, body, _ := f.call(t, "commissioner", "POST", "/api/v1/cases/c-1/approvals", f.signed(t, c, cases.DecisionApprove, ""))
	if status != http.StatusForbidden || !strings.Contains(string(body), cases.ErrDuties.Error()) {
		t.Errorf("requester approving: %d %s", status, body)
	}
}

func TestCaseMethods(t *testing.T) {
	f := newCaseFixture(t)
	for _, tt := range []struct{ method, path, allow string }{
		{"DELETE", "/api/v1/cases", "GET, POST"},
		{"PUT", "/api/v1/cases/c-1", "GET, PATCH"},
		{"GET", "/api/v1/cases/c-1/approvals", "POST"},
		{"POST", "/api/v1/cases/c-1/payload", "GET"},
	} {
		status, body, hdr := f.call(t, "admin", tt.method, tt.path, nil)
		if status != http.StatusMethodNotAllowed || hdr.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d Allow %q: %s", tt.method, tt.path, status, hdr.Get("Allow"), body)
		}
	}
	// Without a service: 503 for the allowed, 403 for the others.
	srv := httptest.NewServer(New(Deps{Auth: tokenAuth{}}))
	defer srv.Close()
	for role, want := range map[string]int{"auditor": 503, "partner": 403} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/cases", nil)
		req.Header.Set("Authorization", "Bearer tok-"+role)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("no service, %s: %d, want %d", role, resp.StatusCode, want)
		}
	}
}

// FuzzCaseInput feeds arbitrary bodies to the create and amend parsers:
// they answer 400 or succeed, never panic or 500.
func FuzzCaseInput(f *testing.F) {
	seed, _ := json.Marshal(validCreate())
	f.Add(string(seed))
	f.Add(`{"target":"c2.evil.example","suspects":["198.51.100.7"],"legal_basis":"x","actions":[{"type":"sinkhole","target":"c2.evil.example","scope":{"subdomains":true},"not_before":"2026-03-01T12:00:00Z","not_after":"2026-03-01T13:00:00Z"}]}`)
	f.Add(`{"actions":null}`)
	f.Add(`{"urgency":"critical","reason":"r"}`)
	f.Add(`[]`)
	f.Add(`{"actions":[{"scope":{"ports":[{"from":1,"to":2}]}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, method := range []string{"POST", "PATCH"} {
			req := httptest.NewRequest(method, "/", strings.NewReader(body))
			in, err := decodeCaseInput(req)
			if err != nil {
				continue
			}
			var c cases.Case
			_ = in.apply(&c)
		}
	})
}
