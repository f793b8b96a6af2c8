package session

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/store"
)

func TestLogin(t *testing.T) {
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name   string
		q      req
		status int
		errHas string // in the error message
	}{
		{"form", formLogin("alice", "alice's+password"), http.StatusOK, ""},
		{"json", req{method: "POST", path: LoginPath, ctype: "application/json; charset=utf-8", body: `{"name":"carol","password":"carol's password"}`}, http.StatusOK, ""},
		{"wrong password", formLogin("alice", "guess"), http.StatusUnauthorized, "invalid user name or password"},
		{"unknown user", formLogin("mallory", "guess"), http.StatusUnauthorized, "invalid user name or password"},
		{"one-time password", formLogin("onetime", "one+time"), http.StatusForbidden, "one-time password"},
		{"store failure", formLogin("broken", "x"), http.StatusInternalServerError, "unable to check"},
		{"no name", formLogin("", "x"), http.StatusBadRequest, "needs a name and a password"},
		{"unknown field", req{method: "POST", path: LoginPath, ctype: form, body: "name=a&password=b&x=1"}, http.StatusBadRequest, "unknown field"},
		{"json unknown field", req{method: "POST", path: LoginPath, ctype: "application/json", body: `{"name":"a","password":"b","admin":true}`}, http.StatusBadRequest, "unknown field"},
		{"no content type", req{method: "POST", path: LoginPath, body: "name=a&password=b"}, http.StatusUnsupportedMediaType, "application/json"},
		{"multipart", req{method: "POST", path: LoginPath, ctype: "multipart/form-data; boundary=x", body: "--x--"}, http.StatusUnsupportedMediaType, "application/json"},
		{"too long", req{method: "POST", path: LoginPath, ctype: form, body: "name=a&password=" + strings.Repeat("x", maxLoginBody)}, http.StatusRequestEntityTooLarge, "longer than"},
		{"GET", req{method: "GET", path: LoginPath}, http.StatusMethodNotAllowed, "not allowed"},
		{"cross origin", func() req {
			q := formLogin("alice", "alice's+password")
			q.headers = map[string]string{"Origin": "http://evil.example"}
			return q
		}(), http.StatusForbidden, "cross-origin"},
		{"same origin", func() req {
			q := formLogin("alice", "alice's+password")
			q.headers = map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}
			return q
		}(), http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testConfig(), nil)
			w := e.do(t, tc.q)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if tc.status != http.StatusOK {
				if msg := errorOf(t, w); !strings.Contains(msg, tc.errHas) {
					t.Errorf("error %q does not mention %q", msg, tc.errHas)
				}
				if len(w.Result().Cookies()) != 0 {
					t.Errorf("refused login sets cookies: %v", w.Header()["Set-Cookie"])
				}
				if e.m.Len() != 0 {
					t.Errorf("refused login left %d sessions", e.m.Len())
				}
				return
			}
			var info Info
			if err := json.Unmarshal(w.Body.Bytes(), &info); err != nil {
				t.Fatal(err)
			}
			if info.Name == "" || len(info.Roles) == 0 || info.Kind != "user" || len(info.CSRFToken) != 43 ||
				!info.Expires.Equal(t0.Add(8*time.Hour)) || !info.IdleExpires.Equal(t0.Add(30*time.Minute)) {
				t.Errorf("login answered %+v", info)
			}
			if e.m.Len() != 1 {
				t.Errorf("%d sessions, want 1", e.m.Len())
			}
		})
	}
}

func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[secure], func(t *testing.T) {
			cfg := testConfig()
			cfg.Secure = secure
			e := newEnv(t, cfg, nil)
			w := e.do(t, formLogin("alice", "alice's+password"))
			if w.Code != http.StatusOK {
				t.Fatalf("login: %d %s", w.Code, w.Body)
			}
			raw := w.Header()["Set-Cookie"]
			if len(raw) != 1 {
				t.Fatalf("Set-Cookie = %q, want one", raw)
			}
			c := sessionCookie(t, w, "acd_session")
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" ||
				c.Secure != secure || c.MaxAge != 8*3600 || len(c.Value) != 43 {
				t.Errorf("cookie %q: want HttpOnly, SameSite=Strict, Path=/, no Domain, Secure=%v, Max-Age=28800, 43-char value", raw[0], secure)
			}
			if strings.Contains(raw[0], "Secure") != secure {
				t.Errorf("cookie %q: Secure attribute wrong", raw[0])
			}
		})
	}
}

func TestSessionEndpoint(t *testing.T) {
	e := newEnv(t, testConfig(), nil)
	c, li := e.login(t, "carol", "carol's+password")
	e.clk.Add(10 * time.Minute)
	w := e.do(t, req{method: "GET", path: SessionPath, cookie: c})
	if w.Code != http.StatusOK {
		t.Fatalf("session: %d %s", w.Code, w.Body)
	}
	var info Info
	if err := json.Unmarshal(w.Body.Bytes(), &info); err != nil {
		t.Fatal(err)
	}
	want := Info{Name: "carol", Roles: []string{"commissioner", "auditor"}, Kind: "user", CSRFToken: li.CSRFToken,
		Expires: t0.Add(8 * time.Hour), IdleExpires: t0.Add(40 * time.Minute)}
	if info.Name != want.Name || strings.Join(info.Roles, ",") != strings.Join(want.Roles, ",") || info.Kind != want.Kind ||
		info.CSRFToken != want.CSRFToken || !info.Expires.Equal(want.Expires) || !info.IdleExpires.Equal(want.IdleExpires) {
		t.Errorf("session = %+v, want %+v", info, want)
	}
	if w := e.do(t, req{method: "GET", path: SessionPath}); w.Code != http.StatusUnauthorized {
		t.Errorf("session without cookie: %d, want 401", w.Code)
	}
	if w := e.do(t, req{method: "POST", path: SessionPath, cookie: c}); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST session: %d, want 405", w.Code)
	}
	if w := e.do(t, req{method: "GET", path: "/console/echo", cookie: c}); w.Body.String() != "carol commissioner,auditor user:carol" {
		t.Errorf("echo = %q, want principal and audit actor", w.Body)
	}
}

func TestExpiry(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []time.Duration // requests after these pauses
		alive bool            // at the last one
		// background marks the requests before the last as a page's
		// own refreshes (header), or event streams (Accept).
		background map[string]string
	}{
		{"fresh", []time.Duration{0}, true, nil},
		{"background refreshes are not activity", []time.Duration{20 * time.Minute, 15 * time.Minute}, false,
			map[string]string{BackgroundHeader: "1"}},
		{"an event stream is not activity", []time.Duration{20 * time.Minute, 15 * time.Minute}, false,
			map[string]string{"Accept": "text/event-stream"}},
		{"other headers are activity", []time.Duration{20 * time.Minute, 15 * time.Minute}, true,
			map[string]string{BackgroundHeader: "0", "Accept": "application/json"}},
		{"just before idle", []time.Duration{30*time.Minute - time.Second}, true, nil},
		{"idle", []time.Duration{30 * time.Minute}, false, nil},
		{"kept alive by requests", []time.Duration{25 * time.Minute, 25 * time.Minute, 25 * time.Minute}, true, nil},
		{"idle after activity", []time.Duration{25 * time.Minute, 31 * time.Minute}, false, nil},
		{"absolute TTL despite activity", func() []time.Duration {
			s := make([]time.Duration, 20) // 20 × 25 min = 8 h 20 min
			for i := range s {
				s[i] = 25 * time.Minute
			}
			return s
		}(), false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testConfig(), nil)
			c, _ := e.login(t, "alice", "alice's+password")
			var w = e.do(t, req{method: "GET", path: SessionPath, cookie: c})
			for i, d := range tc.steps {
				e.clk.Add(d)
				q := req{method: "GET", path: "/console/echo", cookie: c, headers: map[string]string{}}
				if i < len(tc.steps)-1 {
					q.headers = tc.background
				}
				w = e.do(t, q)
			}
			if alive := w.Code == http.StatusOK; alive != tc.alive {
				t.Fatalf("after %v: status %d, want alive=%v", tc.steps, w.Code, tc.alive)
			}
			if !tc.alive {
				if msg := errorOf(t, w); !strings.Contains(msg, "ended") {
					t.Errorf("error %q", msg)
				}
				if cleared := sessionCookie(t, w, "acd_session"); cleared.MaxAge >= 0 || cleared.Value != "" {
					t.Errorf("ended session's cookie not cleared: %+v", cleared)
				}
				if e.m.Len() != 0 {
					t.Errorf("ended session still kept")
				}
			}
		})
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, testConfig(), nil)
	c, info := e.login(t, "alice", "alice's+password")
	other, _ := e.login(t, "alice", "alice's+password") // a second browser
	if w := e.do(t, req{method: "POST", path: LogoutPath, cookie: c}); w.Code != http.StatusForbidden {
		t.Fatalf("logout without CSRF token: %d, want 403", w.Code)
	}
	if w := e.do(t, req{method: "GET", path: SessionPath, cookie: c}); w.Code != http.StatusOK {
		t.Fatalf("refused logout ended the session: %d", w.Code)
	}
	w := e.do(t, req{method: "POST", path: LogoutPath, cookie: c, headers: map[string]string{CSRFHeader: info.CSRFToken}})
	if w.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	if cleared := sessionCookie(t, w, "acd_session"); cleared.MaxAge >= 0 || cleared.Value != "" || !cleared.HttpOnly {
		t.Errorf("logout cookie %q does not expire it", w.Header()["Set-Cookie"])
	}
	if w := e.do(t, req{method: "GET", path: SessionPath, cookie: c}); w.Code != http.StatusUnauthorized {
		t.Errorf("session after logout: %d, want 401", w.Code)
	}
	if w := e.do(t, req{method: "GET", path: SessionPath, cookie: other}); w.Code != http.StatusOK {
		t.Errorf("other browser's session after logout: %d, want 200", w.Code)
	}
}

func TestLoginReplacesSession(t *testing.T) {
	e := newEnv(t, testConfig(), nil)
	old, _ := e.login(t, "alice", "alice's+password")
	q := formLogin("carol", "carol's+password")
	q.cookie = old
	w := e.do(t, q)
	if w.Code != http.StatusOK {
		t.Fatal(w.Code)
	}
	if fresh := sessionCookie(t, w, "acd_session"); fresh.Value == old.Value {
		t.Error("login kept the old session id")
	}
	if w := e.do(t, req{method: "GET", path: SessionPath, cookie: old}); w.Code != http.StatusUnauthorized {
		t.Errorf("old session after a new login: %d, want 401", w.Code)
	}
	if e.m.Len() != 1 {
		t.Errorf("%d sessions, want 1", e.m.Len())
	}
}

func TestBoundedSessions(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSessions = 3
	e := newEnv(t, cfg, nil)
	var cookies []*http.Cookie
	for range 5 {
		c, _ := e.login(t, "alice", "alice's+password")
		cookies = append(cookies, c)
		e.clk.Add(time.Second)
	}
	if e.m.Len() != 3 {
		t.Errorf("%d sessions, want 3", e.m.Len())
	}
	for i, c := range cookies {
		want := http.StatusOK
		if i < 2 {
			want = http.StatusUnauthorized // the two oldest were evicted
		}
		if w := e.do(t, req{method: "GET", path: SessionPath, cookie: c}); w.Code != want {
			t.Errorf("session %d: %d, want %d", i, w.Code, want)
		}
	}
}

func TestBadCookies(t *testing.T) {
	e := newEnv(t, testConfig(), nil)
	real, _ := e.login(t, "alice", "alice's+password")
	for _, v := range []string{"", "x", strings.Repeat("A", 43), real.Value + "A", real.Value[:42], strings.Repeat("=", 44), "%00"} {
		w := e.do(t, req{method: "GET", path: SessionPath, cookie: &http.Cookie{Name: "acd_session", Value: v}})
		if w.Code != http.StatusUnauthorized {
			t.Errorf("cookie %q: %d, want 401", v, w.Code)
		}
	}
}

func TestEndUser(t *testing.T) {
	e := newEnv(t, testConfig(), nil)
	a1, _ := e.login(t, "alice", "alice's+password")
	a2, _ := e.login(t, "alice", "alice's+password")
	c, _ := e.login(t, "carol", "carol's+password")
	if n := e.m.EndUser("alice"); n != 2 {
		t.Errorf("EndUser = %d, want 2", n)
	}
	for cookie, want := range map[*http.Cookie]int{a1: 401, a2: 401, c: 200} {
		if w := e.do(t, req{method: "GET", path: SessionPath, cookie: cookie}); w.Code != want {
			t.Errorf("after EndUser(alice): %d, want %d", w.Code, want)
		}
	}
	if n := e.m.EndUser("nobody"); n != 0 {
		t.Errorf("EndUser(nobody) = %d", n)
	}
}

func BenchmarkRequire(b *testing.B) {
	e := &env{clk: &clock{t: t0}, users: newFakeUsers()}
	e.m = New(testConfig(), Deps{Users: e.users, Now: e.clk.Now})
	for range 1000 { // a realistic table
		e.m.create(store.Principal{Name: "x", Roles: []string{"analyst"}})
	}
	id, s := e.m.create(store.Principal{Name: "alice", Roles: []string{"analyst"}})
	h := e.m.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("POST", "/console/echo", nil)
	r.AddCookie(&http.Cookie{Name: "acd_session", Value: id})
	r.Header.Set(CSRFHeader, s.csrf)
	r.Header.Set("Origin", "http://example.com")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if w.Code != http.StatusOK {
		b.Fatal(w.Code)
	}
}
