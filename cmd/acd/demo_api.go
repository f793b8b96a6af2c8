package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// api calls in's REST API as a demo user (HTTP Basic), or with in's
// status token when user is "", and decodes the answer into out (nil:
// discarded); an answer other than want is an error.
func (d *demo) api(ctx context.Context, in *demoInstance, user, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("unable to call %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+in.http+path, rd)
	if err != nil {
		return fmt.Errorf("unable to call %s %s: %w", method, path, err)
	}
	if user == "" {
		req.Header.Set("Authorization", "Bearer "+in.token)
		user = "the demo's token"
	} else {
		req.SetBasicAuth(user, d.users[user].Password)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("unable to call %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("unable to read the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s as %s: %s: %s", method, path, user, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("unable to read the answer of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// suspectList is the part of GET /api/v1/suspects the demo reads.
type suspectList struct {
	Suspects []struct {
		Address string   `json:"address"`
		Roles   []string `json:"roles"`
		Score   float64  `json:"score"`
	} `json:"suspects"`
	Total int `json:"total"`
}

// firstSuspect returns the address of home's first own suspect with
// role, or "".
func (d *demo) firstSuspect(ctx context.Context, role string) (string, error) {
	var l suspectList
	if err := d.api(ctx, d.home, "", http.MethodGet, "/api/v1/suspects?source=own&role="+role, nil, http.StatusOK, &l); err != nil {
		return "", err
	}
	if len(l.Suspects) == 0 {
		return "", nil
	}
	return l.Suspects[0].Address, nil
}

// openCase waits for detection to name the C2 server (after 40 s, a
// scanner will do), then has ana open a case against it, a block for an
// hour, and request it: it waits for the commission.
func (d *demo) openCase(ctx context.Context, failed <-chan error) (id, target string, err error) {
	d.say("waiting for detection to name the C2 server (a few tens of seconds)…")
	start := time.Now()
	for target == "" {
		if target, err = d.firstSuspect(ctx, "c2"); err != nil {
			return "", "", err
		}
		if target == "" && time.Since(start) > 40*time.Second {
			if target, err = d.firstSuspect(ctx, "scanner"); err != nil {
				return "", "", err
			}
		}
		if target != "" {
			break
		}
		if time.Since(start) > 3*time.Minute {
			return "", "", errNoSuspect
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case err := <-failed:
			return "", "", err
		case <-d.home.proc.done:
			return "", "", d.childFailed(d.home)
		case <-d.ally.proc.done:
			return "", "", d.childFailed(d.ally)
		case <-time.After(time.Second):
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	body := map[string]any{"target": target, "suspects": []string{target}, "legal_basis": demoLegalBasis,
		"urgency": "high", "actions": []map[string]any{{"type": "block", "target": target,
			"not_before": now.Format(time.RFC3339), "not_after": now.Add(time.Hour).Format(time.RFC3339)}}}
	var created struct {
		ID string `json:"id"`
	}
	if err := d.api(ctx, d.home, "ana", http.MethodPost, "/api/v1/cases", body, http.StatusCreated, &created); err != nil {
		return "", "", fmt.Errorf("unable to open the demo's case: %w", err)
	}
	if err := d.api(ctx, d.home, "ana", http.MethodPost, "/api/v1/cases/"+url.PathEscape(created.ID)+"/request",
		map[string]string{"reason": "acd demo: the botnet's C2 server, named by detection"}, http.StatusOK, nil); err != nil {
		return "", "", fmt.Errorf("unable to request the demo's case: %w", err)
	}
	d.say("ana opened case %s against %s (a block for an hour); it waits for 2 of the 3 commissioners", created.ID, target)
	return created.ID, target, nil
}

// printReady prints, once, the URLs, the users and what to do, on
// stdout.
func (d *demo) printReady(id, target string, execAfter time.Time) {
	w := d.e.stdout
	fmt.Fprintf(w, "\nacd demo is ready (%.0f s).\n\n", time.Since(d.started).Seconds())
	fmt.Fprintf(w, "  console (home):  %s\n  console (ally):  %s\n\n", d.home.url(), d.ally.url())
	fmt.Fprintln(w, "  users (passwords shown this once; also in "+d.opts.dir+"/demo.json):")
	for _, u := range demoUserPlan {
		du := d.users[u.name]
		fmt.Fprintf(w, "    %-5s %-4s %-20s %s", u.name, u.instance, strings.Join(du.Roles, ","), du.Password)
		if du.KeyFile != "" {
			fmt.Fprintf(w, "  key %s", du.KeyFile)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, `
  what to do:
    1. log in at %[1]s as ana (analyst): Suspects shows what detection found,
       including what the ally shared; case %[2]s against %[3]s waits.
    2. log in as cora, open case %[2]s, choose %[4]s and approve;
       then as cole with %[5]s (2 of 3 approve).
    3. log in as otto (operator) and, from %[6]s on, execute the block:
       acd bans %[3]s through its CrowdSec Local API, the demo's traffic
       obeys, the beacons stop, and a minute or two later the case becomes
       effective. (The verify stage compares the whole minute before the
       execution with one after; executed earlier, it says unmeasurable.)
    4. aude (auditor) sees it all in the audit log, chained and verified.

  Ctrl-C stops everything.

`, d.home.url(), id, target, d.users["cora"].KeyFile, d.users["cole"].KeyFile, execAfter.Format("15:04:05"))
}

// demoStatus is one status sample.
type demoStatus struct {
	at              time.Time
	records         float64 // records collected at home, total
	suspects        int     // home's suspects
	partnerSuspects int     // home's suspects with a partner's evidence
	allySuspects    int     // the ally's own suspects
	cases           map[string]int
	bans            int    // decisions home's firewall (the stream's bouncer) holds
	dropped         uint64 // records it dropped
}

// status samples home's metrics and API with the status tokens (a
// user's login is a store write); errors leave zeros: a status line is
// best effort. Ctrl-C does not cut its requests short (a server would
// log them as failures).
func (d *demo) status(ctx context.Context) demoStatus {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	st := demoStatus{at: time.Now(), cases: map[string]int{}, bans: d.obey.bans.len(), dropped: d.obey.dropped.Load()}
	st.records = d.metricSum(ctx, d.home, "acd_collect_records_total")
	var l suspectList
	if d.api(ctx, d.home, "", http.MethodGet, "/api/v1/suspects?limit=1", nil, http.StatusOK, &l) == nil {
		st.suspects = l.Total
	}
	if d.api(ctx, d.home, "", http.MethodGet, "/api/v1/suspects?source=partner&limit=1", nil, http.StatusOK, &l) == nil {
		st.partnerSuspects = l.Total
	}
	if d.api(ctx, d.ally, "", http.MethodGet, "/api/v1/suspects?source=own&limit=1", nil, http.StatusOK, &l) == nil {
		st.allySuspects = l.Total
	}
	var cs struct {
		Cases []struct {
			State string `json:"state"`
		} `json:"cases"`
	}
	if d.api(ctx, d.home, "", http.MethodGet, "/api/v1/cases?limit=100", nil, http.StatusOK, &cs) == nil {
		for _, c := range cs.Cases {
			st.cases[c.State]++
		}
	}
	return st
}

// line renders the status against the previous sample (for the rate).
func (st demoStatus) line(prev demoStatus) string {
	rate := 0.0
	if !prev.at.IsZero() && st.records >= prev.records {
		rate = (st.records - prev.records) / st.at.Sub(prev.at).Seconds()
	}
	var states []string
	for s, n := range st.cases {
		states = append(states, fmt.Sprintf("%s=%d", s, n))
	}
	sort.Strings(states)
	return fmt.Sprintf("home: %.0f records/s, %d suspects (%d from the ally), cases: %s, firewall: %d bans, %d records dropped | ally: %d suspects of its own",
		rate, st.suspects, st.partnerSuspects, strings.Join(states, " "), st.bans, st.dropped, st.allySuspects)
}

// metricSum sums one metric's samples at in's /metrics (0 on error).
func (d *demo) metricSum(ctx context.Context, in *demoInstance, name string) float64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+in.http+"/metrics", nil)
	if err != nil {
		return 0
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}
