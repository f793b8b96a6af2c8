package rpz

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Start listens on Config.Listen over UDP and TCP (the same port; with
// port 0 a free one, see Addr), serves the zone and starts one NOTIFY
// sender per notify target. Stop undoes it; ctx bounds the senders too.
func (r *RPZ) Start(ctx context.Context) error {
	r.srvMu.Lock()
	defer r.srvMu.Unlock()
	if r.servers != nil {
		return errors.New("rpz: already started")
	}
	pc, l, err := listen(r.cfg.Listen)
	if err != nil {
		return err
	}
	ap := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	r.addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	var tsig map[string]string
	if r.cfg.TSIG.Name != "" {
		tsig = map[string]string{dns.CanonicalName(r.cfg.TSIG.Name): string(r.cfg.TSIG.Secret)}
	}
	r.servers = []*dns.Server{
		{PacketConn: pc, Handler: r, TsigSecret: tsig},
		{Listener: l, Handler: r, TsigSecret: tsig, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second},
	}
	ctx, r.cancel = context.WithCancel(ctx)
	for _, s := range r.servers {
		r.wg.Go(func() {
			if err := s.ActivateAndServe(); err != nil {
				r.log.Error("rpz server stopped", "addr", r.addr.String(), "error", err)
			}
		})
	}
	for i := range r.targets {
		r.wg.Go(func() { r.notifier(ctx, i) })
	}
	r.kickAll() // a restarted primary announces its serial
	r.log.Info("rpz serving", "zone", r.cfg.Zone, "addr", r.addr.String(), "serial", r.Serial())
	return nil
}

// listen opens UDP and TCP on the same address; with port 0 it retries
// until a port free on UDP is free on TCP too.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	var last error
	for range 20 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("rpz: unable to listen on udp %s: %w", addr, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		last = err
		if !strings.HasSuffix(addr, ":0") {
			break
		}
	}
	return nil, nil, fmt.Errorf("rpz: unable to listen on tcp %s: %w", addr, last)
}

// Addr returns the address served (after Start).
func (r *RPZ) Addr() netip.AddrPort {
	r.srvMu.Lock()
	defer r.srvMu.Unlock()
	return r.addr
}

// Stop stops serving and sending NOTIFYs, and waits for them.
func (r *RPZ) Stop() error {
	r.srvMu.Lock()
	defer r.srvMu.Unlock()
	if r.servers == nil {
		return nil
	}
	r.cancel()
	var errs []error
	for _, s := range r.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	r.wg.Wait()
	r.servers = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("rpz: unable to stop the server: %w", err)
	}
	return nil
}

// reply is what ServeDNS writes for one request.
type reply struct {
	msgs   []*dns.Msg
	sign   bool   // sign each message with the TSIG key
	xfr    bool   // a transfer (or IXFR up-to-date answer) of serial
	serial uint32 // the serial sent
}

// ServeDNS answers one request (dns.Handler).
func (r *RPZ) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	from, tcp := remote(w)
	rep := r.respond(req, from, tcp, w.TsigStatus())
	if len(rep.msgs) > 0 {
		if rc := rep.msgs[0].Rcode; rc == dns.RcodeRefused || rc == dns.RcodeNotAuth {
			r.counters.refused.Add(1)
		}
	}
	for _, m := range rep.msgs {
		if rep.sign {
			// TSIG time is the wall clock: the peer checks it against its own.
			m.SetTsig(dns.CanonicalName(r.cfg.TSIG.Name), r.cfg.TSIG.algorithm(), 300, time.Now().Unix())
		}
		if err := w.WriteMsg(m); err != nil {
			r.log.Warn("rpz unable to answer", "client", from.String(), "error", err)
			return
		}
		if rep.sign {
			w.TsigTimersOnly(true)
		}
	}
	if rep.xfr {
		r.mu.Lock()
		r.seen[from] = rep.serial
		r.mu.Unlock()
		r.log.Debug("rpz transfer", "client", from.String(), "serial", rep.serial, "messages", len(rep.msgs))
	}
}

func remote(w dns.ResponseWriter) (netip.Addr, bool) {
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap(), false
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// respond computes the reply to req from client from (over TCP when
// tcp), tsigErr being the server's TSIG verdict. It never panics on any
// message (FuzzRespond).
func (r *RPZ) respond(req *dns.Msg, from netip.Addr, tcp bool, tsigErr error) reply {
	fail := func(rcode int) reply {
		m := new(dns.Msg)
		m.SetRcode(req, rcode)
		return reply{msgs: []*dns.Msg{m}}
	}
	if req.Response || req.Opcode != dns.OpcodeQuery {
		return fail(dns.RcodeRefused)
	}
	if len(req.Question) != 1 {
		return fail(dns.RcodeFormatError)
	}
	q := req.Question[0]
	origin := dns.CanonicalName(r.cfg.Zone)
	name := strings.ToLower(q.Name)
	if (q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY) || !dns.IsSubDomain(origin, name) {
		return fail(dns.RcodeRefused)
	}
	sign := false
	if req.IsTsig() != nil {
		if r.cfg.TSIG.Name == "" || tsigErr != nil {
			return fail(dns.RcodeNotAuth)
		}
		sign = true
	}
	switch q.Qtype {
	case dns.TypeAXFR, dns.TypeIXFR:
		if !r.allow(from) || (r.cfg.TSIG.Name != "" && !sign) {
			return fail(dns.RcodeRefused)
		}
		if name != origin {
			return fail(dns.RcodeNotAuth)
		}
		rep := r.transfer(req, tcp)
		rep.sign = sign
		return rep
	case dns.TypeSOA:
		if name == origin {
			break // SOA at the apex: to anyone
		}
		fallthrough
	default:
		if !r.allow(from) {
			return fail(dns.RcodeRefused)
		}
	}
	return reply{msgs: []*dns.Msg{r.query(req, name, q.Qtype, tcp)}, sign: sign}
}

// allow reports whether from may transfer and query the zone.
func (r *RPZ) allow(from netip.Addr) bool {
	for _, p := range r.allowed {
		if p.Contains(from) {
			return true
		}
	}
	return false
}

// transfer answers AXFR (TCP only) and IXFR (RFC 1995; over UDP the
// current SOA alone, telling the client to use TCP).
func (r *RPZ) transfer(req *dns.Msg, tcp bool) reply {
	q := req.Question[0]
	r.mu.Lock()
	serial := r.z.soa.Serial
	var rrs []dns.RR
	switch {
	case q.Qtype == dns.TypeAXFR && !tcp:
		r.mu.Unlock()
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeRefused)
		return reply{msgs: []*dns.Msg{m}}
	case q.Qtype == dns.TypeAXFR:
		rrs = r.z.axfr()
		r.counters.axfr.Add(1)
	default:
		var soa *dns.SOA
		for _, rr := range req.Ns {
			if s, ok := rr.(*dns.SOA); ok {
				soa = s
			}
		}
		if soa == nil {
			r.mu.Unlock()
			m := new(dns.Msg)
			m.SetRcode(req, dns.RcodeFormatError)
			return reply{msgs: []*dns.Msg{m}}
		}
		var full bool
		rrs, full = r.z.ixfr(soa.Serial)
		switch {
		case !tcp && len(rrs) > 1:
			rrs = []dns.RR{r.z.soaAt(serial)}
		case full:
			r.counters.ixfrFull.Add(1)
		default:
			r.counters.ixfr.Add(1)
		}
	}
	r.mu.Unlock()
	return reply{msgs: chunk(req, rrs), xfr: tcp || len(rrs) == 1, serial: serial}
}

// maxChunk bounds the uncompressed size of the records in one transfer
// message (a TCP message holds 65535 bytes).
const maxChunk = 32 << 10

// chunk splits a transfer into messages.
func chunk(req *dns.Msg, rrs []dns.RR) []*dns.Msg {
	var out []*dns.Msg
	var m *dns.Msg
	size := 0
	for _, rr := range rrs {
		n := dns.Len(rr)
		if m == nil || size+n > maxChunk {
			m = new(dns.Msg)
			m.SetReply(req)
			m.Authoritative, m.Compress = true, true
			out = append(out, m)
			size = 0
		}
		m.Answer = append(m.Answer, rr)
		size += n
	}
	return out
}

// query answers an ordinary query from the zone (exact names: the
// wildcards of the zone are not expanded).
func (r *RPZ) query(req *dns.Msg, name string, t uint16, tcp bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative, m.Compress = true, true
	r.mu.Lock()
	ans, exists := r.z.lookup(name, t)
	soa := r.z.soaAt(r.z.soa.Serial)
	r.mu.Unlock()
	m.Answer = ans
	if len(ans) == 0 {
		m.Ns = []dns.RR{soa}
		if !exists {
			m.Rcode = dns.RcodeNameError
		}
	}
	if !tcp {
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil && int(o.UDPSize()) > size {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	return m
}
