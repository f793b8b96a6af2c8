package rpz

import (
	"maps"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/acd-org/acd/cases"
)

// zone is the served zone: the policy records, which items want each,
// the SOA serial and the journal of changes for IXFR. It is not safe for
// concurrent use: RPZ.mu guards it.
type zone struct {
	soa        dns.SOA            // Serial is the current serial
	ns         dns.NS             // the apex NS
	recs       map[string]*record // by rrKey
	owners     map[string]*owner  // by item key "<case>/<index>"
	journal    []delta            // oldest first, contiguous serials
	maxJournal int
}

// record is one policy record and the items that want it: it is served
// while any does.
type record struct {
	rr     dns.RR
	key    string // rrKey
	order  string // canonical order of the owner name, see nameOrder
	owners map[string]struct{}
}

// owner is one item in the zone and the records it wants.
type owner struct {
	action cases.Action
	keys   []string // sorted
}

// delta is one change: the zone went from serial From to To by deleting
// Del and adding Add (IXFR, RFC 1995). A serial jump has neither.
type delta struct {
	From, To uint32
	Del, Add []dns.RR
}

func newZone(c Config, serial uint32) *zone {
	origin := dns.CanonicalName(c.Zone)
	mname := dns.CanonicalName(c.SOA.MName)
	z := &zone{recs: map[string]*record{}, owners: map[string]*owner{}, maxJournal: c.Journal}
	z.soa = dns.SOA{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: uint32(c.SOA.Minimum.Seconds())},
		Ns: mname, Mbox: c.rname(), Serial: serial,
		Refresh: uint32(c.SOA.Refresh.Seconds()), Retry: uint32(c.SOA.Retry.Seconds()),
		Expire: uint32(c.SOA.Expire.Seconds()), Minttl: uint32(c.SOA.Minimum.Seconds())}
	z.ns = dns.NS{Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: z.soa.Hdr.Ttl}, Ns: mname}
	return z
}

func rrKey(rr dns.RR) string { return rr.String() }

// serialLess reports whether a < b in RFC 1982 serial number arithmetic
// (32 bits): b is ahead of a by 1 to 2^31-1. Serials 2^31 apart are
// incomparable and neither is less.
func serialLess(a, b uint32) bool { d := b - a; return d != 0 && d < 1<<31 }

// nextSerial is the serial after cur: cur+1 (wrapping past 2^32-1 as RFC
// 1982 allows), or clock (seconds) when that is ahead, so that serials
// follow the time and a restarted acd starts ahead of what its
// secondaries hold.
func nextSerial(cur, clock uint32) uint32 {
	if n := cur + 1; serialLess(n, clock) {
		return clock
	}
	return cur + 1
}

// soaAt returns the SOA with serial s.
func (z *zone) soaAt(s uint32) *dns.SOA {
	soa := z.soa
	soa.Serial = s
	return &soa
}

// txn collects one change to z: items put and dropped, net records added
// and deleted. Nothing is visible until commit.
type txn struct {
	z        *zone
	add, del map[string]dns.RR
}

func (z *zone) begin() *txn {
	return &txn{z: z, add: map[string]dns.RR{}, del: map[string]dns.RR{}}
}

// put makes item key want exactly rrs for action a, replacing what it
// wanted before. It reports whether the zone's records for key changed.
func (t *txn) put(key string, a cases.Action, rrs []dns.RR) bool {
	keys := make([]string, 0, len(rrs))
	byKey := map[string]dns.RR{}
	for _, rr := range rrs {
		k := rrKey(rr)
		keys = append(keys, k)
		byKey[k] = rr
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if o := t.z.owners[key]; o != nil {
		if slices.Equal(o.keys, keys) {
			o.action = a.Clone()
			return false
		}
		t.drop(key)
	}
	t.z.owners[key] = &owner{action: a.Clone(), keys: keys}
	for _, k := range keys {
		r := t.z.recs[k]
		if r == nil {
			rr := byKey[k]
			r = &record{rr: rr, key: k, order: nameOrder(rr.Header().Name), owners: map[string]struct{}{}}
			t.z.recs[k] = r
			if _, ok := t.del[k]; ok {
				delete(t.del, k)
			} else {
				t.add[k] = r.rr
			}
		}
		r.owners[key] = struct{}{}
	}
	return true
}

// drop removes item key; its records go when no other item wants them.
// It reports whether key was in the zone.
func (t *txn) drop(key string) bool {
	o := t.z.owners[key]
	if o == nil {
		return false
	}
	delete(t.z.owners, key)
	for _, k := range o.keys {
		r := t.z.recs[k]
		if r == nil {
			continue
		}
		delete(r.owners, key)
		if len(r.owners) > 0 {
			continue
		}
		delete(t.z.recs, k)
		if _, ok := t.add[k]; ok {
			delete(t.add, k)
		} else {
			t.del[k] = r.rr
		}
	}
	return true
}

// commit bumps the serial and journals the change when records were
// added or deleted; it reports whether it did.
func (t *txn) commit(clock uint32) bool {
	if len(t.add) == 0 && len(t.del) == 0 {
		return false
	}
	sorted := func(m map[string]dns.RR) []dns.RR {
		var out []dns.RR
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, m[k])
		}
		return out
	}
	t.z.record(delta{Del: sorted(t.del), Add: sorted(t.add)}, clock)
	t.add, t.del = map[string]dns.RR{}, map[string]dns.RR{}
	return true
}

// record journals d as the change from the current serial to the next.
func (z *zone) record(d delta, clock uint32) {
	d.From = z.soa.Serial
	d.To = nextSerial(d.From, clock)
	z.soa.Serial = d.To
	z.journal = append(z.journal, d)
	if n := len(z.journal) - z.maxJournal; n > 0 {
		z.journal = slices.Delete(z.journal, 0, n)
	}
}

// jumpPast moves the serial ahead of s (a secondary holds s, which is
// ahead of ours: acd restarted with a lower serial), with no change to
// the records.
func (z *zone) jumpPast(s uint32) {
	d := delta{From: z.soa.Serial, To: s + 1}
	z.soa.Serial = d.To
	z.journal = append(z.journal, d)
	if n := len(z.journal) - z.maxJournal; n > 0 {
		z.journal = slices.Delete(z.journal, 0, n)
	}
}

// records returns the policy records in canonical order.
func (z *zone) records() []dns.RR {
	recs := slices.Collect(maps.Values(z.recs))
	slices.SortFunc(recs, compareRecords)
	out := make([]dns.RR, len(recs))
	for i, r := range recs {
		out[i] = r.rr
	}
	return out
}

// compareRecords orders by owner name (DNSSEC canonical order, RFC 4034
// §6.1), then type, then text.
func compareRecords(a, b *record) int {
	if c := strings.Compare(a.order, b.order); c != 0 {
		return c
	}
	if ta, tb := a.rr.Header().Rrtype, b.rr.Header().Rrtype; ta != tb {
		return int(ta) - int(tb)
	}
	return strings.Compare(a.key, b.key)
}

// nameOrder returns a key whose byte order is the canonical order of
// names: the lower-case labels from the root, each followed by a 0 byte
// (which sorts before any label byte, so a parent comes before its
// children). Escaped dots in labels are rare enough to ignore here.
func nameOrder(name string) string {
	labels := dns.SplitDomainName(strings.ToLower(name))
	slices.Reverse(labels)
	var b strings.Builder
	for _, l := range labels {
		b.WriteString(l)
		b.WriteByte(0)
	}
	return b.String()
}

// axfr returns the whole zone as a transfer sends it: SOA, NS, the
// policy records, SOA.
func (z *zone) axfr() []dns.RR {
	soa := z.soaAt(z.soa.Serial)
	out := []dns.RR{soa, &z.ns}
	out = append(out, z.records()...)
	return append(out, soa)
}

// ixfr returns the answer to an IXFR from serial from (RFC 1995): the
// current SOA alone when from is current (or ahead), the journal's
// changes since from when it has them, else the whole zone (full).
func (z *zone) ixfr(from uint32) (rrs []dns.RR, full bool) {
	cur := z.soaAt(z.soa.Serial)
	if from == cur.Serial || serialLess(cur.Serial, from) {
		return []dns.RR{cur}, false
	}
	i := slices.IndexFunc(z.journal, func(d delta) bool { return d.From == from })
	if i < 0 {
		return z.axfr(), true
	}
	out := []dns.RR{cur}
	for _, d := range z.journal[i:] {
		out = append(out, z.soaAt(d.From))
		out = append(out, d.Del...)
		out = append(out, z.soaAt(d.To))
		out = append(out, d.Add...)
	}
	return append(out, cur), false
}

// text writes the zone in master-file format, one record a line.
func (z *zone) text() string {
	var b strings.Builder
	rrs := z.axfr()
	for _, rr := range rrs[:len(rrs)-1] {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// lookup answers a query for name and type t from the zone: the records
// at name of type t (or its CNAME), and whether name exists at all.
// It scans the records: queries are for debugging, transfers are the
// path that matters.
func (z *zone) lookup(name string, t uint16) (ans []dns.RR, exists bool) {
	name = strings.ToLower(name)
	if name == z.soa.Hdr.Name {
		switch t {
		case dns.TypeSOA:
			return []dns.RR{z.soaAt(z.soa.Serial)}, true
		case dns.TypeNS:
			return []dns.RR{&z.ns}, true
		case dns.TypeANY:
			return []dns.RR{z.soaAt(z.soa.Serial), &z.ns}, true
		}
		return nil, true
	}
	var found []*record
	for _, r := range z.recs {
		if r.rr.Header().Name != name {
			continue
		}
		exists = true
		if rt := r.rr.Header().Rrtype; rt == t || rt == dns.TypeCNAME || t == dns.TypeANY {
			found = append(found, r)
		}
	}
	slices.SortFunc(found, compareRecords)
	for _, r := range found {
		ans = append(ans, r.rr)
	}
	if !exists && dns.IsSubDomain(z.soa.Hdr.Name, name) {
		// An empty non-terminal exists too (e.g. rpz-ip.<zone>).
		for _, r := range z.recs {
			if dns.IsSubDomain(name, r.rr.Header().Name) {
				return nil, true
			}
		}
	}
	return ans, exists
}
