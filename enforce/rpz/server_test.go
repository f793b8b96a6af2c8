package rpz

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/acd-org/acd/cases"
)

const testSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LWtleQ=="

// xfr runs a transfer of m against addr, signed with key (name:secret)
// when set, and returns the records or the first error.
func xfr(t *testing.T, addr netip.AddrPort, m *dns.Msg, key, secret string) ([]dns.RR, int, error) {
	t.Helper()
	tr := &dns.Transfer{}
	if key != "" {
		tr.TsigSecret = map[string]string{key: secret}
		m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
	}
	ch, err := tr.In(m, addr.String())
	if err != nil {
		return nil, 0, err
	}
	var rrs []dns.RR
	n := 0
	for env := range ch {
		if env.Error != nil {
			return rrs, n, env.Error
		}
		n++
		rrs = append(rrs, env.RR...)
	}
	return rrs, n, nil
}

func axfrMsg(zone string) *dns.Msg { m := new(dns.Msg); m.SetAxfr(zone); return m }

func ixfrMsg(zone string, serial uint32) *dns.Msg {
	m := new(dns.Msg)
	m.SetIxfr(zone, serial, "localhost.", "hostmaster.rpz.acd.")
	return m
}

func exchange(t *testing.T, addr netip.AddrPort, net string, m *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: net, Timeout: 5 * time.Second}
	resp, _, err := c.Exchange(m, addr.String())
	if err != nil {
		t.Fatalf("%s exchange: %v", net, err)
	}
	return resp
}

func TestTransfers(t *testing.T) {
	r, _ := newRPZ(t, testConfig())
	start(t, r)
	c := kase("case-1", sinkhole("evil.example", true), sinkhole("198.51.100.7", false))
	apply(t, r, c, 0)
	s1 := r.Serial()
	apply(t, r, c, 1)
	s2 := r.Serial()
	addr := r.Addr()

	rrs, _, err := xfr(t, addr, axfrMsg("rpz.acd."), "", "")
	if err != nil {
		t.Fatalf("AXFR: %v", err)
	}
	if diff := cmp.Diff(rrStrings(rrs), rrStrings(r.z.axfr())); diff != "" || len(rrs) != 6 {
		t.Fatalf("AXFR (-got, +want):\n%s", diff)
	}

	rrs, _, err = xfr(t, addr, ixfrMsg("rpz.acd.", s1), "", "")
	if err != nil {
		t.Fatalf("IXFR: %v", err)
	}
	soa := func(s uint32) string {
		return fmt.Sprintf("rpz.acd. SOA localhost. hostmaster.rpz.acd. %d 300 60 86400 60", s)
	}
	want := []string{soa(s2), soa(s1), soa(s2), "32.7.100.51.198.rpz-ip.rpz.acd. CNAME .", soa(s2)}
	if diff := cmp.Diff(rrStrings(rrs), want); diff != "" {
		t.Fatalf("IXFR (-got, +want):\n%s", diff)
	}

	// Older than the journal: the whole zone (AXFR form inside IXFR).
	rrs, _, err = xfr(t, addr, ixfrMsg("rpz.acd.", s1-1000), "", "")
	if err != nil || len(rrs) != 6 {
		t.Fatalf("IXFR fallback: %d records, %v; want the 6 of the zone", len(rrs), err)
	}

	// IXFR over UDP: the current SOA alone (use TCP).
	resp := exchange(t, addr, "udp", ixfrMsg("rpz.acd.", s1))
	if diff := cmp.Diff(rrStrings(resp.Answer), []string{soa(s2)}); diff != "" {
		t.Fatalf("IXFR over UDP (-got, +want):\n%s", diff)
	}
	// AXFR over UDP is refused.
	if resp := exchange(t, addr, "udp", axfrMsg("rpz.acd.")); resp.Rcode != dns.RcodeRefused {
		t.Fatalf("AXFR over UDP: %s", dns.RcodeToString[resp.Rcode])
	}
	want2 := Stats{Changes: 2, AXFR: 1, IXFR: 1, IXFRFull: 1, Refused: 1}
	if diff := cmp.Diff(r.Stats(), want2); diff != "" {
		t.Fatalf("stats (-got, +want):\n%s", diff)
	}
}

func TestQueries(t *testing.T) {
	cfg := testConfig()
	cfg.AllowTransfer = []string{"192.0.2.0/24"} // not the test's loopback
	r, _ := newRPZ(t, cfg)
	start(t, r)
	apply(t, r, kase("case-1", sinkhole("evil.example", false)), 0)
	addr := r.Addr()
	q := func(name string, qt uint16) *dns.Msg { m := new(dns.Msg); m.SetQuestion(name, qt); return m }
	for _, tc := range []struct {
		name  string
		net   string
		m     *dns.Msg
		rcode int
		aa    bool
		ans   []string
	}{
		{"soa udp, anyone", "udp", q("rpz.acd.", dns.TypeSOA), dns.RcodeSuccess, true, []string{fmt.Sprintf("rpz.acd. SOA localhost. hostmaster.rpz.acd. %d 300 60 86400 60", r.Serial())}},
		{"soa tcp, upper case", "tcp", q("RPZ.ACD.", dns.TypeSOA), dns.RcodeSuccess, true, []string{fmt.Sprintf("rpz.acd. SOA localhost. hostmaster.rpz.acd. %d 300 60 86400 60", r.Serial())}},
		{"other zone", "udp", q("example.com.", dns.TypeSOA), dns.RcodeRefused, false, nil},
		{"data refused outside allow_transfer", "udp", q("evil.example.rpz.acd.", dns.TypeA), dns.RcodeRefused, false, nil},
		{"axfr refused outside allow_transfer", "tcp", axfrMsg("rpz.acd."), dns.RcodeRefused, false, nil},
		{"notify to the primary", "udp", func() *dns.Msg { m := new(dns.Msg); m.SetNotify("rpz.acd."); return m }(), dns.RcodeRefused, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := exchange(t, addr, tc.net, tc.m)
			if resp.Rcode != tc.rcode || resp.Authoritative != tc.aa {
				t.Fatalf("rcode %s aa %v, want %s aa %v", dns.RcodeToString[resp.Rcode], resp.Authoritative, dns.RcodeToString[tc.rcode], tc.aa)
			}
			if diff := cmp.Diff(rrStrings(resp.Answer), tc.ans); diff != "" {
				t.Fatalf("answer (-got, +want):\n%s", diff)
			}
		})
	}
}

func TestQueriesAllowed(t *testing.T) {
	r, _ := newRPZ(t, testConfig())
	start(t, r)
	apply(t, r, kase("case-1", sinkhole("evil.example", true), sinkhole("198.51.100.7", false)), 0)
	q := func(name string, qt uint16) *dns.Msg { m := new(dns.Msg); m.SetQuestion(name, qt); return m }
	for _, tc := range []struct {
		name  string
		m     *dns.Msg
		rcode int
		ans   int
		ns    int
	}{
		{"trigger A gets its CNAME", q("evil.example.rpz.acd.", dns.TypeA), dns.RcodeSuccess, 1, 0},
		{"wildcard owner", q("*.evil.example.rpz.acd.", dns.TypeCNAME), dns.RcodeSuccess, 1, 0},
		{"absent", q("good.example.rpz.acd.", dns.TypeA), dns.RcodeNameError, 0, 1},
		{"empty non-terminal", q("example.rpz.acd.", dns.TypeA), dns.RcodeSuccess, 0, 1},
		{"apex NS", q("rpz.acd.", dns.TypeNS), dns.RcodeSuccess, 1, 0},
		{"apex A: nodata", q("rpz.acd.", dns.TypeA), dns.RcodeSuccess, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := exchange(t, r.Addr(), "udp", tc.m)
			if resp.Rcode != tc.rcode || len(resp.Answer) != tc.ans || len(resp.Ns) != tc.ns {
				t.Fatalf("got %s, want rcode %s, %d answers, %d authority", resp, dns.RcodeToString[tc.rcode], tc.ans, tc.ns)
			}
		})
	}
}

func TestTSIG(t *testing.T) {
	cfg := testConfig()
	cfg.TSIG = TSIG{Name: "acd-rpz.", Algorithm: "hmac-sha256", Secret: testSecret}
	r, _ := newRPZ(t, cfg)
	start(t, r)
	// Enough records for several messages: TSIG on each is checked.
	var acts []cases.Action
	for i := range 1500 {
		acts = append(acts, sinkhole(fmt.Sprintf("host-%04d.some-long-label-for-size.example", i), false))
	}
	c := kase("case-1", acts...)
	for i := range acts {
		apply(t, r, c, i)
	}
	wrong := "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmc="
	for _, tc := range []struct {
		name, key, secret string
		m                 *dns.Msg
		err               string // "" for success
	}{
		{"axfr without tsig", "", "", axfrMsg("rpz.acd."), "bad xfr rcode: 5"},
		// The NOTAUTH answer is unsigned: the client sees no signature.
		{"axfr unknown key", "other-key.", testSecret, axfrMsg("rpz.acd."), "no signature found"},
		{"axfr wrong secret", "acd-rpz.", wrong, axfrMsg("rpz.acd."), "no signature found"},
		{"ixfr without tsig", "", "", ixfrMsg("rpz.acd.", 1), "bad xfr rcode: 5"},
		{"axfr right key", "acd-rpz.", testSecret, axfrMsg("rpz.acd."), ""},
		{"ixfr right key", "acd-rpz.", testSecret, ixfrMsg("rpz.acd.", r.Serial()-10), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rrs, msgs, err := xfr(t, r.Addr(), tc.m, tc.key, tc.secret)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("transfer: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("transfer: %v, want %q", err, tc.err)
			case tc.err == "" && tc.m.Question[0].Qtype == dns.TypeAXFR && (len(rrs) != 1503 || msgs < 2):
				t.Fatalf("AXFR: %d records in %d messages, want 1503 in several", len(rrs), msgs)
			case tc.err == "" && tc.m.Question[0].Qtype == dns.TypeIXFR && len(rrs) != 1+10*3+1:
				t.Fatalf("IXFR: %d records, want %d", len(rrs), 1+10*3+1)
			}
		})
	}
}

func TestTSIGRcode(t *testing.T) {
	cfg := testConfig()
	cfg.TSIG = TSIG{Name: "acd-rpz.", Secret: testSecret}
	r, _ := newRPZ(t, cfg)
	start(t, r)
	wrong := "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmc="
	for _, tc := range []struct {
		name, key, secret string
		rcode             int
	}{
		{"unknown key", "other-key.", testSecret, dns.RcodeNotAuth},
		{"wrong secret", "acd-rpz.", wrong, dns.RcodeNotAuth},
		{"right key", "acd-rpz.", testSecret, dns.RcodeSuccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := axfrMsg("rpz.acd.")
			m.SetTsig(tc.key, dns.HmacSHA256, 300, time.Now().Unix())
			co, err := dns.DialTimeout("tcp", r.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer co.Close()
			co.TsigSecret = map[string]string{tc.key: tc.secret} // signs, and verifies a signed answer
			if err := co.WriteMsg(m); err != nil {
				t.Fatal(err)
			}
			resp, err := co.ReadMsg()
			if err != nil {
				t.Fatal(err)
			}
			if resp.Rcode != tc.rcode || (tc.rcode == dns.RcodeSuccess) != (resp.IsTsig() != nil) {
				t.Fatalf("rcode %s, signed %v; want %s, signed only on success", dns.RcodeToString[resp.Rcode], resp.IsTsig() != nil, dns.RcodeToString[tc.rcode])
			}
		})
	}
}

// secondary is a fake secondary: it answers NOTIFY (counting them) and
// SOA queries with serial.
type secondary struct {
	mu       sync.Mutex
	notifies []uint32 // serials announced
	serial   uint32
	answer   bool // answer SOA queries
	addr     string
}

func (s *secondary) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case req.Opcode == dns.OpcodeNotify:
		var serial uint32
		if len(req.Answer) == 1 {
			if soa, ok := req.Answer[0].(*dns.SOA); ok {
				serial = soa.Serial
			}
		}
		s.notifies = append(s.notifies, serial)
	case s.answer && req.Question[0].Qtype == dns.TypeSOA:
		m.Authoritative = true
		m.Answer = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeSOA, Class: dns.ClassINET},
			Ns: "localhost.", Mbox: "x.", Serial: s.serial}}
	default:
		m.Rcode = dns.RcodeServerFailure
	}
	w.WriteMsg(m)
}

func (s *secondary) seen() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint32(nil), s.notifies...)
}

func startSecondary(t *testing.T, answer bool) *secondary {
	t.Helper()
	s := &secondary{answer: answer}
	started := make(chan struct{})
	srv := &dns.Server{Addr: "127.0.0.1:0", Net: "udp", Handler: s, NotifyStartedFunc: func() { close(started) }}
	go srv.ListenAndServe()
	<-started
	s.addr = srv.PacketConn.LocalAddr().String()
	t.Cleanup(func() { srv.Shutdown() })
	return s
}

// waitFor polls cond until it holds or 20 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNotifyAndLag(t *testing.T) {
	soaSec := startSecondary(t, true) // answers SOA queries
	blind := startSecondary(t, false) // does not (like Unbound)
	cfg := testConfig()
	cfg.Notify = []string{soaSec.addr, blind.addr}
	r, _ := newRPZ(t, cfg)
	r.probeTimeout = time.Second
	start(t, r)
	// Start announces the serial.
	s0 := r.Serial()
	for _, s := range []*secondary{soaSec, blind} {
		waitFor(t, "the start NOTIFY", func() bool { n := s.seen(); return len(n) > 0 && n[len(n)-1] == s0 })
	}
	c := kase("case-1", sinkhole("evil.example", false))
	apply(t, r, c, 0)
	s1 := r.Serial()
	for _, s := range []*secondary{soaSec, blind} {
		waitFor(t, "the change NOTIFY", func() bool { n := s.seen(); return len(n) > 0 && n[len(n)-1] == s1 })
	}

	// The SOA-answering one says it holds s0: it lags. The blind one
	// never transferred: unknown, notified too.
	soaSec.mu.Lock()
	soaSec.serial = s0
	soaSec.mu.Unlock()
	before := [2]int{len(soaSec.seen()), len(blind.seen())}
	d, err := r.Sync(context.Background(), items(c))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("secondary %s at serial %d (soa), zone at %d: notified", soaSec.addr, s0, s1),
		fmt.Sprintf("secondary %s: serial unknown (no SOA answer, no transfer seen), zone at %d: notified", blind.addr, s1),
	}
	if diff := cmp.Diff(d.Details, want); diff != "" || d.Changed != 2 || d.Missing+d.Extra != 0 {
		t.Fatalf("sync drift %+v (-got, +want):\n%s", d, diff)
	}
	waitFor(t, "the re-NOTIFY", func() bool { return len(soaSec.seen()) > before[0] && len(blind.seen()) > before[1] })

	// Both up to date: no drift.
	soaSec.mu.Lock()
	soaSec.serial = s1
	soaSec.mu.Unlock()
	blind.mu.Lock()
	blind.answer, blind.serial = true, s1
	blind.mu.Unlock()
	d, err = r.Sync(context.Background(), items(c))
	if err != nil || d.Total() != 0 {
		t.Fatalf("sync with an up-to-date secondary: %+v, %v", d, err)
	}

	// A secondary ahead (acd restarted with a lower serial): jump past it.
	soaSec.mu.Lock()
	soaSec.serial = s1 + 1000
	soaSec.mu.Unlock()
	d, err = r.Sync(context.Background(), items(c))
	if err != nil || d.Changed != 1 || r.Serial() != s1+1001 {
		t.Fatalf("sync with a secondary ahead: %+v, %v, serial %d (want %d)", d, err, r.Serial(), s1+1001)
	}
	waitFor(t, "the NOTIFY after the jump", func() bool { n := soaSec.seen(); return n[len(n)-1] == s1+1001 })
}
