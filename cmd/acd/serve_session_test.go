package main

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestServeConsoleSession: a user logs in to the console with name and
// password; the API then answers with the session cookie, refuses unsafe
// requests without the CSRF token, and stops answering after logout.
func TestServeConsoleSession(t *testing.T) {
	f := newCaseFixture(t)
	// Plain HTTP on loopback: the cookie may not be Secure here.
	t.Setenv("ACD_HTTP_SESSION_SECURE", "false")
	s := startServe(t, f.bin, f.dir, f.cfg)
	base := "http://" + s.http
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if resp, err := c.PostForm(base+"/console/login", url.Values{"name": {"ana"}, "password": {"wrong password!"}}); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %v %v", err, resp)
	}
	resp, err := c.PostForm(base+"/console/login", url.Values{"name": {"ana"}, "password": {f.pw["ana"]}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", err, resp)
	}
	var info struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
		CSRF  string   `json:"csrf_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if info.Name != "ana" || info.CSRF == "" || !strings.Contains(resp.Header.Get("Set-Cookie"), "HttpOnly") {
		t.Fatalf("login answer %+v, cookie %q", info, resp.Header.Get("Set-Cookie"))
	}
	get := func(path string) int {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/api/v1/suspects"); code != http.StatusOK {
		t.Errorf("the API with the session cookie: %d", code)
	}
	if code := get("/api/v1/audit"); code != http.StatusForbidden {
		t.Errorf("an analyst's session on the audit log: %d", code)
	}
	// The console's page and the overview's history, which acd serve
	// samples from its start (nobody had the overview open).
	if code := get("/"); code != http.StatusOK {
		t.Errorf("the console's page: %d", code)
	}
	// The first point must cover a stretch before anybody asked for the
	// overview (a point is the change between two samples, 10 s apart):
	// acd serve samples from its start.
	asked := time.Now()
	var first struct {
		Time      time.Time `json:"time"`
		IntervalS float64   `json:"interval_s"`
	}
	waitUntil(t, 30*time.Second, "the overview's first history point", func() bool {
		resp, err := c.Get(base + "/api/v1/overview?history=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ov struct {
			History []json.RawMessage `json:"history"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&ov) != nil {
			t.Fatalf("overview history: %s", resp.Status)
		}
		return len(ov.History) > 0 && json.Unmarshal(ov.History[0], &first) == nil
	}, func() string { return "" })
	if start := first.Time.Add(-time.Duration(first.IntervalS * float64(time.Second))); !start.Before(asked) {
		t.Errorf("the first history point covers %v from %v, after the first request at %v: nothing sampled before", first.IntervalS, start, asked)
	}
	post := func(path, csrf string) int {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/api/v1/cases", ""); code != http.StatusForbidden {
		t.Errorf("a POST without the CSRF token: %d", code)
	}
	if code := post("/api/v1/cases", info.CSRF); code == http.StatusForbidden || code == http.StatusUnauthorized {
		t.Errorf("a POST with the CSRF token: %d (authenticated requests get past auth)", code)
	}
	if code := post("/console/logout", info.CSRF); code != http.StatusNoContent {
		t.Errorf("logout: %d", code)
	}
	if code := get("/api/v1/suspects"); code != http.StatusUnauthorized {
		t.Errorf("the API after logout: %d", code)
	}
}
