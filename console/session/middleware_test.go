package session

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestCSRF(t *testing.T) {
	e := newEnv(t, testConfig(), nil)
	c, info := e.login(t, "alice", "alice's+password")
	other, otherInfo := e.login(t, "carol", "carol's+password")
	for _, tc := range []struct {
		name   string
		method string
		token  string
		cookie bool // false: carol's cookie
		status int
	}{
		{"GET needs no token", "GET", "", true, http.StatusOK},
		{"HEAD needs no token", "HEAD", "", true, http.StatusOK},
		{"POST right", "POST", info.CSRFToken, true, http.StatusOK},
		{"PUT right", "PUT", info.CSRFToken, true, http.StatusOK},
		{"PATCH right", "PATCH", info.CSRFToken, true, http.StatusOK},
		{"DELETE right", "DELETE", info.CSRFToken, true, http.StatusOK},
		{"POST missing", "POST", "", true, http.StatusForbidden},
		{"PUT missing", "PUT", "", true, http.StatusForbidden},
		{"PATCH missing", "PATCH", "", true, http.StatusForbidden},
		{"DELETE missing", "DELETE", "", true, http.StatusForbidden},
		{"POST wrong", "POST", info.CSRFToken[:42] + "x", true, http.StatusForbidden},
		{"POST prefix", "POST", info.CSRFToken[:20], true, http.StatusForbidden},
		{"POST another session's token", "POST", otherInfo.CSRFToken, true, http.StatusForbidden},
		{"POST other session with its token", "POST", otherInfo.CSRFToken, false, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := req{method: tc.method, path: "/console/echo", cookie: c, headers: map[string]string{}}
			if !tc.cookie {
				q.cookie = other
			}
			if tc.token != "" {
				q.headers[CSRFHeader] = tc.token
			}
			w := e.do(t, q)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if tc.status == http.StatusForbidden && !strings.Contains(errorOf(t, w), CSRFHeader) {
				t.Errorf("error does not name the header: %s", w.Body)
			}
		})
	}
	if w := e.do(t, req{method: "POST", path: "/console/echo", headers: map[string]string{CSRFHeader: info.CSRFToken}}); w.Code != http.StatusUnauthorized {
		t.Errorf("POST with a token but no cookie: %d, want 401", w.Code)
	}
}

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secure  bool
		host    string
		headers map[string]string
		ok      bool
	}{
		{"none", false, "", nil, true},
		{"same origin", false, "", map[string]string{"Origin": "http://example.com"}, true},
		{"same origin, case", false, "", map[string]string{"Origin": "http://EXAMPLE.com"}, true},
		{"other host", false, "", map[string]string{"Origin": "http://evil.example"}, false},
		{"other port", false, "", map[string]string{"Origin": "http://example.com:8080"}, false},
		{"suffix host", false, "", map[string]string{"Origin": "http://example.com.evil.example"}, false},
		{"null", false, "", map[string]string{"Origin": "null"}, false},
		{"garbage", false, "", map[string]string{"Origin": "::"}, false},
		{"referer same", false, "", map[string]string{"Referer": "http://example.com/console/cases"}, true},
		{"referer other", false, "", map[string]string{"Referer": "http://evil.example/example.com"}, false},
		{"origin wins over referer", false, "", map[string]string{"Origin": "http://evil.example", "Referer": "http://example.com/"}, false},
		{"sec-fetch-site cross-site", false, "", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"sec-fetch-site same-site", false, "", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
		{"sec-fetch-site same-origin", false, "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}, true},
		{"secure: https", true, "", map[string]string{"Origin": "https://example.com"}, true},
		{"secure: http refused", true, "", map[string]string{"Origin": "http://example.com"}, false},
		{"secure: default port", true, "example.com:443", map[string]string{"Origin": "https://example.com"}, true},
		{"port", false, "127.0.0.1:8080", map[string]string{"Origin": "http://127.0.0.1:8080"}, true},
		{"ipv6", false, "[::1]:8080", map[string]string{"Origin": "http://[::1]:8080"}, true},
		{"ipv6 default port", false, "[::1]:80", map[string]string{"Origin": "http://[::1]"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Secure = tc.secure
			e := newEnv(t, cfg, nil)
			c, info := e.login(t, "alice", "alice's+password")
			h := map[string]string{CSRFHeader: info.CSRFToken}
			for k, v := range tc.headers {
				h[k] = v
			}
			r := req{method: "POST", path: "/console/echo", cookie: c, headers: h}
			if tc.host != "" {
				r.path = "http://" + tc.host + "/console/echo"
			}
			w := e.do(t, r)
			if got := w.Code == http.StatusOK; got != tc.ok {
				t.Fatalf("status %d (%s), want ok=%v", w.Code, w.Body, tc.ok)
			}
			if !tc.ok {
				if w.Code != http.StatusForbidden || !strings.Contains(errorOf(t, w), "cross-origin") {
					t.Errorf("refusal: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}

func TestSecureHeaders(t *testing.T) {
	for _, secure := range []bool{false, true} {
		cfg := testConfig()
		cfg.Secure = secure
		e := newEnv(t, cfg, nil)
		for _, path := range []string{SessionPath, LoginPath, "/console/echo", "/nowhere"} {
			w := e.do(t, req{method: "GET", path: path})
			want := map[string]string{
				"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"X-Frame-Options":         "DENY",
				"Cache-Control":           "no-store",
			}
			if secure {
				want["Strict-Transport-Security"] = "max-age=63072000"
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("secure=%v %s: %s = %q, want %q", secure, path, k, got, v)
				}
			}
			if !secure && w.Header().Get("Strict-Transport-Security") != "" {
				t.Errorf("HSTS sent on plain HTTP")
			}
		}
	}
}

// TestConcurrent logs in, reads, writes and logs out from many
// goroutines at once (run with -race), with a small session table so
// that evictions happen too.
func TestConcurrent(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSessions = 16
	e := newEnv(t, cfg, nil)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 20 {
				w := e.do(t, formLogin("alice", "alice's+password"))
				if w.Code != http.StatusOK {
					t.Errorf("login: %d", w.Code)
					return
				}
				c := sessionCookie(t, w, "acd_session")
				e.do(t, req{method: "GET", path: SessionPath, cookie: c})
				e.do(t, req{method: "GET", path: "/console/echo", cookie: c})
				if i%3 == 0 {
					e.do(t, req{method: "POST", path: LogoutPath, cookie: c, headers: map[string]string{CSRFHeader: "wrong"}})
				}
				bad := formLogin("alice", "wrong")
				bad.remote = fmt.Sprintf("198.51.100.%d:4000", g) // its own client: only it is rate-limited
				if w := e.do(t, bad); w.Code != http.StatusUnauthorized && w.Code != http.StatusTooManyRequests {
					t.Errorf("bad login: %d", w.Code)
				}
			}
		})
	}
	wg.Wait()
	if n := e.m.Len(); n > 16 {
		t.Errorf("%d sessions, want at most 16", n)
	}
}
