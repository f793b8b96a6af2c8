package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/casestest"
	"github.com/acd-org/acd/console/api"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/store"
)

// caseUsers logs in ann (analyst), carol and dora (commissioners),
// oscar (operator), each with the password "pw-NAME", and the token
// "tok-auditor".
type caseUsers struct{}

var caseRoles = map[string]store.Role{"ann": store.RoleAnalyst, "carol": store.RoleCommissioner,
	"dora": store.RoleCommissioner, "oscar": store.RoleOperator}

func (caseUsers) AuthenticateUser(_ context.Context, name, password string) (store.Principal, error) {
	if r, ok := caseRoles[name]; ok && password == "pw-"+name {
		return store.Principal{Name: name, Roles: []string{string(r)}, Kind: "user"}, nil
	}
	return store.Principal{}, store.ErrUnauthenticated
}

func (caseUsers) Authenticate(_ context.Context, secret string) (store.Principal, error) {
	if secret == "tok-auditor" {
		return store.Principal{Name: "audit-bot", Roles: []string{string(store.RoleAuditor)}, Kind: "token"}, nil
	}
	return store.Principal{}, store.ErrUnauthenticated
}

// caseServer is the API with the fake cases service, over loopback.
func caseServer(t *testing.T) (*httptest.Server, *casestest.Fake) {
	t.Helper()
	book := detect.NewBook(10, nil)
	k, err := detect.ParseKey("198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	book.Add(detect.Finding{Addr: k.Addr, Bits: k.Bits, Role: detect.RoleC2,
		Evidence: detect.Evidence{Detector: "beacon", Score: 0.9, Reason: "test", First: now.Add(-time.Hour), Last: now}})
	svc := casestest.New()
	srv := httptest.NewServer(api.New(api.Deps{Book: book, Auth: caseUsers{}, Users: caseUsers{}, Cases: svc}))
	t.Cleanup(srv.Close)
	return srv, svc
}

// keygen makes a signing key with acd user keygen and registers its
// public half with the fake under the id acd user key add gives it.
func keygen(t *testing.T, svc *casestest.Fake) (string, ed25519.PublicKey) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "signing.key")
	code, out, errOut := runCmd(t, nil, "user", "keygen", "--out", path)
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	pub := ed25519.PublicKey(raw)
	svc.AddKey(store.KeyID(pub), pub)
	return path, pub
}

// as returns the environment of a user with the password in ACD_PASSWORD.
func as(srv *httptest.Server, name string) []string {
	return []string{"ACD_SERVER=" + srv.URL, "ACD_PASSWORD=pw-" + name}
}

// TestCaseCLIFlow takes a case from creation to execution and revocation
// through the CLI, the API handler and the fake service, and checks the
// approval signed on the CLI verifies against the payload the server
// holds.
func TestCaseCLIFlow(t *testing.T) {
	srv, svc := caseServer(t)
	keyFile, pub := keygen(t, svc)

	code, out, errOut := runCmd(t, as(srv, "ann"), "case", "create", "--user", "ann",
		"--target", "198.51.100.7", "--suspect", "198.51.100.7", "--legal-basis", "ACD Act art. 12(1)",
		"--urgency", "high", "--action", "block=198.51.100.7;protocol=tcp;ports=22", "--for", "12h")
	if code != 0 || !strings.HasPrefix(out, "case c-1 created") {
		t.Fatalf("create: %d %q %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, as(srv, "ann"), "case", "show", "c-1", "--user", "ann")
	if code != 0 || !strings.Contains(out, "[0] block 198.51.100.7") || !strings.Contains(out, "(12h0m0s)") || !strings.Contains(out, `"protocol":6`) {
		t.Fatalf("show: %d %s %s", code, out, errOut)
	}
	if code, out, errOut = runCmd(t, as(srv, "ann"), "case", "request", "c-1", "--user", "ann"); code != 0 || !strings.Contains(out, "now requested") {
		t.Fatalf("request: %d %s %s", code, out, errOut)
	}
	// The analyst cannot approve (role), and a dry run sends nothing.
	if code, _, errOut = runCmd(t, as(srv, "ann"), "case", "approve", "c-1", "--user", "ann", "--key", keyFile); code != 1 || !strings.Contains(errOut, "forbidden (403)") {
		t.Errorf("analyst approving: %d %s", code, errOut)
	}
	code, _, errOut = runCmd(t, as(srv, "carol"), "case", "approve", "c-1", "--user", "carol", "--key", keyFile, "--dry-run")
	if code != 0 || !strings.Contains(errOut, "APPROVE case c-1, version 1") || len(svc.Approvals("c-1")) != 0 {
		t.Fatalf("dry run: %d %s", code, errOut)
	}
	// The password from stdin; the summary shows what is signed.
	code, out, errOut = runCmdIn(t, []string{"ACD_SERVER=" + srv.URL}, "pw-carol\n", "case", "approve", "c-1", "--user", "carol", "--key", keyFile)
	if code != 0 || !strings.Contains(out, "now approved") {
		t.Fatalf("approve: %d %s %s", code, out, errOut)
	}
	for _, want := range []string{"target        198.51.100.7", "[0] block 198.51.100.7", `scope   {"ports":[{"from":22,"to":22}],"protocol":6}`, "(12h0m0s)", "as carol with key " + store.KeyID(pub)} {
		if !strings.Contains(errOut, want) {
			t.Errorf("summary lacks %q:\n%s", want, errOut)
		}
	}
	rec, err := svc.Case(context.Background(), "c-1")
	if err != nil || len(rec.Approvals) != 1 {
		t.Fatalf("record: %v %+v", err, rec.Approvals)
	}
	if err := cases.Verify(rec.Payload, rec.Approvals[0], pub); err != nil {
		t.Errorf("the CLI's approval does not verify: %v", err)
	}
	other := rec.Approvals[0]
	other.Decision = cases.DecisionReject
	other.Reason = "changed"
	if err := cases.Verify(rec.Payload, other, pub); err == nil {
		t.Error("an altered approval verifies")
	}
	code, out, errOut = runCmd(t, as(srv, "oscar"), "case", "execute", "c-1", "--action", "0", "--user", "oscar", "--json")
	var c cases.Case
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.State != cases.StateActive {
		t.Fatalf("execute: %d %s %s", code, out, errOut)
	}
	// A token reads.
	code, out, errOut = runCmd(t, []string{"ACD_SERVER=" + srv.URL, "ACD_TOKEN=tok-auditor"}, "case", "list", "--json", "--state", "active")
	var list struct{ Total int }
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || list.Total != 1 {
		t.Fatalf("list: %d %s %s", code, out, errOut)
	}
	if code, out, errOut = runCmd(t, []string{"ACD_SERVER=" + srv.URL, "ACD_TOKEN=tok-auditor"}, "case", "list"); code != 0 || !strings.Contains(out, "c-1") || !strings.Contains(out, "block") {
		t.Errorf("list table: %d %s %s", code, out, errOut)
	}
	// The gate's refusals come back with their reason; exit 1.
	if code, _, errOut = runCmd(t, as(srv, "oscar"), "case", "execute", "c-1", "--action", "5", "--user", "oscar"); code != 1 || !strings.Contains(errOut, "refused (409)") || !strings.Contains(errOut, cases.ErrScope.Error()) {
		t.Errorf("execute action 5: %d %s", code, errOut)
	}
	if code, out, errOut = runCmd(t, as(srv, "carol"), "case", "revoke", "c-1", "--reason", "attack over", "--user", "carol"); code != 0 || !strings.Contains(out, "now revoked") {
		t.Errorf("revoke: %d %s %s", code, out, errOut)
	}
}

// TestCaseCLIReject checks a rejection: its reason is signed, and the
// requester cannot decide on their own case.
func TestCaseCLIReject(t *testing.T) {
	srv, svc := caseServer(t)
	keyFile, pub := keygen(t, svc)
	c := cases.New("c-9", "dora", time.Now().UTC())
	c.Target, c.Suspects, c.EvidenceHash, c.LegalBasis = cases.MustTarget("198.51.100.7"), []string{"198.51.100.7"}, strings.Repeat("0f", 32), "x"
	c.Actions = []cases.Action{{Type: cases.ActionAbuseReport, Target: cases.MustTarget("198.51.100.7"), NotBefore: c.Created, NotAfter: c.Created.Add(time.Hour)}}
	if err := c.Apply(cases.Change{Event: cases.EventRequest, By: "dora", At: c.Created}); err != nil {
		t.Fatal(err)
	}
	svc.Put(c)
	if code, _, errOut := runCmd(t, as(srv, "dora"), "case", "reject", "c-9", "--user", "dora", "--key", keyFile, "--reason", "mine"); code != 1 || !strings.Contains(errOut, "forbidden (403)") || !strings.Contains(errOut, cases.ErrDuties.Error()) {
		t.Errorf("requester deciding: %d %s", code, errOut)
	}
	code, out, errOut := runCmd(t, as(srv, "carol"), "case", "reject", "c-9", "--user", "carol", "--key", keyFile, "--reason", "evidence too thin")
	if code != 0 || !strings.Contains(out, "now rejected") || !strings.Contains(errOut, "reason        evidence too thin") {
		t.Fatalf("reject: %d %s %s", code, out, errOut)
	}
	rec, _ := svc.Case(context.Background(), "c-9")
	if a := rec.Approvals[0]; a.Reason != "evidence too thin" || cases.Verify(rec.Payload, a, pub) != nil {
		t.Errorf("rejection %+v does not verify", a)
	}
}

func TestCaseCLIUsage(t *testing.T) {
	srv, svc := caseServer(t)
	keyFile, _ := keygen(t, svc)
	env := as(srv, "carol")
	tests := []struct {
		name    string
		environ []string
		args    []string
		code    int
		errSub  string
	}{
		{"no sub", env, []string{"case"}, 2, "expected create"},
		{"unknown sub", env, []string{"case", "approv"}, 2, "unknown subcommand"},
		{"no credentials", []string{"ACD_SERVER=" + srv.URL}, []string{"case", "list"}, 2, "no credentials"},
		{"remote http", []string{"ACD_TOKEN=x"}, []string{"case", "list", "--server", "http://acd.example:8080"}, 2, "clear text"},
		{"bad server", []string{"ACD_TOKEN=x"}, []string{"case", "list", "--server", "ftp://x"}, 2, "--server"},
		{"wrong password", []string{"ACD_SERVER=" + srv.URL, "ACD_PASSWORD=nope"}, []string{"case", "list", "--user", "carol"}, 1, "not logged in (401)"},
		{"no id", env, []string{"case", "show", "--user", "carol"}, 2, "one case ID"},
		{"unknown case", env, []string{"case", "show", "c-404", "--user", "carol"}, 1, "not found (404)"},
		{"withdraw reason", env, []string{"case", "withdraw", "c-1", "--user", "carol"}, 2, "--reason is required"},
		{"reject reason", env, []string{"case", "reject", "c-1", "--user", "carol", "--key", keyFile}, 2, "--reason is required"},
		{"no key", env, []string{"case", "approve", "c-1", "--user", "carol"}, 2, "--key FILE"},
		{"not a key", env, []string{"case", "approve", "c-1", "--user", "carol", "--key", "case_test.go"}, 1, "PRIVATE KEY"},
		{"as another", env, []string{"case", "approve", "c-1", "--user", "carol", "--as", "dora", "--key", keyFile}, 2, "own name"},
		{"token no signer", []string{"ACD_SERVER=" + srv.URL, "ACD_TOKEN=tok-auditor"}, []string{"case", "approve", "c-1", "--key", keyFile}, 2, "who signs"},
		{"execute index", env, []string{"case", "execute", "c-1", "--user", "carol"}, 2, "--action N"},
		{"emergency reason", env, []string{"case", "emergency", "c-1", "--action", "0", "--user", "carol"}, 2, "--reason"},
		{"create target", env, []string{"case", "create", "--user", "carol"}, 2, "--target"},
		{"create spec", env, []string{"case", "create", "--user", "carol", "--target", "198.51.100.7", "--suspect", "198.51.100.7",
			"--legal-basis", "x", "--action", "block=198.51.100.7;ports=0"}, 2, "--action #1"},
		{"create file and flags", env, []string{"case", "create", "--file", "x.json", "--target", "198.51.100.7"}, 2, "--file gives"},
		{"bad state", env, []string{"case", "list", "--state", "asleep", "--user", "carol"}, 2, "--state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tt.environ, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.errSub) {
				t.Errorf("exit %d, want %d; stderr %q lacks %q", code, tt.code, errOut, tt.errSub)
			}
		})
	}
	// --help: examples and exit codes, exit 0.
	for _, sub := range []string{"", "create", "approve", "execute"} {
		args := []string{"case", "--help"}
		if sub != "" {
			args = []string{"case", sub, "--help"}
		}
		code, _, errOut := runCmd(t, nil, args...)
		if code != 0 || !strings.Contains(errOut, "Example") {
			t.Errorf("%v: %d %s", args, code, errOut)
		}
	}
	if _, _, errOut := runCmd(t, nil, "case", "--help"); !strings.Contains(errOut, "Exit status") {
		t.Errorf("case --help lacks the exit status: %s", errOut)
	}
}

func TestCheckPayload(t *testing.T) {
	c := cases.New("c-1", "ann", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	c.Target = cases.MustTarget("198.51.100.7")
	good, err := cases.Payload(c)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		id      string
		payload string
		errSub  string
	}{
		{"good", "c-1", string(good), ""},
		{"other case", "c-2", string(good), "not case c-2"},
		{"not canonical", "c-1", " " + string(good), "not canonical"},
		{"reordered", "c-1", strings.Replace(string(good), `{"actions":[],`, `{`, 1)[:len(good)-len(`"actions":[],`)-1] + `,"actions":[]}`, "not canonical"},
		{"unknown field", "c-1", strings.Replace(string(good), `"version":1`, `"version":1,"zz":1`, 1), "not a case payload"},
		{"not json", "c-1", "{", "not canonical"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := checkPayload(tt.id, []byte(tt.payload))
			if tt.errSub == "" {
				if err != nil || v.Version != 1 || v.Target != "198.51.100.7" {
					t.Errorf("%+v, %v", v, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errSub) {
				t.Errorf("error %v, want %q", err, tt.errSub)
			}
		})
	}
}

func TestParseActionSpec(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		spec   string
		want   string // the action's JSON
		errSub string
	}{
		{"block=198.51.100.7", `{"type":"block","target":"198.51.100.7","scope":{},"not_before":"2026-03-01T12:00:00Z","not_after":"2026-03-02T12:00:00Z"}`, ""},
		{"flowspec=198.51.100.0/24;protocol=udp;ports=53,123-124;rate_bps=1000;destination=203.0.113.0/25;for=2h",
			`{"type":"flowspec","target":"198.51.100.0/24","scope":{"destination":"203.0.113.0/25","protocol":17,"ports":[{"from":53,"to":53},{"from":123,"to":124}],"rate_bps":1000},"not_before":"2026-03-01T12:00:00Z","not_after":"2026-03-01T14:00:00Z"}`, ""},
		{"sinkhole=C2.Evil.Example.;subdomains;param.zone=rpz;from=2026-03-02T00:00:00Z",
			`{"type":"sinkhole","target":"c2.evil.example","scope":{"subdomains":true},"not_before":"2026-03-02T00:00:00Z","not_after":"2026-03-03T00:00:00Z","params":{"zone":"rpz"}}`, ""},
		{"police-request=198.51.100.7;recipient=npa-cyber;protocol=47", `{"type":"police-request","target":"198.51.100.7","scope":{"protocol":47,"recipient":"npa-cyber"},"not_before":"2026-03-01T12:00:00Z","not_after":"2026-03-02T12:00:00Z"}`, ""},
		{"block", "", "TYPE=TARGET"},
		{"hack=198.51.100.7", "", "unknown action type"},
		{"block=1.2.3", "", "neither"},
		{"block=198.51.100.7;ports=70000", "", "ports"},
		{"block=198.51.100.7;ports=90-80", "", "ports"},
		{"block=198.51.100.7;protocol=gre", "", "protocol"},
		{"block=198.51.100.7;for=-1h", "", "for"},
		{"block=198.51.100.7;colour=red", "", "unknown setting"},
		{"block=198.51.100.7;recipient", "", "needs a value"},
		{"block=198.51.100.7;subdomains=maybe", "", "subdomains"},
		{"block=198.51.100.7;from=today", "", "RFC 3339"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			a, err := parseActionSpec(tt.spec, start, 24*time.Hour)
			if tt.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSub) {
					t.Errorf("error %v, want %q", err, tt.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(a)
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// FuzzActionSpec: any spec parses into an action with a window, or is
// refused; never a panic.
func FuzzActionSpec(f *testing.F) {
	for _, s := range []string{"block=198.51.100.7", "flowspec=198.51.100.0/24;protocol=udp;ports=53,1-2;rate_bps=9;for=1h",
		"sinkhole=a.example;subdomains=true;param.x=y", "block=;", "=;=", "rtbh=203.0.113.9;from=2026-03-01T00:00:00Z"} {
		f.Add(s)
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		a, err := parseActionSpec(spec, start, time.Hour)
		if err == nil && (!a.NotAfter.After(a.NotBefore) || a.Target.IsZero()) {
			t.Errorf("%q: an action without a window or target: %+v", spec, a)
		}
	})
}
