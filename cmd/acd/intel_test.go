package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/store"
)

// Collections of jp's TAXII server: one per partner.
const (
	colJPtoUS = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	colJPtoUK = "5a1e2c3d-4b5f-4a6b-8c7d-9e0f1a2b3c4d"
)

// sharingInstance is one acd with sharing on.
type sharingInstance struct {
	name, dir, cfg string
	s              *acdServe
	token          string // an admin token for its API
}

// newSharingInstance writes the configuration of instance name (jp, us)
// and seeds its store with suspects; it does not start it.
func newSharingInstance(t *testing.T, name string, seed []detect.Suspect) *sharingInstance {
	t.Helper()
	dir := t.TempDir()
	screenKey := filepath.Join(dir, "screen.key")
	if code, _, errOut := runCmd(t, nil, "keygen", screenKey); code != 0 {
		t.Fatal(errOut)
	}
	cfg := filepath.Join(dir, "acd.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
http: {listen: 127.0.0.1:0}
collect:
  netflow: {listen: ["127.0.0.1:0"]}
  sflow: {listen: ["127.0.0.1:0"]}
screen: {key: {file: %s}, domestic: {add: [198.18.0.0/15]}}
store: {path: %s}
intel:
  identity: acd %s
  tlp: amber
  min_score: 0.3
  publish_every: 2s
  poll_every: 2s
  taxii:
    listen: 127.0.0.1:0
    title: acd %s
    api_roots:
      - name: acd
        collections:
          - {id: %s, title: %s to us}
          - {id: %s, title: %s to uk}
`, screenKey, filepath.Join(dir, "acd.db"), name, name, colJPtoUS, name, colJPtoUK, name)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, tok, errOut := runCmd(t, nil, "token", "create", "--role", "admin", "-c", cfg, "admin")
	if code != 0 {
		t.Fatal(errOut)
	}
	if len(seed) > 0 {
		scfg := store.DefaultConfig()
		scfg.Path = filepath.Join(dir, "acd.db")
		db, err := store.Open(context.Background(), scfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SaveSuspects(context.Background(), seed); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	return &sharingInstance{name: name, dir: dir, cfg: cfg, token: strings.TrimSpace(tok)}
}

func (in *sharingInstance) start(t *testing.T, bin string) string {
	t.Helper()
	in.s = startServe(t, bin, in.dir, in.cfg)
	return waitLog(t, in.s.logs, regexp.MustCompile(`"msg":"listening"[^\n]*"part":"taxii"[^\n]*"addr":"([^"]+)"`))
}

// api calls in's API with its admin token.
func (in *sharingInstance) api(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+in.s.http+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+in.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// partnerSuspects returns in's suspects with evidence from partner.
func (in *sharingInstance) partnerSuspects(t *testing.T, partner string) map[string][]string {
	t.Helper()
	var got struct {
		Suspects []struct {
			Address string   `json:"address"`
			Roles   []string `json:"roles"`
		} `json:"suspects"`
	}
	if code := in.api(t, http.MethodGet, "/api/v1/suspects?detector=partner:"+partner, "", &got); code != http.StatusOK {
		t.Fatalf("suspects: %d", code)
	}
	out := map[string][]string{}
	for _, s := range got.Suspects {
		out[s.Address] = s.Roles
	}
	return out
}

// taxiiObjects GETs a collection's objects at a TAXII server with key.
func taxiiObjects(t *testing.T, server, collection, key string) (int, []map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+server+"/acd/collections/"+collection+"/objects/", nil)
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Objects []map[string]any `json:"objects"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env.Objects
}

func seedSuspect(addr string, role detect.Role, det, reason string, score float64, at time.Time) detect.Suspect {
	k, _ := detect.ParseKey(addr)
	return detect.Suspect{Key: detect.Key{Addr: k.Addr, Bits: k.Bits}, Roles: []detect.Role{role}, Score: score,
		FirstSeen: at.Add(-time.Hour), LastSeen: at, Updated: at,
		Evidence: []detect.Evidence{{Detector: det, Role: role, Score: score, Reason: reason, First: at.Add(-time.Hour), Last: at, Findings: 1}}}
}

// TestSharingBetweenAllies runs two acd instances on loopback, "jp" and
// "us": jp's detection holds a C2 server, a scanner and (wrongly) a
// domestic host; jp shares with us under an agreement that lets TLP:AMBER
// leave, and with uk under one that lets only TLP:GREEN leave. us polls
// jp's TAXII server and receives the C2 and the scanner as suspects
// (evidence "partner:jp"); nothing reaches uk's collection at AMBER;
// the domestic host never leaves; an agreement letting TLP:RED leave is
// refused; jp revokes the C2 and us lets it go.
func TestSharingBetweenAllies(t *testing.T) {
	bin := buildAcd(t)
	now := time.Now().UTC()
	jp := newSharingInstance(t, "jp", []detect.Suspect{
		seedSuspect("100.65.0.1", detect.RoleC2, "beacon", "3 internal clients beacon every 3s to 100.65.0.1:443 (e.g. 198.18.0.5)", 0.8, now),
		seedSuspect("100.66.0.9", detect.RoleScanner, "scan", "horizontal scan of 1024 hosts on 22/tcp", 0.9, now),
		seedSuspect("198.18.0.77", detect.RoleScanner, "scan", "an internal host scanning", 0.9, now),
	})
	us := newSharingInstance(t, "us", nil)

	agreement := func(dir, name, body string) string {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// jp's partners: us may read jp-to-us up to AMBER; uk jp-to-uk up to GREEN.
	code, usKey, errOut := runCmd(t, nil, "partner", "add", "us", "-c", jp.cfg, "--agreement", agreement(jp.dir, "us",
		"outgoing: {collections: ["+colJPtoUS+"], max_tlp: amber, domestic: true, "+
			"types: [identity, marking-definition, indicator, infrastructure, relationship, report, attack-pattern, note]}\n"))
	if code != 0 {
		t.Fatalf("partner add us: %s", errOut)
	}
	code, ukKey, errOut := runCmd(t, nil, "partner", "add", "uk", "-c", jp.cfg, "--agreement", agreement(jp.dir, "uk",
		"outgoing: {collections: ["+colJPtoUK+"], max_tlp: green, domestic: true}\n"))
	if code != 0 {
		t.Fatalf("partner add uk: %s", errOut)
	}
	if code, _, errOut := runCmd(t, nil, "partner", "add", "fr", "-c", jp.cfg, "--agreement", agreement(jp.dir, "fr",
		"outgoing: {collections: ["+colJPtoUK+"], max_tlp: red}\n")); code == 0 || !strings.Contains(strings.ToLower(errOut), "red") {
		t.Errorf("an agreement letting TLP:RED leave: exit %d: %s", code, errOut)
	}
	jpTAXII := jp.start(t, bin)

	// us polls jp's jp-to-us collection with the key jp gave it.
	keyFile := filepath.Join(us.dir, "jp.key")
	if err := os.WriteFile(keyFile, []byte(usKey), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd(t, nil, "partner", "add", "jp", "-c", us.cfg, "--url", "http://"+jpTAXII+"/", "--api-root", "acd",
		"--remote-key-file", keyFile, "--agreement", agreement(us.dir, "jp",
			"incoming: {collections: ["+colJPtoUS+"], trust: 80}\n")); code != 0 {
		t.Fatalf("partner add jp at us: %s", errOut)
	}
	us.start(t, bin)

	waitUntil(t, 60*time.Second, "us to hold jp's C2 and scanner", func() bool {
		got := us.partnerSuspects(t, "jp")
		return len(got["100.65.0.1"]) > 0 && len(got["100.66.0.9"]) > 0
	}, func() string {
		return lastLines(jp.s.logs.String(), 30) + "\n---\n" + lastLines(us.s.logs.String(), 30)
	})
	got := us.partnerSuspects(t, "jp")
	if got["100.65.0.1"][0] != "c2" {
		t.Errorf("the C2's role at us: %v", got["100.65.0.1"])
	}
	if _, leaked := got["198.18.0.77"]; leaked {
		t.Error("a domestic host left jp")
	}
	// uk reads its collection: nothing at AMBER reaches it.
	code, objs := taxiiObjects(t, jpTAXII, colJPtoUK, strings.TrimSpace(ukKey))
	if code != http.StatusOK {
		t.Fatalf("uk reading its collection: %d", code)
	}
	for _, o := range objs {
		if o["type"] == "indicator" || o["type"] == "infrastructure" {
			t.Errorf("an AMBER %s reached uk: %v", o["type"], o["id"])
		}
	}
	// uk may not read us's collection; an unknown key nothing.
	if code, _ := taxiiObjects(t, jpTAXII, colJPtoUS, strings.TrimSpace(ukKey)); code != http.StatusNotFound && code != http.StatusForbidden {
		t.Errorf("uk reading jp-to-us: %d", code)
	}
	if code, _ := taxiiObjects(t, jpTAXII, colJPtoUS, "not-a-key"); code != http.StatusUnauthorized {
		t.Errorf("a wrong key: %d", code)
	}
	// Everything in us's collection is marked and carries no domestic address.
	_, objs = taxiiObjects(t, jpTAXII, colJPtoUS, strings.TrimSpace(usKey))
	for _, o := range objs {
		b, _ := json.Marshal(o)
		if strings.Contains(string(b), "198.18.") {
			t.Errorf("a domestic address left jp in %s", b)
		}
	}

	// An operator's incident report at jp is shared as STIX too.
	code, opTok, errOut := runCmd(t, nil, "token", "create", "--role", "reporting-operator", "-c", jp.cfg, "op-power")
	if code != 0 {
		t.Fatal(errOut)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+jp.s.http+"/api/v1/incidents", strings.NewReader(`{"organization":"Tokyo Example Power Co.",
		"type":"ddos","title":"Portal flooded","start":"2026-11-26T09:00:00Z","detected":"2026-11-26T09:04:00Z",
		"vectors":["ntp-reflection"],"indicators":["203.0.113.5","198.18.0.9"],"tlp":"amber"}`))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(opTok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("filing an incident report at jp: %v %v", err, resp)
	}
	var filed struct {
		Ack struct {
			ID string `json:"id"`
		} `json:"ack"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&filed)
	resp.Body.Close()
	// Not released by an analyst: it does not leave, even after a publish.
	if code := jp.api(t, http.MethodPost, "/api/v1/partners/us/sync", "", nil); code != http.StatusOK {
		t.Fatalf("sync us at jp: %d", code)
	}
	_, objs = taxiiObjects(t, jpTAXII, colJPtoUS, strings.TrimSpace(usKey))
	for _, o := range objs {
		if o["type"] == "report" {
			t.Fatal("an incident report left before an analyst released it")
		}
	}
	if code := jp.api(t, http.MethodPost, "/api/v1/incidents/"+filed.Ack.ID+"/share", "", nil); code != http.StatusOK {
		t.Fatalf("releasing the report: %d", code)
	}
	waitUntil(t, 30*time.Second, "the incident report in us's collection", func() bool {
		_, objs := taxiiObjects(t, jpTAXII, colJPtoUS, strings.TrimSpace(usKey))
		for _, o := range objs {
			if o["type"] == "report" {
				b, _ := json.Marshal(o)
				if strings.Contains(string(b), "198.18.0.9") {
					t.Fatalf("the report's domestic indicator left jp: %s", b)
				}
				return true
			}
		}
		return false
	}, func() string { return lastLines(jp.s.logs.String(), 30) })

	// jp revokes what it shared about the C2: us lets it go.
	var rev struct {
		Revoked int `json:"revoked"`
	}
	if code := jp.api(t, http.MethodPost, "/api/v1/intel/revoke", `{"target":"100.65.0.1","reason":"the server was a research sinkhole"}`, &rev); code != http.StatusOK || rev.Revoked == 0 {
		t.Fatalf("revoke at jp: %d, %d revoked", code, rev.Revoked)
	}
	waitUntil(t, 60*time.Second, "us to drop the revoked C2", func() bool {
		_, still := us.partnerSuspects(t, "jp")["100.65.0.1"]
		return !still
	}, func() string { return lastLines(us.s.logs.String(), 30) })
	if _, kept := us.partnerSuspects(t, "jp")["100.66.0.9"]; !kept {
		t.Error("the scanner went with the C2's revocation")
	}

	// Removing a partner while jp runs: its key is refused at once, and
	// the exchange is rebuilt without it within seconds.
	if code, _, errOut := runCmd(t, nil, "partner", "remove", "uk", "-c", jp.cfg); code != 0 {
		t.Fatalf("partner remove uk: %s", errOut)
	}
	if code, _ := taxiiObjects(t, jpTAXII, colJPtoUK, strings.TrimSpace(ukKey)); code != http.StatusUnauthorized {
		t.Errorf("a removed partner's key: %d", code)
	}
	waitLog(t, jp.s.logs, regexp.MustCompile(`"msg":"sharing ready"[^\n]*"partners":(1),`))
}

// TestCaseOutcomeShared: a block executed on an approved case is shared
// as a course-of-action that mitigates the target's indicator.
func TestCaseOutcomeShared(t *testing.T) {
	f := newCaseFixtureWith(t, `enforce: {record_only: true}
intel:
  identity: acd jp
  tlp: green
  publish_every: 1s
  taxii:
    listen: 127.0.0.1:0
    api_roots: [{name: acd, collections: [{id: `+colJPtoUS+`, title: jp to us}]}]
`, "")
	agreement := filepath.Join(f.dir, "us.yaml")
	if err := os.WriteFile(agreement, []byte("outgoing: {collections: ["+colJPtoUS+"], max_tlp: green, domestic: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, key, errOut := runCmd(t, nil, "partner", "add", "us", "-c", f.cfg, "--agreement", agreement)
	if code != 0 {
		t.Fatal(errOut)
	}
	s := startServe(t, f.bin, f.dir, f.cfg)
	taxiiAddr := waitLog(t, s.logs, regexp.MustCompile(`"msg":"listening"[^\n]*"part":"taxii"[^\n]*"addr":"([^"]+)"`))
	server := "http://" + s.http
	as := func(user string, args ...string) string {
		t.Helper()
		code, out, errOut := f.as(t, server, user, args...)
		if code != 0 {
			t.Fatalf("%s %v: %s %s", user, args, out, errOut)
		}
		return out
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(as("ana", "create", "--target", "100.64.0.7", "--suspect", "100.64.0.7", "--legal-basis", "ACD Act art. 12(1)",
		"--action", "block=100.64.0.7", "--for", "1h", "--json")), &created); err != nil {
		t.Fatal(err)
	}
	as("ana", "request", created.ID)
	as("c1", "approve", created.ID, "--key", f.keys["c1"])
	as("c2", "approve", created.ID, "--key", f.keys["c2"])
	as("op1", "execute", created.ID, "--action", "0")
	waitUntil(t, 30*time.Second, "the course of action in us's collection", func() bool {
		_, objs := taxiiObjects(t, taxiiAddr, colJPtoUS, strings.TrimSpace(key))
		for _, o := range objs {
			if o["type"] == "course-of-action" && strings.Contains(fmt.Sprint(o["name"]), "100.64.0.7") {
				return true
			}
		}
		return false
	}, func() string { return lastLines(s.logs.String(), 30) })
}
