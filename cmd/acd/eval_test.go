package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallSuite is a short scenario with a fast scan and a SYN flood over a
// small background, fast enough under the race detector.
const smallSuite = `
scenarios:
  - name: small
    seed: 7
    duration: 6m
    background: {clients: 50, servers: 100, flows_per_second: 30}
    attacks:
      - {kind: scan-horizontal, start: 1m, rate: 100, targets: 1024, port: 22}
      - {kind: ddos-syn, start: 3m, duration: 1m, rate: 2000, sources: 50, port: 443}
`

func TestEvalSuiteFile(t *testing.T) {
	suite := filepath.Join(t.TempDir(), "suite.yaml")
	if err := os.WriteFile(suite, []byte(smallSuite), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, nil, "eval", "--suite", suite, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Runs []struct {
			Scenario string `json:"scenario"`
			Records  uint64 `json:"records"`
		} `json:"runs"`
		Roles []struct {
			Role     string  `json:"role"`
			Detector string  `json:"detector"`
			TP       int     `json:"tp"`
			FN       int     `json:"fn"`
			Recall   float64 `json:"recall"`
		} `json:"roles"`
		Memory map[string]struct {
			PeakKeys    int     `json:"peak_keys"`
			BytesPerKey float64 `json:"bytes_per_key"`
		} `json:"memory"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Scenario != "small" || rep.Runs[0].Records == 0 {
		t.Fatalf("runs %+v", rep.Runs)
	}
	found := map[string]int{}
	for _, r := range rep.Roles {
		found[r.Role] = r.TP
	}
	// The scanner and the victim are labelled: the default detectors find
	// them (a real detection, scored against the scenario's labels).
	if found["scanner"] != 1 || found["ddos-victim"] != 1 {
		t.Errorf("roles %+v, want the scanner and the victim found", rep.Roles)
	}
	for _, name := range []string{"scan", "bruteforce", "ddos", "reflection", "beacon"} {
		if _, ok := rep.Memory[name]; !ok {
			t.Errorf("no memory figures for detector %s", name)
		}
	}
}

func TestEvalText(t *testing.T) {
	suite := filepath.Join(t.TempDir(), "suite.yaml")
	if err := os.WriteFile(suite, []byte(smallSuite), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, nil, "eval", "--suite", suite, "--misses", "--min-recall", "1.01", "--check")
	if code != 1 || !strings.Contains(errOut, "goals missed") {
		t.Errorf("exit %d, stderr %q: want 1 and goals missed (recall goal above 1)", code, errOut)
	}
	for _, want := range []string{"precision", "recall", "scanner", "bytes/key", "records/s", "goals missed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestEvalUsage(t *testing.T) {
	for _, args := range [][]string{
		{"eval", "--scenario", "nope"},
		{"eval", "extra"},
		{"eval", "--no-suite"},
		{"eval", "-j", "0"},
	} {
		if code, _, errOut := runCmd(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, code, errOut)
		}
	}
	if code, _, errOut := runCmd(t, nil, "eval", "--captures", "/nonexistent"); code != 1 || !strings.Contains(errOut, "nonexistent") {
		t.Errorf("missing captures: exit %d %q", code, errOut)
	}
}

// TestEvalCaptures scores the labelled captures recorded from real tools
// (nmap, hping3, a beaconing client, repeated logins: testdata/labeled).
func TestEvalCaptures(t *testing.T) {
	code, out, errOut := runCmd(t, nil, "eval", "--no-suite", "--captures", "../../testdata/labeled", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Runs []struct {
			Scenario string `json:"scenario"`
			Records  uint64 `json:"records"`
		} `json:"runs"`
		Total struct {
			TP, FP, FN int
		} `json:"total"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Runs {
		if r.Records == 0 {
			t.Errorf("capture %s: no records", r.Scenario)
		}
	}
	t.Logf("labelled captures: %d runs, tp %d fp %d fn %d", len(rep.Runs), rep.Total.TP, rep.Total.FP, rep.Total.FN)
	if len(rep.Runs) < 7 {
		t.Errorf("%d captures evaluated, want the 7 of testdata/labeled", len(rep.Runs))
	}
	// Every attacker the real tools played is found, and nothing else.
	if rep.Total.TP == 0 || rep.Total.FN != 0 || rep.Total.FP != 0 {
		t.Errorf("labelled captures: tp %d fp %d fn %d, want every label found and no false positive", rep.Total.TP, rep.Total.FP, rep.Total.FN)
	}
}
