package session

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	e := newEnv(t, testConfig(), nil)
	from := func(q req, remote string) req { q.remote = remote; return q }
	bad := formLogin("alice", "guess")
	good := formLogin("alice", "alice's+password")
	for i := range 10 {
		if w := e.do(t, from(bad, "192.0.2.7:1000")); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, w.Code)
		}
		e.clk.Add(time.Second)
	}
	calls := e.users.calls
	// The 11th within the minute is refused, even with the right
	// password, without checking it.
	w := e.do(t, from(good, "192.0.2.7:1001"))
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("after 10 failures: %d, want 429", w.Code)
	}
	if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); ra != 50 {
		t.Errorf("Retry-After = %q, want 50 (the first failure leaves the window then)", w.Header().Get("Retry-After"))
	}
	if e.users.calls != calls {
		t.Error("a rate-limited login was checked")
	}
	// Other clients are not affected; an IPv6 /64 is one client.
	if w := e.do(t, from(good, "192.0.2.8:1000")); w.Code != http.StatusOK {
		t.Errorf("another address: %d, want 200", w.Code)
	}
	for i := range 10 {
		e.do(t, from(bad, "[2001:db8:1:2::"+strconv.Itoa(i+1)+"]:1000"))
	}
	if w := e.do(t, from(good, "[2001:db8:1:2:ffff::1]:1000")); w.Code != http.StatusTooManyRequests {
		t.Errorf("same IPv6 /64: %d, want 429", w.Code)
	}
	if w := e.do(t, from(good, "[2001:db8:1:3::1]:1000")); w.Code != http.StatusOK {
		t.Errorf("another IPv6 /64: %d, want 200", w.Code)
	}
	// A failure leaves the window a minute later: one attempt is allowed
	// again.
	e.clk.Add(50 * time.Second)
	if w := e.do(t, from(bad, "192.0.2.7:1002")); w.Code != http.StatusUnauthorized {
		t.Errorf("after the first failure left the window: %d, want 401", w.Code)
	}
	if w := e.do(t, from(good, "192.0.2.7:1003")); w.Code != http.StatusTooManyRequests {
		t.Errorf("right after a new failure: %d, want 429", w.Code)
	}
	e.clk.Add(time.Minute)
	if w := e.do(t, from(good, "192.0.2.7:1004")); w.Code != http.StatusOK {
		t.Errorf("a minute later: %d, want 200", w.Code)
	}
}

func TestClientKey(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:1234":          "192.0.2.1",
		"[::ffff:192.0.2.1]:1234": "192.0.2.1",
		"[2001:db8::1]:1":         "2001:db8::/64",
		"[2001:db8::1%eth0]:1":    "2001:db8::/64",
		"[2001:db8:0:0:1::9]:1":   "2001:db8::/64",
		"[2001:db8:0:1::9]:1":     "2001:db8:0:1::/64",
		"@":                       "@", // unix socket
		"not an address":          "not an address",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if got := clientKey(r); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", remote, got, want)
		}
	}
}

func TestLimiterBounded(t *testing.T) {
	l := limiter{max: 3, window: time.Minute, clients: map[string][]time.Time{}}
	for i := range maxClients + 100 {
		l.fail(strconv.Itoa(i), t0)
	}
	if len(l.clients) > maxClients {
		t.Errorf("%d clients kept, want at most %d", len(l.clients), maxClients)
	}
	for range 10 {
		l.fail("x", t0)
	}
	if n := len(l.clients["x"]); n != 3 {
		t.Errorf("%d failures kept for a client, want 3 (the limit)", n)
	}
	l.fail("y", t0.Add(2*time.Minute)) // table full: the expired ones go
	if len(l.clients) != 1 {
		t.Errorf("%d clients after the window, want 1", len(l.clients))
	}
}
