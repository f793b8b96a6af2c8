package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acd-org/acd/peertest"
)

// TestEnforcementLoop is the whole loop on real peers, through the acd
// binary: generated flows with a C2 beacon stream live into acd serve →
// detection names the C2 server → an analyst opens a case (block and
// FlowSpec) → two of three commissioners approve with their own keys →
// an operator executes → the real crowdsec-firewall-bouncer (in a
// namespace) holds the address in its nftables set and a real BIRD 2
// holds the FlowSpec rule → the beacon stops → the verify stage judges
// the case effective → the windows end → the bouncer's set and BIRD's
// table no longer hold them. The audit log verifies at the end.
//
// It takes about six minutes: the verify stage needs a whole minute of
// traffic before the execution and one after (verify.window: 1m, its
// minimum), and the action's window must outlast both.
func TestEnforcementLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("the full enforcement loop takes minutes")
	}
	t.Parallel()
	ns := peertest.NewNetNS(t)
	peertest.Require(t, "crowdsec-firewall-bouncer", "nft", "bird", "birdc")
	bird := peertest.StartBIRD(t, 65000, 65001)

	f := newCaseFixtureWith(t, fmt.Sprintf(`detect:
  lateness: 2s
  idle_advance: 2s
  beacon: {min_span: 20s, min_connections: 8, min_interval: 1s}
enforce:
  timers_every: 2s
  reconcile_every: 5s
  crowdsec: {listen: 127.0.0.1:0, pull_interval: 1s}
  bgp:
    enabled: true
    asn: 65001
    router_id: 10.255.0.1
    connect_retry: 1s
    hold_time: 9s
    neighbors: [{address: 127.0.0.1, port: %d, asn: 65000, families: [flowspec4, unicast4]}]
verify: {window: 1m, grace: 5s, lateness: 5s, interval: 2s}
`, bird.Port), ", domestic: {add: [198.18.0.0/15, \"2001:db8:100::/48\"]}")
	code, key, errOut := runCmd(t, nil, "bouncer", "add", "fw1", "-c", f.cfg)
	if code != 0 {
		t.Fatalf("bouncer add: %s", errOut)
	}
	s := startServe(t, f.bin, f.dir, f.cfg)
	server := "http://" + s.http
	lapi := waitLog(t, s.logs, regexp.MustCompile(`"msg":"listening"[^\n]*"adapter":"crowdsec"[^\n]*"addr":"([^"]+)"`))
	inside := ns.Forward(t, "127.0.0.1:0", lapi)
	bouncer := peertest.StartBouncer(t, ns, "http://"+inside+"/", strings.TrimSpace(key))
	bird.WaitFor("acd's BGP session", bird.Established)

	// Traffic: a quiet background, and three infected hosts beaconing to
	// a C2 server every 3 s ±10 %, both live over IPFIX.
	collector := s.netflowAddr(t)
	background := writeScenario(t, f.dir, "background", `background: {clients: 20, servers: 50, flows_per_second: 5, ntp_clients: -1, telemetry_clients: -1, update_clients: -1}`)
	beacon := writeScenario(t, f.dir, "beacon", `background: {flows_per_second: -1, ntp_clients: -1, telemetry_clients: -1, update_clients: -1}
attacks: [{kind: beacon, sources: 3, interval: 3s, jitter: 0.1, port: 443}]`)
	startFlowgen(t, f.bin, background, collector)
	beaconGen := startFlowgen(t, f.bin, beacon, collector)

	// Detection names the C2 server.
	var c2 string
	waitUntil(t, 3*time.Minute, "a c2 suspect", func() bool {
		var got struct {
			Suspects []struct {
				Address string `json:"address"`
			} `json:"suspects"`
		}
		apiGet(t, server, "ana", f.pw["ana"], "/api/v1/suspects?role=c2", &got)
		if len(got.Suspects) > 0 {
			c2 = got.Suspects[0].Address
		}
		return c2 != ""
	}, s.logs.String)
	t.Logf("detection named the C2 server %s", c2)

	as := func(user string, want int, args ...string) string {
		t.Helper()
		code, out, errOut := f.as(t, server, user, args...)
		if code != want {
			t.Fatalf("%s %v: exit %d, want %d: %s %s", user, args, code, want, out, errOut)
		}
		return out
	}
	// The case's windows outlast the verification: a minute of traffic
	// before the execution (counted from the next whole minute), grace,
	// a minute after, and the lateness.
	out := as("ana", 0, "create", "--target", c2, "--suspect", c2, "--legal-basis", "ACD Act art. 12(1)",
		"--action", "block="+c2, "--action", "flowspec="+c2, "--for", "5m30s", "--json")
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("create output %q: %v", out, err)
	}
	id := created.ID
	as("ana", 0, "request", id)
	opened := time.Now()
	// The verifier counts the target from the next whole minute; the
	// execution must come a whole minute after that.
	ready := opened.Truncate(time.Minute).Add(2*time.Minute + 3*time.Second)
	as("c1", 0, "approve", id, "--key", f.keys["c1"])
	as("c2", 0, "approve", id, "--key", f.keys["c2"])
	time.Sleep(time.Until(ready))

	as("op1", 0, "execute", id, "--action", "0")
	as("op1", 0, "execute", id, "--action", "1")
	inSet := waitUntil(t, 30*time.Second, "the C2 address in the bouncer's set", func() bool {
		b, err := bouncer.Banned()
		_, ok := b[c2]
		return err == nil && ok
	}, bouncer.Log)
	flowRoute := func() string { return bird.Table("flowtab4") }
	inBIRD := waitUntil(t, 30*time.Second, "the FlowSpec rule in BIRD", func() bool {
		return strings.Contains(flowRoute(), "flow4 { src "+c2+"/32; }")
	}, func() string { return flowRoute() + bird.Log() })
	t.Logf("execution → bouncer set %v (pulls every 1 s), → BIRD flowtab4 %v", inSet, inBIRD)
	// traffic-rate-bytes (0x8006) from AS 65001 (0xfde9), rate 0.0: drop.
	if r := flowRoute(); !strings.Contains(r, "(generic, 0x8006fde9, 0x0)") {
		t.Errorf("the FlowSpec rule lacks the traffic-rate 0 (drop) extended community:\n%s", r)
	}

	// The attack stops (the blocks hold): no more beacons.
	beaconGen.stop()
	stopped := time.Now()
	waitUntil(t, 4*time.Minute, "the case to be judged effective", func() bool {
		state, verdicts := caseVerdicts(t, f, server, id)
		for _, v := range verdicts {
			if v.Verdict != "effective" {
				t.Fatalf("action %d judged %s: %s\n%s", v.Action, v.Verdict, v.Reason, lastLines(s.logs.String(), 40))
			}
		}
		return state == "effective"
	}, s.logs.String)
	t.Logf("verdict effective %v after the beacon stopped (window 1m, grace 5s)", time.Since(stopped).Round(time.Second))

	// The windows end: acd withdraws both, and the peers let go.
	end := opened.Add(5*time.Minute + 30*time.Second)
	waitUntil(t, time.Until(end)+time.Minute, "the case to expire", func() bool {
		return caseState(t, f, server, id) == "expired"
	}, s.logs.String)
	waitUntil(t, 30*time.Second, "the C2 address to leave the bouncer's set", func() bool {
		b, err := bouncer.Banned()
		_, ok := b[c2]
		return err == nil && !ok
	}, bouncer.Log)
	waitUntil(t, 30*time.Second, "the FlowSpec rule to leave BIRD", func() bool {
		return !strings.Contains(flowRoute(), c2)
	}, func() string { return flowRoute() + bird.Log() })

	// What happened is on record, and the chain verifies offline.
	var entries []struct {
		Action string          `json:"action"`
		Data   json.RawMessage `json:"data"`
	}
	apiGetEntries(t, server, "aud", f.pw["aud"], "/api/v1/audit?object=case:"+id+"&limit=1000", &entries)
	var seen []string
	for _, e := range entries {
		seen = append(seen, e.Action)
		if e.Action == "case.verify" && !strings.Contains(string(e.Data), `"verdict":"effective"`) {
			t.Errorf("case.verify entry: %s", e.Data)
		}
	}
	for _, want := range []string{"case.approve", "case.execute", "case.verify", "case.expire"} {
		if !strings.Contains(strings.Join(seen, " "), want) {
			t.Errorf("the audit log of the case lacks %s: %v", want, seen)
		}
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	if code, out, errOut := runCmd(t, nil, "audit", "verify", "-c", f.cfg, "--strict"); code != 0 {
		t.Fatalf("audit verify: exit %d: %s %s", code, out, errOut)
	}
}

// writeScenario writes a live scenario file (20 minutes) and returns its
// path.
func writeScenario(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(p, []byte("name: "+name+"\nduration: 20m\n"+body+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// flowgenProc is an acd flowgen streaming a scenario live.
type flowgenProc struct {
	cmd *exec.Cmd
}

func startFlowgen(t *testing.T, bin, scenario, to string) *flowgenProc {
	t.Helper()
	p := &flowgenProc{cmd: exec.Command(bin, "flowgen", "--scenario", scenario, "--format", "ipfix", "--to", to, "--quiet")}
	out := &peertest.SyncBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

func (p *flowgenProc) stop() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// waitUntil polls cond every 250 ms until it holds (returning how long
// that took) or within fails the test with diag's text.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool, diag func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v\n%s", what, within, lastLines(diag(), 60))
		}
		time.Sleep(250 * time.Millisecond)
	}
	return time.Since(start)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// apiGet GETs path as user (HTTP Basic) and decodes the JSON answer.
func apiGet(t *testing.T, server, user, pw, path string, v any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, server+path, nil)
	req.SetBasicAuth(user, pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s as %s: status %d", path, user, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// apiGetEntries reads GET /api/v1/audit's entries.
func apiGetEntries(t *testing.T, server, user, pw, path string, v any) {
	t.Helper()
	var page struct {
		Entries json.RawMessage `json:"entries"`
	}
	apiGet(t, server, user, pw, path, &page)
	if err := json.Unmarshal(page.Entries, v); err != nil {
		t.Fatalf("audit entries: %v", err)
	}
}

// caseState returns the state of case id as the analyst sees it.
func caseState(t *testing.T, f *caseFixture, server, id string) string {
	t.Helper()
	state, _ := caseVerdicts(t, f, server, id)
	return state
}

// verdict is the verify stage's finding on one action, as the API shows it.
type verdict struct {
	Action  int    `json:"action"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
}

// caseVerdicts returns the state of case id and its verdicts.
func caseVerdicts(t *testing.T, f *caseFixture, server, id string) (string, []verdict) {
	t.Helper()
	var rec struct {
		Case struct {
			State    string    `json:"state"`
			Verdicts []verdict `json:"verdicts"`
		} `json:"case"`
	}
	apiGet(t, server, "ana", f.pw["ana"], "/api/v1/cases/"+id, &rec)
	return rec.Case.State, rec.Case.Verdicts
}
