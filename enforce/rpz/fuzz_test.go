package rpz

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// FuzzRespond feeds the request handler arbitrary DNS messages: it must
// never panic, and every reply must pack and carry the request's id.
func FuzzRespond(f *testing.F) {
	seed := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true, true)
		f.Add(b, false, false)
	}
	seed(axfrMsg("rpz.acd."))
	seed(ixfrMsg("rpz.acd.", 1795694400))
	seed(ixfrMsg("rpz.acd.", 1))
	for _, q := range []struct {
		name string
		t    uint16
	}{{"rpz.acd.", dns.TypeSOA}, {"evil.example.rpz.acd.", dns.TypeA}, {"example.rpz.acd.", dns.TypeANY},
		{"rpz.acd.", dns.TypeNS}, {"example.com.", dns.TypeA}} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.t)
		m.SetEdns0(4096, false)
		seed(m)
	}
	n := new(dns.Msg)
	n.SetNotify("rpz.acd.")
	seed(n)
	signed := axfrMsg("rpz.acd.")
	signed.SetTsig("acd-rpz.", dns.HmacSHA256, 300, time.Now().Unix())
	if b, _, err := dns.TsigGenerate(signed, testSecret, "", false); err == nil {
		f.Add(b, true, true)
	}

	cfg := DefaultConfig()
	cfg.TSIG = TSIG{Name: "acd-rpz.", Secret: testSecret}
	r, err := New(cfg, Deps{Logger: quiet(), Now: func() time.Time { return t0 }})
	if err != nil {
		f.Fatal(err)
	}
	c := kase("case-1", sinkhole("evil.example", true), sinkhole("198.51.100.7", false))
	for i := range c.Actions {
		if err := r.Apply(f.Context(), c, c.Actions[i]); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, tcp, allowed bool) {
		req := new(dns.Msg)
		if err := req.Unpack(b); err != nil {
			return
		}
		from := netip.MustParseAddr("192.0.2.1")
		if allowed {
			from = netip.MustParseAddr("127.0.0.1")
		}
		for _, tsigErr := range []error{nil, errors.New("bad")} {
			rep := r.respond(req, from, tcp, tsigErr)
			if len(rep.msgs) == 0 {
				t.Fatal("no reply")
			}
			for _, m := range rep.msgs {
				if m.Id != req.Id || !m.Response {
					t.Fatalf("reply id %d response %v to request %d", m.Id, m.Response, req.Id)
				}
				if _, err := m.Pack(); err != nil {
					t.Fatalf("reply does not pack: %v\n%s", err, m)
				}
			}
		}
	})
}
