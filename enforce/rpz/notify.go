package rpz

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// kickAll wakes every NOTIFY sender (a change, or Start).
func (r *RPZ) kickAll() {
	for i := range r.kicks {
		r.kick(i)
	}
}

func (r *RPZ) kick(i int) {
	select {
	case r.kicks[i] <- struct{}{}:
	default: // one is pending already: it will send the newest serial
	}
}

// notifier sends NOTIFY (RFC 1996) to target i each time it is kicked,
// retrying with a doubling interval from one second until the secondary
// answers or notifyRetries attempts failed; a kick during the wait
// retries at once. Kicks coalesce: a NOTIFY always carries the serial
// current when it is sent.
func (r *RPZ) notifier(ctx context.Context, i int) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kicks[i]:
		}
		wait := time.Second
		for attempt := 1; ; attempt++ {
			serial, err := r.notify(ctx, r.targets[i])
			if err == nil {
				r.counters.notifyOK.Add(1)
				r.log.Debug("rpz notify", "secondary", r.targets[i].String(), "serial", serial, "attempt", attempt)
				break
			}
			r.counters.notifyFailed.Add(1)
			if attempt >= r.notifyRetries || ctx.Err() != nil {
				r.log.Warn("rpz unable to notify", "secondary", r.targets[i].String(), "serial", serial,
					"attempts", attempt, "error", err)
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			case <-r.kicks[i]: // a new change: try again now
			}
			wait *= 2
		}
	}
}

// notify sends one NOTIFY for the current serial to target and checks
// the answer.
func (r *RPZ) notify(ctx context.Context, target netip.AddrPort) (uint32, error) {
	r.mu.Lock()
	soa := r.z.soaAt(r.z.soa.Serial)
	r.mu.Unlock()
	m := new(dns.Msg)
	m.SetNotify(soa.Hdr.Name)
	m.Answer = []dns.RR{soa}
	c := &dns.Client{Net: "udp", Timeout: r.notifyTimeout}
	resp, _, err := c.ExchangeContext(ctx, m, target.String())
	switch {
	case err != nil:
		return soa.Serial, fmt.Errorf("unable to notify %s: %w", target, err)
	case resp.Opcode != dns.OpcodeNotify || !resp.Response:
		return soa.Serial, fmt.Errorf("unable to notify %s: answer is not a NOTIFY response", target)
	case resp.Rcode != dns.RcodeSuccess:
		return soa.Serial, fmt.Errorf("unable to notify %s: %s", target, dns.RcodeToString[resp.Rcode])
	}
	return soa.Serial, nil
}

// probe reads target's serial of the zone by a SOA query; ok is false
// when it gives no authoritative SOA for the zone (Unbound does not
// answer for its RPZ zones: it would try to recurse).
func (r *RPZ) probe(ctx context.Context, target netip.AddrPort) (serial uint32, ok bool) {
	origin := dns.CanonicalName(r.cfg.Zone)
	m := new(dns.Msg)
	m.SetQuestion(origin, dns.TypeSOA)
	m.RecursionDesired = false
	c := &dns.Client{Net: "udp", Timeout: r.probeTimeout}
	resp, _, err := c.ExchangeContext(ctx, m, target.String())
	if err != nil || resp.Rcode != dns.RcodeSuccess || !resp.Authoritative {
		return 0, false
	}
	for _, rr := range resp.Answer {
		if s, isSOA := rr.(*dns.SOA); isSOA && strings.EqualFold(s.Hdr.Name, origin) {
			return s.Serial, true
		}
	}
	return 0, false
}

// checkSecondaries reads each notify target's serial (its SOA, else the
// serial of its last transfer from us) and kicks the senders of those
// that lag; it returns one line for each. A secondary ahead of us makes
// the serial jump past it (and everyone is notified).
func (r *RPZ) checkSecondaries(ctx context.Context) []string {
	type result struct {
		serial uint32
		how    string
	}
	res := make([]result, len(r.targets))
	var wg sync.WaitGroup
	for i, t := range r.targets {
		wg.Go(func() {
			if s, ok := r.probe(ctx, t); ok {
				res[i] = result{s, "soa"}
				return
			}
			r.mu.Lock()
			s, ok := r.seen[t.Addr()]
			r.mu.Unlock()
			if ok {
				res[i] = result{s, "last transfer"}
			}
		})
	}
	wg.Wait()
	var lines []string
	r.mu.Lock()
	cur := r.z.soa.Serial
	var ahead []uint32
	for _, x := range res {
		if x.how == "soa" && serialLess(cur, x.serial) {
			ahead = append(ahead, x.serial)
		}
	}
	if len(ahead) > 0 {
		slices.SortFunc(ahead, func(a, b uint32) int {
			if serialLess(a, b) {
				return -1
			}
			return 1
		})
		r.z.jumpPast(ahead[len(ahead)-1])
		lines = append(lines, fmt.Sprintf("serial %d behind secondary serial %d: jumped to %d", cur, ahead[len(ahead)-1], r.z.soa.Serial))
		cur = r.z.soa.Serial
	}
	r.mu.Unlock()
	for i, x := range res {
		switch {
		case len(ahead) > 0:
			r.kick(i)
		case x.how == "":
			lines = append(lines, fmt.Sprintf("secondary %s: serial unknown (no SOA answer, no transfer seen), zone at %d: notified", r.targets[i], cur))
			r.kick(i)
		case x.serial != cur:
			lines = append(lines, fmt.Sprintf("secondary %s at serial %d (%s), zone at %d: notified", r.targets[i], x.serial, x.how, cur))
			r.kick(i)
		}
	}
	return lines
}
