package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen"
	"github.com/acd-org/acd/flowgen/scenario"
)

// TestServeSuspectsLive runs the acd binary, streams a scan scenario into
// its NetFlow v9 collector in real time (records stamped with the wall
// clock, sent when they happen), and polls /api/v1/suspects with an
// analyst's token until the scanner shows. It reports how long after the
// scanner's last counted probe (event time = wall time here) the suspect
// was visible through the API: the live latency.
func TestServeSuspectsLive(t *testing.T) {
	bin := buildAcd(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "screen.key")
	if code, _, errOut := runCmd(t, nil, "keygen", key); code != 0 {
		t.Fatal(errOut)
	}
	cfg := filepath.Join(dir, "acd.yaml")
	var domestic []string
	for _, p := range scenario.InternalPrefixes() {
		domestic = append(domestic, p.String())
	}
	if err := os.WriteFile(cfg, []byte(`
http:
  listen: 127.0.0.1:0
collect:
  netflow:
    listen: ["127.0.0.1:0"]
  sflow:
    listen: ["127.0.0.1:0"]
screen:
  key:
    file: `+key+`
  domestic:
    add: ["`+strings.Join(domestic, `", "`)+`"]
store:
  path: `+filepath.Join(dir, "acd.db")+`
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "token", "create", "--role", "analyst", "-c", cfg, "live-test").Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(out))
	partner, err := exec.Command(bin, "token", "create", "--role", "partner", "-c", cfg, "partner-test").Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}

	srv := startServe(t, bin, dir, cfg)
	logs, httpAddr, nfAddr := srv.logs, srv.http, srv.netflowAddr(t)
	api := "http://" + httpAddr + "/api/v1/suspects"

	// First start: the one-time admin password is shown once on stderr,
	// outside the (JSON) log, and works with HTTP Basic until changed
	// (403: it must be changed first).
	m := regexp.MustCompile(`one-time password\n\n    (\S+)\n`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no one-time admin password on stderr:\n%s", logs.String())
	}
	if n := strings.Count(logs.String(), m[1]); n != 1 {
		t.Errorf("the one-time password appears %d times on stderr, want once", n)
	}
	req, _ := http.NewRequest(http.MethodGet, api, nil)
	req.SetBasicAuth("admin", m[1])
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("admin with the one-time password: status %d, want 403 (change it first)", resp.StatusCode)
		}
	}

	get := func(url, tok string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b []byte
		buf := make([]byte, 64<<10)
		for {
			n, err := resp.Body.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b
	}
	if code, _ := get(api, ""); code != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", code)
	}
	if code, _ := get(api, strings.TrimSpace(string(partner))); code != http.StatusForbidden {
		t.Errorf("partner token: status %d, want 403", code)
	}

	// The scenario starts now; its records are sent when they happen.
	sc := scenario.Config{Name: "live", Seed: 11, Start: time.Now().UTC(), Duration: 40 * time.Second,
		Background: scenario.BackgroundConfig{Clients: 50, Servers: 100, FlowsPerSecond: 50},
		Attacks:    []scenario.Attack{{Kind: scenario.KindScanHorizontal, Start: 2 * time.Second, Rate: 100, Targets: 2048, Port: 22}}}
	gen, err := scenario.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	var scanner string
	for _, l := range gen.Labels() {
		if l.Role == scenario.RoleScanner {
			scanner = l.Addr.String()
		}
	}
	enc, err := flowgen.NewEncoder(flow.FormatNetFlowV9, flowgen.EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", nfAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	type seen struct {
		wall time.Time
		last time.Time // the evidence's last event time at first sight
	}
	found := make(chan seen, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			code, body := get(api+"?role=scanner", token)
			if code != http.StatusOK {
				continue
			}
			var resp struct {
				Suspects []struct {
					Address  string `json:"address"`
					Evidence []struct {
						Last time.Time `json:"last_seen"`
					} `json:"evidence"`
				} `json:"suspects"`
			}
			if json.Unmarshal(body, &resp) != nil {
				continue
			}
			for _, s := range resp.Suspects {
				if s.Address == scanner && len(s.Evidence) > 0 {
					found <- seen{time.Now(), s.Evidence[0].Last}
					return
				}
			}
		}
	}()

	recs := make([]flow.Record, 64)
	var pkt []byte
	deadline := time.Now().Add(sc.Duration + 30*time.Second)
	var got seen
	var ok bool
send:
	for {
		n := gen.Next(recs, time.Time{})
		if n == 0 {
			break
		}
		if d := time.Until(time.UnixMilli(recs[n-1].Start)); d > 0 {
			select {
			case got = <-found:
				ok = true
				break send
			case <-time.After(d):
			}
		}
		now := time.Now()
		if enc.TemplatesDue(now) {
			if _, err := conn.Write(enc.AppendTemplates(pkt[:0], now)); err != nil {
				t.Fatal(err)
			}
		}
		for rest := recs[:n]; len(rest) > 0; {
			var used int
			pkt, used, _ = enc.Append(pkt[:0], rest, now)
			rest = rest[used:]
			if _, err := conn.Write(pkt); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !ok {
		select {
		case got = <-found:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("scanner %s never visible through the API; logs:\n%s", scanner, logs.String())
		}
	}
	lat := got.wall.Sub(got.last)
	t.Logf("scanner %s visible through /api/v1/suspects %v after its last counted probe (wall clock, live feed)", scanner, lat.Round(time.Millisecond))
}
