package session

import (
	"net"
	"net/http"
	"net/netip"
	"time"
)

// maxClients bounds the client addresses whose failed logins are
// remembered.
const maxClients = 10000

// limiter counts failed logins per client over a sliding window.
type limiter struct {
	max     int
	window  time.Duration
	clients map[string][]time.Time // failures within the window, oldest first
}

// clientKey is the rate-limited unit of a request: its peer's IPv4
// address or IPv6 /64 (one host usually has a whole /64). Forwarding
// headers are not trusted.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// blocked returns how long client must wait before its next login, 0
// when it may log in now.
func (l *limiter) blocked(client string, now time.Time) time.Duration {
	fails := l.trim(client, now)
	if len(fails) < l.max {
		return 0
	}
	return fails[len(fails)-l.max].Add(l.window).Sub(now)
}

// fail records a failed login of client.
func (l *limiter) fail(client string, now time.Time) {
	fails := l.trim(client, now)
	if fails == nil && len(l.clients) >= maxClients {
		l.sweep(now)
		for k := range l.clients { // still full: forget an arbitrary one
			if len(l.clients) < maxClients {
				break
			}
			delete(l.clients, k)
		}
	}
	if len(fails) >= l.max {
		fails = fails[len(fails)-l.max+1:]
	}
	l.clients[client] = append(fails, now)
}

// trim drops client's failures older than the window and returns the
// rest.
func (l *limiter) trim(client string, now time.Time) []time.Time {
	fails := l.clients[client]
	i := 0
	for i < len(fails) && !now.Before(fails[i].Add(l.window)) {
		i++
	}
	switch {
	case i == len(fails):
		delete(l.clients, client)
		return nil
	case i > 0:
		fails = append(fails[:0:0], fails[i:]...)
		l.clients[client] = fails
	}
	return fails
}

// sweep forgets the clients without a failure in the window.
func (l *limiter) sweep(now time.Time) {
	for k := range l.clients {
		l.trim(k, now)
	}
}
