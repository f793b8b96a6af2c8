package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/acd-org/acd/peertest"
)

func buildAcd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "acd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// waitLog waits until the JSON log holds a line matching re and returns
// its first submatch.
func waitLog(t *testing.T, logs *peertest.SyncBuffer, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			return m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line matching %s; logs:\n%s", re, logs.String())
	return ""
}

// acdServe is an acd serve process started by startServe.
type acdServe struct {
	cmd  *exec.Cmd
	logs *peertest.SyncBuffer // its stderr: the JSON log
	http string               // the HTTP listener's address
}

// startServe starts "bin serve -c cfg" in dir with a JSON log and waits
// until it serves; the test's cleanup kills it.
func startServe(t *testing.T, bin, dir, cfg string) *acdServe {
	t.Helper()
	s := &acdServe{cmd: exec.Command(bin, "serve", "-c", cfg), logs: new(peertest.SyncBuffer)}
	s.cmd.Dir = dir
	s.cmd.Stderr = s.logs
	s.cmd.Env = append(os.Environ(), "ACD_LOG_FORMAT=json")
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() })
	s.http = waitLog(t, s.logs, regexp.MustCompile(`"msg":"http listening"[^\n]*"addr":"([^"]+)"`))
	waitLog(t, s.logs, regexp.MustCompile(`"msg":"(acd serving)"`))
	return s
}

// netflowAddr returns the address of the server's first NetFlow listener.
func (s *acdServe) netflowAddr(t *testing.T) string {
	t.Helper()
	return waitLog(t, s.logs, regexp.MustCompile(`"listener":"netflow ([0-9.:]+) #0"`))
}

// metricSum sums the samples of one metric in a Prometheus exposition.
func metricSum(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// TestServeEndToEnd runs the acd binary on loopback, replays softflowd's
// real NetFlow v9 export into it, checks the records reach the pipeline
// and the metrics, then stops it with SIGTERM and checks it drains and
// exits 0.
func TestServeEndToEnd(t *testing.T) {
	pkts, err := peertest.ReadDatagrams("../../collect/netflow/testdata/softflowd-v9.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) == 0 {
		t.Fatal("no datagrams in capture")
	}
	bin := buildAcd(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "screen.key")
	if code, _, errOut := runCmd(t, nil, "keygen", key); code != 0 {
		t.Fatal(errOut)
	}
	cfg := filepath.Join(dir, "acd.yaml")
	if err := os.WriteFile(cfg, []byte(`
http:
  listen: 127.0.0.1:0
collect:
  netflow:
    listen: ["127.0.0.1:0"]
  sflow:
    listen: ["127.0.0.1:0"]
  flush_interval: 1h   # only the drain at shutdown delivers the last batch
screen:
  key:
    file: `+key+`
store:
  path: `+filepath.Join(dir, "acd.db")+`
`), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, bin, dir, cfg)
	cmd, logs, httpAddr, nfAddr := srv.cmd, srv.logs, srv.http, srv.netflowAddr(t)

	conn, err := net.Dial("udp", nfAddr)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if _, err := conn.Write(p.Data); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()

	metrics := "http://" + httpAddr + "/metrics"
	deadline := time.Now().Add(20 * time.Second)
	for metricSum(t, metrics, "acd_collect_packets_total") < float64(len(pkts)) {
		if time.Now().After(deadline) {
			t.Fatalf("collector saw %v of %d datagrams", metricSum(t, metrics, "acd_collect_packets_total"), len(pkts))
		}
		time.Sleep(20 * time.Millisecond)
	}
	records := metricSum(t, metrics, "acd_collect_records_total")
	if records == 0 {
		t.Fatal("no records decoded")
	}
	if errs := metricSum(t, metrics, "acd_collect_errors_total"); errs != 0 {
		t.Errorf("acd_collect_errors_total = %v, want 0 on a real exporter's capture", errs)
	}

	// SIGHUP reloads the domestic space and keeps serving.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, regexp.MustCompile(`"msg":"(domestic space reloaded)"`))
	if got := metricSum(t, metrics, "acd_screen_reloads_total"); got != 1 {
		t.Errorf("acd_screen_reloads_total = %v, want 1", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("acd serve exited with %v; logs:\n%s", err, logs.String())
	}
	// The last partial batch was delivered by the drain, not the flush
	// interval (1 h): the pipeline saw every decoded record.
	var stopped struct {
		Records float64 `json:"records"`
	}
	line := waitLog(t, logs, regexp.MustCompile(`(\{[^\n]*"msg":"stopped"[^\n]*\})`))
	if err := json.Unmarshal([]byte(line), &stopped); err != nil {
		t.Fatal(err)
	}
	if stopped.Records != records {
		t.Errorf("pipeline records at stop = %v, want %v (all decoded records drained)", stopped.Records, records)
	}
}
