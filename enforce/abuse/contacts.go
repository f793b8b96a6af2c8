package abuse

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// Contacts finds a network's abuse contact offline: the longest prefix
// covering a target wins. The zero value is empty; use NewContacts.
type Contacts struct {
	// byBits[b] maps masked prefixes of length b to an address; IPv4
	// prefixes use lengths 0..32 of v4, IPv6 0..128 of v6.
	v4, v6 [129]map[netip.Prefix]string
	n      int
}

// NewContacts returns an empty table.
func NewContacts() *Contacts { return &Contacts{} }

// Len returns the number of prefixes in the table.
func (t *Contacts) Len() int { return t.n }

// Add adds a contact for prefix (an address counts as its host prefix).
// A prefix already in the table keeps its contact and Add reports false.
func (t *Contacts) Add(prefix, email string) (bool, error) {
	p, err := parseContact(prefix, email)
	if err != nil {
		return false, err
	}
	m := t.table(p.Addr())
	if m[p.Bits()] == nil {
		m[p.Bits()] = map[netip.Prefix]string{}
	}
	if _, dup := m[p.Bits()][p]; dup {
		return false, nil
	}
	m[p.Bits()][p] = strings.TrimSpace(email)
	t.n++
	return true, nil
}

func (t *Contacts) table(a netip.Addr) *[129]map[netip.Prefix]string {
	if a.Is4() {
		return &t.v4
	}
	return &t.v6
}

// Lookup returns the contact of the longest prefix that covers all of
// p (an address as its host prefix), and that prefix.
func (t *Contacts) Lookup(p netip.Prefix) (string, netip.Prefix, bool) {
	if !p.IsValid() {
		return "", netip.Prefix{}, false
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	m := t.table(p.Addr())
	for b := p.Bits(); b >= 0; b-- {
		if m[b] == nil {
			continue
		}
		q, _ := p.Addr().Prefix(b)
		if e, ok := m[b][q]; ok {
			return e, q, true
		}
	}
	return "", netip.Prefix{}, false
}

// ReadContacts reads a contacts file into t: CSV lines "prefix,email"
// (an address is its host prefix), with an optional header line
// "prefix,email", blank lines and lines starting with '#' ignored. A
// prefix already in t keeps its contact. It returns the number of lines
// added and of duplicates skipped; an error names the line.
func ReadContacts(t *Contacts, r io.Reader) (added, dups int, err error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return added, dups, nil
		}
		if err != nil {
			return added, dups, fmt.Errorf("contacts: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return added, dups, fmt.Errorf("contacts: line %d: want 2 fields (prefix,email), not %d", line, len(rec))
		}
		pfx, email := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if first && strings.EqualFold(pfx, "prefix") && strings.EqualFold(email, "email") {
			continue
		}
		ok, err := t.Add(pfx, email)
		if err != nil {
			return added, dups, fmt.Errorf("contacts: line %d: %w", line, err)
		}
		if ok {
			added++
		} else {
			dups++
		}
	}
}
