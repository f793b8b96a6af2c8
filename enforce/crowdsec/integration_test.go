//go:build linux

package crowdsec

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/peertest"
)

// The integration test runs Debian's crowdsec-firewall-bouncer (nftables
// mode) inside a network namespace it creates, against acd's Server
// listening on 127.0.0.1 inside that namespace, and reads the bouncer's
// nftables sets with nft -j.

// hit is one request a bouncer made.
type hit struct {
	Method, URI, Agent string
	Status             int
}

// recorder wraps the Server and remembers the requests.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	hits []hit
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sw := &statusWriter{w, http.StatusOK}
	r.h.ServeHTTP(sw, req)
	r.mu.Lock()
	r.hits = append(r.hits, hit{req.Method, req.URL.RequestURI(), req.UserAgent(), sw.code})
	r.mu.Unlock()
}

func (r *recorder) snapshot() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hits)
}

// waitFor polls cond every 50 ms for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool, b *peertest.Bouncer) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return time.Since(start)
		}
	}
	t.Fatalf("%s: not within 20 s; bouncer log:\n%s", what, b.Log())
	return 0
}

func blockFor(target string, end time.Time) cases.Action {
	return cases.Action{Type: cases.ActionBlock, Target: cases.MustTarget(target), NotBefore: time.Now(), NotAfter: end}
}

// lab is acd's Server in a namespace with a bouncer pulling from it.
type lab struct {
	t   *testing.T
	ns  *peertest.NetNS
	url string
	key string
	dec *Decisions
	rec *recorder
	b   *peertest.Bouncer
}

// newLab starts acd's Server with cfg (PullInterval set to the
// bouncers' 1 s) in a new namespace; start runs a bouncer against it.
func newLab(t *testing.T, cfg Config) *lab {
	peertest.Require(t, "crowdsec-firewall-bouncer", "nft")
	ns := peertest.NewNetNS(t)
	ln, err := ns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening in namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	cfg.PullInterval = time.Second
	dec := newDecisions(t, cfg, nil)
	keys := &MemKeys{}
	key := rand.Text()
	keys.Add("fw-test", key)
	rec := &recorder{h: &Server{Decisions: dec, Keys: keys, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}}
	srv := &http.Server{Handler: rec, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &lab{t: t, ns: ns, url: "http://" + ln.Addr().String() + "/", key: key, dec: dec, rec: rec}
}

func (l *lab) start(key string) { l.b = peertest.StartBouncer(l.t, l.ns, l.url, key) }

// elems returns the elements of the bouncer's two sets, address →
// timeout in seconds.
func (l *lab) elems() map[string]int {
	l.t.Helper()
	el, err := l.b.Banned()
	if err != nil {
		l.t.Fatal(err)
	}
	return el
}

// waitSet waits until every address of in is in the sets and none of
// out, and returns how long that took.
func (l *lab) waitSet(what string, in, out []string) time.Duration {
	l.t.Helper()
	return waitFor(l.t, what, func() bool {
		el := l.elems()
		for _, a := range in {
			if _, ok := el[a]; !ok {
				return false
			}
		}
		for _, a := range out {
			if _, ok := el[a]; ok {
				return false
			}
		}
		return true
	}, l.b)
}

// waitPulls waits until the bouncer has pulled n more times.
func (l *lab) waitPulls(n uint64) {
	l.t.Helper()
	pulls := func() uint64 {
		for _, b := range l.dec.Bouncers() {
			if b.Name == "fw-test" {
				return b.Pulls
			}
		}
		return 0
	}
	from := pulls()
	waitFor(l.t, fmt.Sprintf("%d pulls", n), func() bool { return pulls() >= from+n }, l.b)
}

func (l *lab) apply(c string, a cases.Action) {
	l.t.Helper()
	if err := l.dec.Apply(context.Background(), cases.Case{ID: c}, a); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) withdraw(c string, a cases.Action) {
	l.t.Helper()
	if err := l.dec.Withdraw(context.Background(), cases.Case{ID: c}, a); err != nil {
		l.t.Fatal(err)
	}
}

func TestFirewallBouncer(t *testing.T) {
	l := newLab(t, DefaultConfig())
	l.start(l.key)
	hour := time.Now().Add(time.Hour)
	v4, v6 := blockFor("192.0.2.7", hour), blockFor("2001:db8::7", hour)
	rng := blockFor("198.51.100.0/30", hour)
	rangeAddrs := []string{"198.51.100.0", "198.51.100.1", "198.51.100.2", "198.51.100.3"}

	t.Run("apply v4 v6 range", func(t *testing.T) {
		start := time.Now()
		l.apply("it-1", v4)
		l.apply("it-1", v6)
		l.apply("it-1", rng)
		l.waitSet("v4, v6 and the range's addresses in the sets", append([]string{"192.0.2.7", "2001:db8::7"}, rangeAddrs...), nil)
		t.Logf("apply → in set (v4, v6, /30): %s", time.Since(start).Round(time.Millisecond))
		if el := l.elems(); len(el) != 6 {
			t.Errorf("sets hold %v, want exactly the 6 addresses", el)
		}
	})
	t.Run("latency", func(t *testing.T) {
		var lat []time.Duration
		for i := range 5 {
			a := blockFor(fmt.Sprintf("192.0.2.%d", 100+i), hour)
			// A random phase against the bouncer's 1 s ticker, or every
			// apply would land just after a pull.
			time.Sleep(mrand.N(time.Second))
			start := time.Now()
			l.apply("it-lat", a)
			l.waitSet("latency probe", []string{a.Target.String()}, nil)
			lat = append(lat, time.Since(start))
			l.withdraw("it-lat", a)
		}
		slices.Sort(lat)
		t.Logf("apply → in set over %d applies (update_frequency 1s, polled every 50 ms): min %s median %s max %s",
			len(lat), lat[0].Round(time.Millisecond), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
		l.waitSet("latency probes withdrawn", nil, []string{"192.0.2.100", "192.0.2.104"})
	})
	t.Run("withdraw", func(t *testing.T) {
		l.withdraw("it-1", v4)
		l.waitSet("withdrawn v4 out, v6 kept", []string{"2001:db8::7"}, []string{"192.0.2.7"})
	})
	t.Run("end passes", func(t *testing.T) {
		short := blockFor("203.0.113.9", time.Now().Add(3*time.Second))
		l.apply("it-short", short)
		l.waitSet("short block in", []string{"203.0.113.9"}, nil)
		l.waitSet("short block out after its end", []string{"2001:db8::7"}, []string{"203.0.113.9"})
		if time.Now().Before(short.NotAfter) {
			t.Errorf("203.0.113.9 left the set before the action's end")
		}
	})
	t.Run("same address two cases", func(t *testing.T) {
		longer := blockFor("2001:db8::7", time.Now().Add(2*time.Hour))
		l.apply("it-2", longer)
		waitFor(t, "the longer ban's timeout on 2001:db8::7", func() bool { return l.elems()["2001:db8::7"] > 3600 }, l.b)
		l.withdraw("it-2", longer)
		waitFor(t, "case it-1's timeout back on 2001:db8::7", func() bool {
			to, ok := l.elems()["2001:db8::7"]
			return ok && to <= 3600
		}, l.b)
		l.waitPulls(2)
		if _, ok := l.elems()["2001:db8::7"]; !ok {
			t.Errorf("withdrawing case it-2 lifted case it-1's ban of 2001:db8::7")
		}
	})
	t.Run("restart", func(t *testing.T) {
		if err := l.b.Stop(); err != nil {
			t.Error(err)
		}
		if el := l.elems(); len(el) != 0 {
			t.Errorf("after SIGTERM the sets still hold %v; log:\n%s", el, l.b.Log())
		}
		l.start(l.key)
		l.waitSet("startup pull restores", append([]string{"2001:db8::7"}, rangeAddrs...), []string{"192.0.2.7"})
	})
	t.Run("crash restart cleans up", func(t *testing.T) {
		l.b.Kill()
		l.withdraw("it-1", rng)
		if el := l.elems(); len(el) != 5 {
			t.Fatalf("after SIGKILL the sets hold %v, want the 5 stale addresses", el)
		}
		l.start(l.key)
		l.waitSet("startup pull removes what was withdrawn while the bouncer was down", []string{"2001:db8::7"}, rangeAddrs)
	})
	t.Run("wrong key", func(t *testing.T) {
		if err := l.b.Stop(); err != nil {
			t.Error(err)
		}
		from := len(l.rec.snapshot())
		l.start("not-" + l.key)
		waitFor(t, "the bouncer with a wrong key refused", func() bool {
			for _, h := range l.rec.snapshot()[from:] {
				if h.Status == http.StatusForbidden {
					return true
				}
			}
			return false
		}, l.b)
		waitFor(t, "the bouncer with a wrong key exits", func() bool { done, _ := l.b.Exited(); return done }, l.b)
		if log := l.b.Log(); !strings.Contains(log, "access forbidden") {
			t.Errorf("the bouncer's log does not mention the refusal:\n%s", lastLines(log, 12))
		}
		if el := l.elems(); len(el) != 0 {
			t.Errorf("a bouncer with a wrong key installed %v", el)
		}
		for _, h := range l.rec.snapshot()[from:] {
			if h.Status != http.StatusForbidden {
				t.Errorf("wrong key: %s %s answered %d", h.Method, h.URI, h.Status)
			}
		}
	})
}

// TestFirewallBouncerCutsRanges records why Config.Ranges defaults to
// expand: sent a Range decision, crowdsec-firewall-bouncer 0.0.25 bans
// the network address alone. If this fails, the installed bouncer
// enforces ranges and RangesNative may suit it.
func TestFirewallBouncerCutsRanges(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Ranges = RangesNative
	l := newLab(t, cfg)
	l.start(l.key)
	l.apply("it-native", blockFor("198.51.100.0/30", time.Now().Add(time.Hour)))
	l.waitSet("the Range's network address", []string{"198.51.100.0"}, nil)
	l.waitPulls(2)
	if el := l.elems(); len(el) != 1 {
		t.Errorf("a native Range became %v, want the network address alone (the 0.0.25 behaviour)", el)
	}
	t.Logf("Range 198.51.100.0/30 sent natively → set holds %v", l.elems())
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
