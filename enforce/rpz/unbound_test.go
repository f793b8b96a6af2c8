package rpz

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/acd-org/acd/cases"
)

// need returns the path of a peer binary; without it the test skips,
// or fails under ACD_INTEGRATION=1.
func need(t testing.TB, bin string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/" + bin); serr == nil {
			return "/usr/sbin/" + bin
		}
		if os.Getenv("ACD_INTEGRATION") == "1" {
			t.Fatalf("%s not installed (run scripts/install-peers.sh)", bin)
		}
		t.Skipf("%s not installed; set ACD_INTEGRATION=1 under make test", bin)
	}
	return p
}

// freePort returns a loopback port free on UDP and TCP at the time of
// the call. It picks below the kernel's ephemeral range (32768-60999),
// so that no socket bound to port 0 meanwhile (acd's own server, other
// tests' clients) takes it before Unbound binds it.
func freePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		port := 20000 + rand.IntN(12000)
		pc, l, err := listen(fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		pc.Close()
		l.Close()
		return port
	}
	t.Fatal("no free port for unbound")
	return 0
}

// authority is the fake authoritative server of "example." that
// Unbound's stub zone points at: every name has an A record, 192.0.2.1
// unless listed in addrs.
type authority struct {
	addrs map[string]string
	addr  string
}

func (a *authority) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		soa := &dns.SOA{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 1},
			Ns: "ns.example.", Mbox: "x.example.", Serial: 1, Refresh: 60, Retry: 60, Expire: 60, Minttl: 1}
		switch ip := a.addrs[strings.ToLower(q.Name)]; {
		case q.Qtype == dns.TypeA:
			if ip == "" {
				ip = "192.0.2.1"
			}
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.ParseIP(ip)}}
		case q.Qtype == dns.TypeAAAA && strings.HasPrefix(strings.ToLower(q.Name), "v6"):
			// v6<anything>.example: the address is the rest of the first label
			// with '-' for ':' (v6-2001-db8--10.example is 2001:db8::10).
			label := strings.SplitN(strings.ToLower(q.Name), ".", 2)[0]
			addr := strings.ReplaceAll(strings.TrimPrefix(label, "v6-"), "-", ":")
			m.Answer = []dns.RR{&dns.AAAA{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 1}, AAAA: net.ParseIP(addr)}}
		case q.Qtype == dns.TypeNS && strings.EqualFold(q.Name, "example."):
			m.Answer = []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: "example.", Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 1}, Ns: "ns.example."}}
		default:
			m.Ns = []dns.RR{soa}
		}
	}
	w.WriteMsg(m)
}

func startAuthority(t testing.TB, addrs map[string]string) *authority {
	t.Helper()
	a := &authority{addrs: addrs}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: a}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	a.addr = pc.LocalAddr().String()
	return a
}

// unbound runs /usr/sbin/unbound in the foreground with an rpz clause
// fed by primary and a stub zone "example." at auth; it returns the
// address Unbound answers on.
func startUnbound(t testing.TB, bin string, port int, primary netip.AddrPort, auth string) string {
	t.Helper()
	dir := t.TempDir()
	authAP := netip.MustParseAddrPort(auth)
	conf := fmt.Sprintf(`server:
	interface: 127.0.0.1
	port: %d
	do-daemonize: no
	chroot: ""
	username: ""
	directory: "%s"
	pidfile: "%s/unbound.pid"
	use-syslog: no
	logfile: ""
	verbosity: 2
	num-threads: 1
	do-ip6: no
	module-config: "respip validator iterator"
	do-not-query-localhost: no
	qname-minimisation: no
	domain-insecure: "example."
	access-control: 127.0.0.0/8 allow
stub-zone:
	name: "example."
	stub-addr: %s@%d
rpz:
	name: "rpz.acd."
	primary: %s@%d
	allow-notify: 127.0.0.1
	zonefile: "%s/rpz.acd.zone"
	rpz-log: yes
`, port, dir, dir, authAP.Addr(), authAP.Port(), primary.Addr(), primary.Port(), dir)
	confPath := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(filepath.Dir(bin), "unbound-checkconf"), confPath).CombinedOutput(); err != nil {
		t.Logf("unbound-checkconf: %v: %s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "unbound.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", "-c", confPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("unable to start unbound: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case err := <-exited:
			if t.Failed() {
				t.Logf("unbound exited: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("unbound did not exit after SIGKILL")
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("unbound log:\n%s", b)
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// resolve asks Unbound for name's A record (AAAA for names v6-…).
func resolve(addr, name string) (*dns.Msg, error) {
	m := new(dns.Msg)
	qt := dns.TypeA
	if strings.HasPrefix(name, "v6-") {
		qt = dns.TypeAAAA
	}
	m.SetQuestion(dns.Fqdn(name), qt)
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	resp, _, err := c.Exchange(m, addr)
	return resp, err
}

// answer sums up a resolver's answer: "NXDOMAIN", "A 192.0.2.1", …
func answer(resp *dns.Msg, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if resp.Rcode != dns.RcodeSuccess {
		return dns.RcodeToString[resp.Rcode]
	}
	var parts []string
	for _, rr := range resp.Answer {
		switch a := rr.(type) {
		case *dns.A:
			parts = append(parts, "A "+a.A.String())
		case *dns.AAAA:
			parts = append(parts, "AAAA "+a.AAAA.String())
		}
	}
	if len(parts) == 0 {
		return "NODATA"
	}
	return strings.Join(parts, ",")
}

// eventually polls Unbound for name until it answers want (20 s at most)
// and returns how long that took.
func eventually(t testing.TB, addr, name, want string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	var got string
	for {
		got = answer(resolve(addr, name))
		if got == want {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("unbound answers %s for %s after 20 s, want %s", got, name, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rig is acd's RPZ and an Unbound consuming it.
type rig struct {
	r       *RPZ
	unbound string
}

func newRig(t testing.TB, cfg Config, addrs map[string]string) *rig {
	t.Helper()
	bin := need(t, "unbound")
	auth := startAuthority(t, addrs)
	port := freePort(t)
	cfg.Listen = "127.0.0.1:0"
	cfg.Notify = []string{fmt.Sprintf("127.0.0.1:%d", port)}
	var logger = quiet()
	if tt, ok := t.(*testing.T); ok {
		logger = testLogger(tt)
	}
	r, err := New(cfg, Deps{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	r.notifyTimeout = 500 * time.Millisecond
	r.notifyRetries = 10
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	g := &rig{r: r, unbound: startUnbound(t, bin, port, r.Addr(), auth.addr)}
	// Unbound is up and has transferred the zone.
	eventually(t, g.unbound, "probe.example", "A 192.0.2.1")
	waitFor2(t, "unbound's first transfer", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		s, ok := r.seen[netip.MustParseAddr("127.0.0.1")]
		return ok && s == r.z.soa.Serial
	})
	return g
}

// waitFor2 is waitFor for testing.TB.
func waitFor2(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUnbound(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Config)
		policy string // what a triggered name answers
	}{
		{"nxdomain", func(*Config) {}, "NXDOMAIN"},
		{"sinkhole", func(c *Config) { c.Policy, c.SinkholeV4 = PolicySinkhole, "192.0.2.66" }, "A 192.0.2.66"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			g := newRig(t, cfg, map[string]string{"ipbad.example.": "198.51.100.7", "netbad.example.": "203.0.113.9"})
			ctx := context.Background()
			now := time.Now()
			win := func(a cases.Action) cases.Action { a.NotBefore, a.NotAfter = now, now.Add(time.Hour); return a }
			c := kase("case-1", win(sinkhole("evil.example", false)), win(sinkhole("c2.bad.example", true)),
				win(sinkhole("198.51.100.7", false)), win(sinkhole("203.0.113.0/24", false)))

			// Before: the stub's answers.
			for _, n := range []string{"evil.example", "x.c2.bad.example", "ipbad.example"} {
				eventually(t, g.unbound, n, map[string]string{"ipbad.example": "A 198.51.100.7"}[n]+map[bool]string{true: "A 192.0.2.1"}[n != "ipbad.example"])
			}

			apply(t, g.r, c, 0)
			t.Logf("apply -> unbound answers the policy: %s", eventually(t, g.unbound, "evil.example", tc.policy))
			eventually(t, g.unbound, "sub.evil.example", "A 192.0.2.1") // no subdomains asked

			apply(t, g.r, c, 1)
			t.Logf("apply (subdomains) -> unbound: %s", eventually(t, g.unbound, "x.y.c2.bad.example", tc.policy))
			eventually(t, g.unbound, "c2.bad.example", tc.policy)

			// IP triggers (response IP): the answer's address is caught.
			apply(t, g.r, c, 2)
			t.Logf("apply (ip trigger) -> unbound: %s", eventually(t, g.unbound, "ipbad.example", tc.policy))
			apply(t, g.r, c, 3)
			eventually(t, g.unbound, "netbad.example", tc.policy)

			if tc.name == "nxdomain" { // IPv6 IP triggers ("zz" form)
				v6 := kase("case-6", win(sinkhole("2001:db8::10", false)), win(sinkhole("2001:db8:0:abcd::/64", false)))
				eventually(t, g.unbound, "v6-2001-db8--10.example", "AAAA 2001:db8::10")
				apply(t, g.r, v6, 0)
				eventually(t, g.unbound, "v6-2001-db8--10.example", "NXDOMAIN")
				eventually(t, g.unbound, "v6-2001-db8--11.example", "AAAA 2001:db8::11")
				apply(t, g.r, v6, 1)
				eventually(t, g.unbound, "v6-2001-db8-0-abcd--99.example", "NXDOMAIN")
				withdraw(t, g.r, v6, 0)
				withdraw(t, g.r, v6, 1)
				eventually(t, g.unbound, "v6-2001-db8--10.example", "AAAA 2001:db8::10")
			}

			withdraw(t, g.r, c, 0)
			t.Logf("withdraw -> unbound answers the stub again: %s", eventually(t, g.unbound, "evil.example", "A 192.0.2.1"))
			eventually(t, g.unbound, "x.c2.bad.example", tc.policy) // the others stay

			// Sync to nothing removes everything in one change.
			if d, err := g.r.Sync(ctx, nil); err != nil || d.Extra != 3 {
				t.Fatalf("sync: %+v, %v", d, err)
			}
			eventually(t, g.unbound, "x.c2.bad.example", "A 192.0.2.1")
			eventually(t, g.unbound, "ipbad.example", "A 198.51.100.7")
			// Unbound holds our serial: a Sync sees no lag.
			waitFor2(t, "unbound's transfer", func() bool {
				g.r.mu.Lock()
				defer g.r.mu.Unlock()
				return g.r.seen[netip.MustParseAddr("127.0.0.1")] == g.r.z.soa.Serial
			})
			if d, err := g.r.Sync(ctx, nil); err != nil || d.Total() != 0 {
				t.Fatalf("sync after unbound caught up: %+v, %v", d, err)
			}
			st := g.r.Stats()
			t.Logf("stats: %+v", st)
			if st.IXFR == 0 || st.NotifyOK == 0 {
				t.Fatalf("unbound made no incremental transfer or got no NOTIFY: %+v", st)
			}
		})
	}
}

// BenchmarkApplyUnbound measures Apply until Unbound answers NXDOMAIN
// for the name (NOTIFY, SOA probe, IXFR, policy in force).
func BenchmarkApplyUnbound(b *testing.B) {
	g := newRig(b, DefaultConfig(), nil)
	now := time.Now()
	var mu sync.Mutex
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a := sinkhole(fmt.Sprintf("bench-%d.example", i), false)
		a.NotBefore, a.NotAfter = now, now.Add(time.Hour)
		c := kase(fmt.Sprintf("case-%d", i), a)
		mu.Lock()
		if err := g.r.Apply(context.Background(), c, a); err != nil {
			b.Fatal(err)
		}
		mu.Unlock()
		eventually(b, g.unbound, a.Target.Domain(), "NXDOMAIN")
	}
}
