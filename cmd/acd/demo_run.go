package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/acd-org/acd/store"
)

// demo is one run of acd demo.
type demo struct {
	opts       *demoOpts
	e          *env
	started    time.Time
	home, ally *demoInstance
	users      map[string]*demoUser
	bouncerKey string
	obey       *obeyClient // home's stream's bouncer
	echoMu     sync.Mutex  // serializes the lines written to e.stderr
	client     *http.Client
}

// demoReady is <dir>/demo.json, written once everything runs.
type demoReady struct {
	Ready bool `json:"ready"`
	Home  struct {
		URL       string `json:"url"`
		Collector string `json:"collector"`
		LAPI      string `json:"lapi"`
	} `json:"home"`
	Ally struct {
		URL       string `json:"url"`
		Collector string `json:"collector"`
	} `json:"ally"`
	Users      map[string]*demoUser `json:"users"`
	Case       string               `json:"case"`
	CaseTarget string               `json:"case_target"`
	// ExecuteAfter is the earliest execution the verify stage can judge
	// against a measured "before" (a whole minute of the target's
	// traffic watched since the case was opened): an earlier one is
	// judged unmeasurable.
	ExecuteAfter time.Time      `json:"execute_after"`
	Pids         map[string]int `json:"pids"`
	Started      time.Time      `json:"started"`
	ReadyAfterS  float64        `json:"ready_after_s"`
}

// run sets the demo up, runs it until ctx ends or something fails, and
// stops everything it started.
func (d *demo) run(ctx context.Context) (err error) {
	d.client = &http.Client{Timeout: 10 * time.Second}
	if err := d.setup(ctx); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("unable to find the acd binary to run: %w", err)
	}
	var echo io.Writer
	if !d.opts.quiet {
		echo = d.e.stderr
	}
	// From here on, everything started is stopped on the way out.
	defer func() {
		for _, in := range []*demoInstance{d.ally, d.home} {
			if in.proc != nil {
				serr := in.proc.stop(10 * time.Second)
				switch {
				case serr == nil:
				case ctx.Err() == nil && err == nil:
					err = fmt.Errorf("acd serve (%s): %w", in.name, serr)
				case ctx.Err() != nil:
					d.say("acd serve (%s): %v", in.name, serr)
				}
			}
		}
	}()
	d.say("starting acd serve for home and the ally (logs: %s, %s); the ally only detects and shares: its warning that cases are disabled is expected",
		filepath.Join(d.opts.dir, "home.log"), filepath.Join(d.opts.dir, "ally.log"))
	for _, in := range []*demoInstance{d.home, d.ally} {
		if in.proc, err = startDemoProc(self, in, filepath.Join(d.opts.dir, in.name+".log"), echo, &d.echoMu); err != nil {
			return err
		}
	}
	for _, in := range []*demoInstance{d.home, d.ally} {
		if err := d.waitHealthy(ctx, in); err != nil {
			return err
		}
	}
	d.say("both acd instances serve: home %s, ally %s", d.home.url(), d.ally.url())

	sctx, stopStreams := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stopStreams(); wg.Wait() }()
	failed := make(chan error, 4)
	if err := d.startStreams(sctx, &wg, failed); err != nil {
		return err
	}
	id, target, err := d.openCase(ctx, failed)
	if err != nil {
		return err
	}
	execAfter := executeAfter(time.Now())
	if err := d.writeReady(id, target, execAfter); err != nil {
		return err
	}
	d.printReady(id, target, execAfter)
	return d.watch(ctx, failed)
}

// setup makes the directory, keys, configurations, users, partners and
// the bouncer key.
func (d *demo) setup(ctx context.Context) error {
	dir := d.opts.dir
	if err := freshDir(dir); err != nil {
		return err
	}
	var err error
	if d.home, err = newDemoInstance(dir, "home", d.opts.http, demoHomeDomestic, true); err != nil {
		return err
	}
	if d.ally, err = newDemoInstance(dir, "ally", d.opts.partnerHTTP, demoAllyDomestic, false); err != nil {
		return err
	}
	d.users = map[string]*demoUser{}
	pubs := map[string]ed25519.PublicKey{}
	var keyIDs []string
	for _, u := range demoUserPlan {
		du := &demoUser{Password: store.NewPassword(), instance: u.instance}
		for _, r := range u.roles {
			du.Roles = append(du.Roles, string(r))
		}
		if u.roles[0] == store.RoleCommissioner {
			du.KeyFile = filepath.Join(dir, "keys", u.name+".key")
			pub, err := makeSigningKey(du.KeyFile)
			if err != nil {
				return err
			}
			pubs[u.name] = pub
			keyIDs = append(keyIDs, store.KeyID(pub))
		}
		d.users[u.name] = du
	}
	if err := d.home.writeConfig(keyIDs, "otto"); err != nil {
		return err
	}
	if err := d.ally.writeConfig(nil, ""); err != nil {
		return err
	}
	for _, in := range []*demoInstance{d.home, d.ally} {
		if err := addUsers(ctx, in, d.users, pubs); err != nil {
			return err
		}
	}
	for _, in := range []*demoInstance{d.home, d.ally} {
		if err := addStatusToken(ctx, in); err != nil {
			return err
		}
	}
	if err := addPartners(ctx, d.home, d.ally); err != nil {
		return err
	}
	d.bouncerKey, err = addBouncer(ctx, d.home)
	return err
}

// say prints one line of the demo's own on stderr (unless --quiet).
func (d *demo) say(format string, args ...any) {
	if d.opts.quiet {
		return
	}
	d.echoMu.Lock()
	defer d.echoMu.Unlock()
	fmt.Fprintf(d.e.stderr, "demo: "+format+"\n", args...)
}

// waitHealthy waits for in's /healthz; its exit is an error.
func (d *demo) waitHealthy(ctx context.Context, in *demoInstance) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := d.client.Get("http://" + in.http + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if in.proc.exited() {
			return d.childFailed(in)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("acd serve (%s) did not answer on http://%s/healthz within a minute (see %s)", in.name, in.http,
				filepath.Join(d.opts.dir, in.name+".log"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// childFailed is the error of a child that exited: its exit and the end
// of its log.
func (d *demo) childFailed(in *demoInstance) error {
	logPath := filepath.Join(d.opts.dir, in.name+".log")
	data, _ := os.ReadFile(logPath)
	return fmt.Errorf("acd serve (%s) exited: %v; the end of %s:\n%s", in.name, in.proc.err, logPath, tailLines(string(data), 15))
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startStreams starts home's and the ally's traffic; a stream's failure
// goes to failed.
func (d *demo) startStreams(ctx context.Context, wg *sync.WaitGroup, failed chan<- error) error {
	var err error
	if d.obey, err = newObeyClient("http://"+d.home.lapi+"/", d.bouncerKey); err != nil {
		return err
	}
	streams := []*demoStream{
		{name: "home", cfg: demoHomeScenario(), to: d.home.netflow, obey: d.obey},
		{name: "ally", cfg: demoAllyScenario(), to: d.ally.netflow, remap: demoAllyRemap},
	}
	for _, s := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.run(ctx, func(err error) { d.say("%s stream: %v", s.name, err) }); err != nil {
				failed <- err
			}
		}()
	}
	d.say("traffic streams over IPFIX: home → %s (background, C2 beacons, scan, SSH brute force, DNS reflection; obeying home's bans), ally → %s (background, SMB scan)",
		d.home.netflow, d.ally.netflow)
	return nil
}

// writeReady writes <dir>/demo.json atomically (0600).
func (d *demo) writeReady(id, target string, execAfter time.Time) error {
	var r demoReady
	r.Ready = true
	r.Home.URL, r.Home.Collector, r.Home.LAPI = d.home.url(), d.home.netflow, "http://"+d.home.lapi+"/"
	r.Ally.URL, r.Ally.Collector = d.ally.url(), d.ally.netflow
	r.Users, r.Case, r.CaseTarget, r.ExecuteAfter = d.users, id, target, execAfter.UTC()
	r.Pids = map[string]int{"demo": os.Getpid(), "home": d.home.proc.cmd.Process.Pid, "ally": d.ally.proc.cmd.Process.Pid}
	r.Started = d.started.UTC().Truncate(time.Millisecond)
	r.ReadyAfterS = time.Since(d.started).Round(100 * time.Millisecond).Seconds()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("unable to write demo.json: %w", err)
	}
	// A new file of our own (never one planted there), renamed into place.
	f, err := os.CreateTemp(d.opts.dir, "demo.json.*")
	if err != nil {
		return fmt.Errorf("unable to write demo.json: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(d.opts.dir, "demo.json"))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("unable to write demo.json: %w", err)
	}
	return nil
}

// executeAfter returns the earliest time an action of a case opened at
// opened can be executed and judged against a measured baseline: acd
// watches the case's targets from its next verify pass (every 2 s here),
// counts them from the next whole minute, and the "before" window (1 min)
// is the whole minute before the execution's minute.
func executeAfter(opened time.Time) time.Time {
	return opened.Add(5 * time.Second).Truncate(time.Minute).Add(2*time.Minute + 2*time.Second)
}

// watch prints a status line every 10 s (unless --quiet) until ctx ends
// (nil) or a child or stream fails.
func (d *demo) watch(ctx context.Context, failed <-chan error) error {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	var last demoStatus
	if !d.opts.quiet {
		last = d.status(ctx) // the first line's rate is over its 10 s
	}
	for {
		select {
		case <-ctx.Done():
			d.say("stopping")
			return nil
		case err := <-failed:
			return err
		case <-d.home.proc.done:
			return d.childFailed(d.home)
		case <-d.ally.proc.done:
			return d.childFailed(d.ally)
		case <-t.C:
			if d.opts.quiet {
				continue
			}
			st := d.status(ctx)
			if ctx.Err() != nil {
				continue
			}
			d.say("%s", st.line(last))
			last = st
		}
	}
}

// errNoSuspect is returned when detection names nothing to open a case on.
var errNoSuspect = errors.New("no C2 server or scanner detected at home within 3 minutes")
