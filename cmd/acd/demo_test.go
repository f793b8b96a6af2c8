package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/peertest"
)

// TestDemo runs "acd demo" as a newcomer would (on free ports, quiet)
// and checks what it promises: demo.json once ready; every printed user
// logs in to the console; home's detection found suspects of its own; a
// case waits for the commission; the ally's detection reached home over
// TAXII (and none of the ally's domestic addresses did); the loop closes
// (two approvals, the execution, the streams obey the ban, the verify
// stage says effective); Ctrl-C stops everything and exits 0, with no
// acd serve left running. It takes about four minutes, most of it the
// verify stage's two one-minute windows.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs acd demo (two instances, live traffic) for about a minute and a half; skipped under -short")
	}
	t.Parallel()
	bin := buildAcd(t)
	dir := t.TempDir()
	var stdout, stderr peertest.SyncBuffer
	cmd := exec.Command(bin, "demo", "--dir", dir, "--http", "127.0.0.1:0", "--partner-http", "127.0.0.1:0", "--quiet")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "ACD_HTTP_LISTEN=127.0.0.1:1") // the demo ignores ACD_* overrides
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	diag := func() string {
		home, _ := os.ReadFile(filepath.Join(dir, "home.log"))
		return stderr.String() + "\n--- home.log\n" + lastLines(string(home), 20)
	}
	var ready demoReady
	waitUntil(t, 4*time.Minute, "demo.json", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("acd demo exited before it was ready: %v\n%s", err, diag())
		default:
		}
		data, err := os.ReadFile(filepath.Join(dir, "demo.json"))
		return err == nil && json.Unmarshal(data, &ready) == nil && ready.Ready
	}, diag)
	t.Logf("acd demo ready after %v (demo.json says %.1f s)", time.Since(start).Round(100*time.Millisecond), ready.ReadyAfterS)

	for _, p := range []string{filepath.Join(dir, "demo.json"), filepath.Join(dir, "keys", "cora.key")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v, want 0600", p, err, fi.Mode().Perm())
		}
	}
	want := []string{"adam", "alma", "ana", "aude", "cole", "cora", "cyd", "otto", "rita"}
	var names []string
	for n := range ready.Users {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("demo.json users %v, want %v", names, want)
	}
	out := stdout.String()
	for n, u := range ready.Users {
		if strings.Count(out, u.Password) != 1 {
			t.Errorf("%s's password printed %d times on stdout, want once", n, strings.Count(out, u.Password))
		}
		if slices.Contains(u.Roles, "commissioner") {
			if _, err := readSigningKey(u.KeyFile); err != nil {
				t.Errorf("%s's signing key: %v", n, err)
			}
		}
		base := ready.Home.URL
		if n == "alma" {
			base = ready.Ally.URL
		}
		roles := demoLogin(t, base, n, u.Password)
		if !slices.Equal(roles, u.Roles) {
			t.Errorf("%s logged in with roles %v, want %v", n, roles, u.Roles)
		}
	}
	if !strings.Contains(out, ready.Case) || !strings.Contains(out, ready.Home.URL) || !strings.Contains(out, ready.Ally.URL) {
		t.Errorf("the ready message lacks the case or the URLs:\n%s", out)
	}

	ana := ready.Users["ana"].Password
	var own suspectList
	apiGet(t, strings.TrimSuffix(ready.Home.URL, "/"), "ana", ana, "/api/v1/suspects?source=own&limit=1000", &own)
	roles := map[string]bool{}
	for _, s := range own.Suspects {
		for _, r := range s.Roles {
			roles[r] = true
		}
	}
	if !roles["c2"] && !roles["scanner"] {
		t.Errorf("home's own suspects hold no C2 server nor scanner: %v", roles)
	}
	if state := demoCaseState(t, ready.Home.URL, "ana", ana, ready.Case); state != "requested" {
		t.Errorf("the demo's case %s is %q, want requested", ready.Case, state)
	}
	waitUntil(t, 90*time.Second, "a suspect from the ally at home", func() bool {
		var l suspectList
		apiGet(t, strings.TrimSuffix(ready.Home.URL, "/"), "ana", ana, "/api/v1/suspects?source=partner", &l)
		for _, s := range l.Suspects {
			a, err := netip.ParseAddr(s.Address)
			if err == nil && netip.MustParsePrefix(demoAllyDomestic[0]).Contains(a) {
				t.Fatalf("the ally's domestic address %s reached home", a)
			}
		}
		return len(l.Suspects) > 0
	}, diag)

	// Two commissioners approve the demo's case with their key files
	// through the CLI. (Execution, the ban the demo's traffic obeys and
	// the verdict "effective" are TestConsoleInBrowser's, through the
	// console against the same command.)
	home := strings.TrimSuffix(ready.Home.URL, "/")
	as := func(user string, args ...string) {
		t.Helper()
		environ := []string{"ACD_SERVER=" + home, "ACD_PASSWORD=" + ready.Users[user].Password}
		if code, out, errOut := runCmd(t, environ, append(append([]string{"case"}, args...), "--user", user)...); code != 0 {
			t.Fatalf("%s: case %v: exit %d: %s %s", user, args, code, out, errOut)
		}
	}
	as("cora", "approve", ready.Case, "--key", ready.Users["cora"].KeyFile)
	as("cole", "approve", ready.Case, "--key", ready.Users["cole"].KeyFile)
	if state := demoCaseState(t, ready.Home.URL, "ana", ana, ready.Case); state != "approved" {
		t.Fatalf("after two approvals the case is %q", state)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("acd demo after Ctrl-C: %v\n%s", err, diag())
		}
	case <-time.After(time.Minute):
		t.Fatalf("acd demo did not stop within a minute of Ctrl-C\n%s", diag())
	}
	for _, name := range []string{"home", "ally"} {
		pid := ready.Pids[name]
		if pid <= 0 {
			t.Errorf("demo.json has no pid for %s", name)
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("acd serve (%s, pid %d) still there after acd demo exited: %v", name, pid, err)
		}
	}
}

// demoLogin logs user in to the console at base and returns its roles.
func demoLogin(t *testing.T, base, user, password string) []string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.PostForm(strings.TrimSuffix(base, "/")+"/console/login", url.Values{"name": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s's console login: %s", user, resp.Status)
		return nil
	}
	var info struct {
		Roles []string `json:"roles"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info.Roles
}

// demoCaseState returns a case's state through the API.
func demoCaseState(t *testing.T, base, user, password, id string) string {
	t.Helper()
	var rec struct {
		Case struct {
			State string `json:"state"`
		} `json:"case"`
	}
	apiGet(t, strings.TrimSuffix(base, "/"), user, password, "/api/v1/cases/"+id, &rec)
	return rec.Case.State
}

func TestDemoUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"demo", "--help"}, 0, "Ctrl-C stops everything"},
		{[]string{"help", "demo"}, 0, "--partner-http"},
		{[]string{"demo", "extra"}, 2, "unexpected argument"},
		{[]string{"demo", "--http", "nonsense"}, 2, "nonsense"},
		{[]string{"demo", "--http", "127.0.0.1:9", "--partner-http", "127.0.0.1:9"}, 2, "must differ"},
		{[]string{"flowgen", "--obey", "http://127.0.0.1:1/"}, 2, "--scenario"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
		})
	}
}

func TestDemoListenAddr(t *testing.T) {
	for _, tt := range []struct {
		in       string
		warn     bool
		err      bool
		freePort bool
	}{
		{in: "127.0.0.1:8080"},
		{in: "[::1]:8080"},
		{in: "127.0.0.1:0", freePort: true},
		{in: "0.0.0.0:8080", warn: true},
		{in: "localhost:8080"},
		{in: ":8080", warn: true},
		{in: "8080", err: true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, warn, err := demoListenAddr(tt.in)
			if (err != nil) != tt.err || (warn != "") != tt.warn {
				t.Fatalf("demoListenAddr(%q) = %q, warn %q, err %v", tt.in, got, warn, err)
			}
			if tt.err {
				return
			}
			if tt.freePort == (got == tt.in) || strings.HasSuffix(got, ":0") {
				t.Errorf("demoListenAddr(%q) = %q", tt.in, got)
			}
		})
	}
}

func TestRemap(t *testing.T) {
	a := func(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }
	for _, tt := range []struct{ in, want string }{
		{"198.18.0.1", "172.20.0.1"},
		{"198.19.1.2", "172.21.1.2"}, // the /15's second half stays in the second half
		{"2001:db8:100::1:2", "2001:db8:200::1:2"},
		{"100.65.3.4", "100.99.3.4"},
		{"100.64.0.9", "100.64.0.9"}, // Internet servers: shared by both countries
		{"100.66.0.1", "100.66.0.1"},
		{"2001:db8:e000::1:1", "2001:db8:e000::1:1"},
	} {
		if got := remap(demoAllyRemap, a(tt.in)); got != a(tt.want) {
			t.Errorf("remap(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDemoLogLine(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"time":"t","level":"INFO","msg":"acd serving","http":"127.0.0.1:1"}`, "acd serving http=127.0.0.1:1"},
		{`{"time":"t","level":"WARN","msg":"cases disabled","quorum":2}`, "WARN cases disabled quorum=2"},
		{`{"time":"t","level":"INFO","msg":"ingest","records":3}`, ""},
		{`not json`, ""},
	} {
		if got := demoLogLine([]byte(tt.in)); got != tt.want {
			t.Errorf("demoLogLine(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFreshDir: a new run removes the previous run's files and nothing
// else of the directory.
func TestFreshDir(t *testing.T) {
	plant := func(t *testing.T, dir string, files ...string) {
		t.Helper()
		for _, f := range files {
			p := filepath.Join(dir, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	exists := func(dir, f string) bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil }

	// A previous run's directory (it has the marker): its files go, the
	// user's stay.
	dir := t.TempDir()
	plant(t, dir, demoMarker, "home/acd.db", "keys/cora.key", "home.log", "demo.json", "notes.txt", "other/file")
	if err := freshDir(dir); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]bool{"home/acd.db": false, "keys/cora.key": false, "home.log": false, "demo.json": false,
		"notes.txt": true, "other/file": true, "home": true, "ally": true, "keys": true, demoMarker: true} {
		if exists(dir, f) != want {
			t.Errorf("%s exists: %v, want %v", f, !want, want)
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("--dir mode %v (%v), want 0700", st.Mode().Perm(), err)
	}

	// A new directory, and an empty one: made, marked.
	for _, d := range []string{filepath.Join(t.TempDir(), "new", "demo"), t.TempDir()} {
		if err := freshDir(d); err != nil || !exists(d, demoMarker) || !exists(d, "keys") {
			t.Errorf("freshDir(%s): %v", d, err)
		}
	}

	// Somebody's directory that happens to hold a home/ and keys/ (--dir ~):
	// refused, nothing removed.
	home := t.TempDir()
	plant(t, home, "home/alice/thesis.tex", "keys/id_ed25519", "demo.json")
	if err := freshDir(home); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("freshDir on a directory that is not the demo's: %v, want a refusal", err)
	}
	for _, f := range []string{"home/alice/thesis.tex", "keys/id_ed25519", "demo.json"} {
		if !exists(home, f) {
			t.Errorf("%s was removed from a directory that is not the demo's", f)
		}
	}
	for _, d := range []string{"", "/"} {
		if err := freshDir(d); err == nil {
			t.Errorf("freshDir(%q) accepted", d)
		}
	}
}

func TestExecuteAfter(t *testing.T) {
	day := func(h, m, s int) time.Time { return time.Date(2026, 11, 26, h, m, s, 0, time.UTC) }
	for _, tt := range []struct{ opened, want time.Time }{
		{day(16, 11, 36), day(16, 13, 2)}, // watched from 16:12; before = [16:12, 16:13)
		{day(16, 11, 56), day(16, 14, 2)}, // the watch may start after 16:12: counted from 16:13
		{day(16, 12, 0), day(16, 14, 2)},
	} {
		if got := executeAfter(tt.opened); !got.Equal(tt.want) {
			t.Errorf("executeAfter(%v) = %v, want %v", tt.opened, got, tt.want)
		}
	}
}

// TestDemoChildFails: a child that exits is a clear error naming it,
// with the end of its log.
func TestDemoChildFails(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the acd binary")
	}
	bin := buildAcd(t)
	dir := t.TempDir()
	in := &demoInstance{name: "home", dir: dir, cfg: filepath.Join(dir, "missing.yaml"), http: "127.0.0.1:1"}
	var mu sync.Mutex
	var echo bytes.Buffer
	p, err := startDemoProc(bin, in, filepath.Join(dir, "home.log"), &echo, &mu)
	if err != nil {
		t.Fatal(err)
	}
	in.proc = p
	d := &demo{opts: &demoOpts{dir: dir}, client: &http.Client{Timeout: time.Second}}
	err = d.waitHealthy(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "acd serve (home) exited") || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("waitHealthy: %v", err)
	}
	if err := p.stop(time.Second); err == nil {
		t.Error("stop of a failed child: no error")
	}
}

// TestDemoConfigLoads: the configuration the demo writes loads and
// validates, with an IPv6 console address and a --dir whose name YAML
// would read otherwise (a comma, braces, a colon), and each instance's
// session cookie has a name of its own.
func TestDemoConfigLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo, {odd}: dir")
	for _, tt := range []struct{ name, http string }{{"home", "[::1]:8080"}, {"ally", "127.0.0.1:8081"}} {
		in, err := newDemoInstance(dir, tt.name, tt.http, demoHomeDomestic, tt.name == "home")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(in.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := in.writeConfig([]string{"0123456789abcdef", "fedcba9876543210"}, "otto"); err != nil {
			t.Fatal(err)
		}
		lc, err := loadConfig(in.cfg, nil)
		if err != nil {
			t.Fatalf("%s's configuration does not load: %v", tt.name, err)
		}
		if lc.HTTP.Listen != tt.http || lc.Store.Path != filepath.Join(in.dir, "acd.db") || lc.HTTP.Session.CookieName != "acd_"+tt.name {
			t.Errorf("%s: listen %q, store %q, cookie %q", tt.name, lc.HTTP.Listen, lc.Store.Path, lc.HTTP.Session.CookieName)
		}
	}
}
