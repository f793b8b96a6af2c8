// Package space is the domestic address space of the screening stage: a
// set of IPv4 and IPv6 addresses built from the RIRs' delegated
// statistics files filtered by country code, plus explicit lists of
// prefixes to add and remove.
//
// # Delegated statistics files
//
// The five RIRs (AFRINIC, APNIC, ARIN, LACNIC, RIPE NCC) publish daily
// files in the "RIR statistics exchange format" (delegated-<rir>-latest
// and delegated-<rir>-extended-latest). Lines are '|'-separated:
//
//	2|apnic|20250601|54321|19830613|20250531|+1000     version line (first non-comment line)
//	apnic|*|ipv4|*|45123|summary                       summary line, one per type
//	apnic|JP|ipv4|1.0.16.0|4096|20110412|allocated|A92D9378
//	apnic|JP|ipv6|2001:200::|35|19990813|allocated|A91A7381
//	apnic|JP|asn|173|1|20020801|allocated|A91A7381
//	apnic||ipv4|1.0.0.0|256||reserved|                 extended files only
//	# comment
//
// A record is registry|cc|type|start|value|date|status, followed in
// extended files by an opaque holder id and possibly more fields, which
// are ignored. For ipv4 the value is a count of addresses, not
// necessarily a power of two, so a record may need several CIDR prefixes;
// for ipv6 it is a prefix length; asn records are ignored. Only records
// with status allocated or assigned belong to their country; available
// and reserved (extended files) do not. Country codes and statuses are
// case-insensitive; blank lines and CRLF line ends are accepted; files
// starting with the gzip magic are decompressed.
//
// Parsing is strict, since a corrupt file must not silently shrink the
// domestic space: any malformed line (wrong field count, bad address,
// count or length, unknown type or status, host bits set in an ipv6
// start), a missing version line, or a file with fewer records than its
// version line announces (truncated download) is an error naming the
// file and line, and Load then returns no set at all.
//
// # Lookups
//
// Set.Contains runs twice per flow record. The set is kept as merged,
// sorted, disjoint ranges per family with an index over the top 16 bits
// of the address; see lookup.go and the README for measurements against
// github.com/gaissmai/bart.
package space

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/acd-org/acd/flow"
)

// Set is a domestic address space. It is immutable after Load and safe
// for concurrent use. A nil or zero Set is empty.
type Set struct {
	v4    table4
	v6    table6
	s4    []span // normalized IPv4 ranges (values in lo, 32 bits)
	s6    []span // normalized IPv6 ranges
	stats Stats
}

// Stats describes a Set and the files it was built from.
type Stats struct {
	PrefixesV4  int         `json:"prefixes_v4"`  // minimal CIDR prefixes
	PrefixesV6  int         `json:"prefixes_v6"`  // minimal CIDR prefixes
	RangesV4    int         `json:"ranges_v4"`    // merged disjoint ranges
	RangesV6    int         `json:"ranges_v6"`    // merged disjoint ranges
	AddressesV4 uint64      `json:"addresses_v4"` // IPv4 addresses in the set
	Slash48sV6  float64     `json:"slash48s_v6"`  // IPv6 addresses in the set, in units of /48
	Added       int         `json:"added"`        // entries of Config.Add
	Removed     int         `json:"removed"`      // entries of Config.Remove
	Files       []FileStats `json:"files"`        // one per Config.Delegated entry, in order
}

// Load reads cfg's delegated files and builds the set. Errors name the
// file and line ("path:12: problem") or the config key ("add[2]: ...");
// on error no set is returned and the caller keeps its old one.
func Load(cfg Config) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("unable to load domestic space: %w", err)
	}
	countries := make(map[string]bool, len(cfg.Countries))
	for _, cc := range cfg.Countries {
		countries[strings.ToUpper(cc)] = true
	}
	var v4, v6 []span
	var files []FileStats
	for _, path := range cfg.Delegated {
		st, a4, a6, err := loadFile(path, countries)
		if err != nil {
			return nil, fmt.Errorf("unable to load domestic space: %w", err)
		}
		files = append(files, st)
		v4 = append(v4, a4...)
		v6 = append(v6, a6...)
	}
	add4, add6 := prefixSpans(cfg.Add)
	rm4, rm6 := prefixSpans(cfg.Remove)
	s := build(append(v4, add4...), append(v6, add6...), rm4, rm6)
	s.stats.Files = files
	s.stats.Added, s.stats.Removed = len(cfg.Add), len(cfg.Remove)
	return s, nil
}

// loadFile parses one delegated file.
func loadFile(path string, countries map[string]bool) (FileStats, []span, []span, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileStats{}, nil, nil, fmt.Errorf("unable to open delegated file: %w", err)
	}
	defer f.Close()
	return parseDelegated(f, path, countries)
}

// prefixSpans converts validated prefix strings to spans per family.
func prefixSpans(list []string) (v4, v6 []span) {
	for _, s := range list {
		p, err := ParsePrefix(s)
		if err != nil {
			continue // Load validated the list
		}
		if p.Addr().Is4() {
			v4 = append(v4, spanOfPrefix(p))
		} else {
			v6 = append(v6, spanOfPrefix(p))
		}
	}
	return v4, v6
}

// build makes a Set of (in4 ∪ …) minus rm4 and (in6) minus rm6.
func build(in4, in6, rm4, rm6 []span) *Set {
	s := &Set{
		s4: subtract(normalize(in4), normalize(rm4)),
		s6: subtract(normalize(in6), normalize(rm6)),
	}
	s.v4 = newTable4(s.s4)
	s.v6 = newTable6(s.s6)
	s.stats.RangesV4, s.stats.RangesV6 = len(s.s4), len(s.s6)
	for _, r := range s.s4 {
		s.stats.AddressesV4 += r.hi.lo - r.lo.lo + 1
		prefixesOf(r, 32, func(netip.Prefix) { s.stats.PrefixesV4++ })
	}
	for _, r := range s.s6 {
		n := r.hi.sub(r.lo)
		// n+1 addresses; a /48 holds 2^80.
		s.stats.Slash48sV6 += (float64(n.hi)*(1<<64) + float64(n.lo) + 1) / (1 << 80)
		prefixesOf(r, 128, func(netip.Prefix) { s.stats.PrefixesV6++ })
	}
	return s
}

// Contains reports whether a is in the set. IPv4 addresses (IPv4-mapped
// form) are looked up among the IPv4 prefixes only, everything else among
// the IPv6 prefixes; the zero Addr is ::, domestic only if an IPv6 prefix
// covers it. Contains does not allocate.
func (s *Set) Contains(a flow.Addr) bool {
	if s == nil {
		return false
	}
	hi := binary.BigEndian.Uint64(a[:8])
	lo := binary.BigEndian.Uint64(a[8:])
	if hi == 0 && lo>>32 == 0xffff {
		return s.v4.contains(uint32(lo))
	}
	return s.v6.contains(hi, lo)
}

// Stats returns the set's statistics.
func (s *Set) Stats() Stats {
	if s == nil {
		return Stats{}
	}
	st := s.stats
	st.Files = slices.Clone(st.Files)
	return st
}

// Prefixes returns the minimal sorted list of CIDR prefixes covering
// exactly the set: IPv4 first, then IPv6, each in address order.
func (s *Set) Prefixes() []netip.Prefix {
	if s == nil {
		return nil
	}
	out := make([]netip.Prefix, 0, s.stats.PrefixesV4+s.stats.PrefixesV6)
	add := func(p netip.Prefix) { out = append(out, p) }
	for _, r := range s.s4 {
		prefixesOf(r, 32, add)
	}
	for _, r := range s.s6 {
		prefixesOf(r, 128, add)
	}
	return out
}

// String summarizes st on one line for logs, e.g. "ipv4 1234 prefixes
// (18874368 addresses), ipv6 567 prefixes (1.2e+06 /48s), 2 files (8123
// records used)".
func (st Stats) String() string {
	used := 0
	for _, f := range st.Files {
		used += f.Used
	}
	return fmt.Sprintf("ipv4 %d prefixes (%d addresses), ipv6 %d prefixes (%.4g /48s), %d files (%d records used), %d added, %d removed",
		st.PrefixesV4, st.AddressesV4, st.PrefixesV6, st.Slash48sV6, len(st.Files), used, st.Added, st.Removed)
}
