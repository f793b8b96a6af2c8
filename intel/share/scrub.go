package share

import (
	"encoding/binary"
	"encoding/json"
	"iter"
	"net/netip"
	"unicode/utf8"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/intel/stix/pattern"
)

// Domestic runs the scrub on one object's JSON: it walks every string
// (keys and values, after JSON unescaping) for IPv4 and IPv6 addresses
// and prefixes (Addresses), and parses the pattern of an indicator to
// read its literals, including binary, hex and integer ones. It returns
// the first address or prefix found in the domestic space, and true.
// A prefix counts as domestic when it overlaps the space (InSpace).
// A pattern that does not parse is reported as found (the zero Prefix):
// what cannot be read cannot be cleared.
func Domestic(raw []byte, domestic func(netip.Addr) bool) (netip.Prefix, bool) {
	p, found, err := scrub(raw, domestic)
	return p, found || err != nil
}

// scrub is Domestic, with the pattern's parse error apart.
func scrub(raw []byte, domestic func(netip.Addr) bool) (netip.Prefix, bool, error) {
	var found netip.Prefix
	hit := false
	check := func(p netip.Prefix) bool {
		if InSpace(p, domestic) {
			found, hit = p, true
			return false
		}
		return true
	}
	var pat, patType string
	hasPat, next := false, ""
	for s := range jsonWalk(raw) {
		if s.key && s.depth == 1 {
			next = s.text
		} else if !s.key && s.depth == 1 {
			switch next {
			case "pattern":
				pat, hasPat = s.text, true
			case "pattern_type":
				patType = s.text
			}
			next = ""
		}
		for p := range Addresses(s.text) {
			if !check(p) {
				return found, true, nil
			}
		}
	}
	if !hasPat || (patType != "" && patType != "stix") {
		return found, hit, nil
	}
	parsed, err := pattern.Parse(pat)
	if err != nil {
		return netip.Prefix{}, false, err
	}
	walkObs(parsed.Expr, check)
	return found, hit, nil
}

// InSpace reports whether p overlaps the domestic space: its first or
// last address is domestic, or one of its blocks is. An IPv4 prefix of up
// to 2^16 addresses is checked address by address, a wider one up to a
// /8 by its /24s' first and last addresses; an IPv6 prefix is checked by
// its /56s (up to 2^16 of them, then by its /48s, up to a /32). That is
// exact for a domestic space of IPv4 prefixes as narrow as one may
// configure (at least /24 wide for a target wider than a /16, as the RIRs'
// delegations are) and of IPv6 prefixes at least /56 wide (the smallest
// customer assignment). A prefix wider than an IPv4 /8 or an IPv6 /32
// cannot be cleared so and counts as domestic. The zero Prefix is not in
// the space.
func InSpace(p netip.Prefix, domestic func(netip.Addr) bool) bool {
	if !p.IsValid() {
		return false
	}
	p = p.Masked()
	first := p.Addr()
	if domestic(first) || domestic(flow.LastAddr(p)) {
		return true
	}
	host := first.BitLen() - p.Bits()
	finest, widest := 0, 8 // host bits of the finest and the widest block
	if !first.Is4() {
		finest, widest = 72, 80
	}
	if host <= finest {
		return false // within one finest block: its ends decide
	}
	blockBits := max(finest, host-16)
	if blockBits > widest {
		return true // blocks wider than a /24 or a /48: not provably clear
	}
	for i := range uint64(1) << (host - blockBits) {
		b := netip.PrefixFrom(withHost(first, i, blockBits), first.BitLen()-blockBits)
		if domestic(b.Addr()) || (blockBits > 0 && domestic(flow.LastAddr(b))) {
			return true
		}
	}
	return false
}

// withHost returns a (masked, its host bits zero) with block number k
// set in the bits above the lowest shift bits.
func withHost(a netip.Addr, k uint64, shift int) netip.Addr {
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	switch {
	case shift >= 64:
		hi |= k << (shift - 64)
	case shift == 0:
		lo |= k
	default:
		lo |= k << shift
		hi |= k >> (64 - shift)
	}
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	out := netip.AddrFrom16(b)
	if a.Is4() {
		return out.Unmap()
	}
	return out
}

func walkObs(e pattern.ObsExpr, check func(netip.Prefix) bool) bool {
	switch e := e.(type) {
	case *pattern.ObsBinary:
		return walkObs(e.L, check) && walkObs(e.R, check)
	case *pattern.Qualified:
		return walkObs(e.Expr, check)
	case *pattern.Observation:
		return walkComp(e.Comp, check)
	}
	return true
}

func walkComp(e pattern.CompExpr, check func(netip.Prefix) bool) bool {
	switch e := e.(type) {
	case *pattern.CompBinary:
		return walkComp(e.L, check) && walkComp(e.R, check)
	case *pattern.Comparison:
		for _, l := range append([]pattern.Literal{e.Value}, e.Set...) {
			for p := range literalAddrs(l) {
				if !check(p) {
					return false
				}
			}
		}
	}
	return true
}

// literalAddrs yields the addresses a pattern literal may hold: those
// in its text, 4 or 16 bytes of a binary or hex literal, and an integer
// that fits in 32 bits.
func literalAddrs(l pattern.Literal) iter.Seq[netip.Prefix] {
	return func(yield func(netip.Prefix) bool) {
		switch l.Kind {
		case pattern.KindString:
			for p := range Addresses(l.Str) {
				if !yield(p) {
					return
				}
			}
		case pattern.KindBinary, pattern.KindHex:
			if a, ok := netip.AddrFromSlice(l.Bytes); ok {
				a = a.Unmap()
				yield(netip.PrefixFrom(a, a.BitLen()))
			}
		case pattern.KindInt:
			if l.Int >= 0 && l.Int <= 0xffffffff {
				var b [4]byte
				binary.BigEndian.PutUint32(b[:], uint32(l.Int))
				yield(netip.PrefixFrom(netip.AddrFrom4(b), 32))
			}
		}
	}
}

// jsonString is a string of a JSON document: its text (unescaped),
// whether it is an object key, and its depth (1 for the top-level
// object's keys and values).
type jsonString struct {
	text  string
	key   bool
	depth int
}

// jsonWalk yields every string of a JSON document, keys included,
// unescaped. raw should be valid JSON (stix.Object's JSON is); on
// invalid input it yields what it can read.
func jsonWalk(raw []byte) iter.Seq[jsonString] {
	return func(yield func(jsonString) bool) {
		depth := 0
		for i := 0; i < len(raw); i++ {
			switch raw[i] {
			case '{', '[':
				depth++
				continue
			case '}', ']':
				depth--
				continue
			case '"':
			default:
				continue
			}
			j, esc := i+1, false
			for j < len(raw) && raw[j] != '"' {
				if raw[j] == '\\' {
					esc = true
					j++
				}
				j++
			}
			if j >= len(raw) {
				return
			}
			s := string(raw[i+1 : j])
			if esc && json.Unmarshal(raw[i:j+1], &s) != nil {
				s = string(raw[i+1 : j])
			}
			k := j + 1
			for k < len(raw) && (raw[k] == ' ' || raw[k] == '\t' || raw[k] == '\n' || raw[k] == '\r') {
				k++
			}
			if !yield(jsonString{text: s, key: k < len(raw) && raw[k] == ':', depth: depth}) {
				return
			}
			i = j
		}
	}
}

// Addresses yields every IPv4 and IPv6 address (as a single-address
// prefix) and prefix written in s, conservatively: IPv4 dotted quads
// anywhere (also inside longer digit runs, "x1198.18.0.1" yields
// 198.18.0.1, and with every length of the last field), with or without
// a port or a /bits; IPv6 addresses in any run of hex digits, colons and
// dots (every sub-run that parses, so a port glued on or a word in front
// does not hide one), with or without brackets, zone or /bits.
// IPv4-mapped IPv6 addresses are yielded as IPv4. Addresses may repeat.
func Addresses(s string) iter.Seq[netip.Prefix] {
	return func(yield func(netip.Prefix) bool) {
		if !ipv4s(s, yield) {
			return
		}
		ipv6s(s, yield)
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits returns the length of the run of at most n digits at s[i:].
func digits(s string, i, n int) int {
	k := 0
	for k < n && i+k < len(s) && isDigit(s[i+k]) {
		k++
	}
	return k
}

func atoi(s string) int {
	v := 0
	for i := 0; i < len(s); i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v
}

// ipv4s yields the dotted quads of s; false if yield stopped.
func ipv4s(s string, yield func(netip.Prefix) bool) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			continue
		}
		var b [4]byte
		j, ok := i, true
		for f := 0; f < 3 && ok; f++ {
			k := digits(s, j, 3)
			if k == 0 || j+k >= len(s) || s[j+k] != '.' || atoi(s[j:j+k]) > 255 {
				ok = false
				break
			}
			b[f] = byte(atoi(s[j : j+k]))
			j += k + 1
		}
		if !ok {
			continue
		}
		n := digits(s, j, 3)
		for k := n; k >= 1; k-- {
			v := atoi(s[j : j+k])
			if v > 255 {
				continue
			}
			b[3] = byte(v)
			a := netip.AddrFrom4(b)
			if !yield(netip.PrefixFrom(a, 32)) {
				return false
			}
			if k == n && j+k < len(s) && s[j+k] == '/' {
				if p, ok := bits(s, j+k+1, a); ok && !yield(p) {
					return false
				}
			}
		}
	}
	return true
}

// bits reads "/n" bits at s[i:] (i after the slash) as a prefix of a.
func bits(s string, i int, a netip.Addr) (netip.Prefix, bool) {
	k := digits(s, i, 3)
	if k == 0 {
		return netip.Prefix{}, false
	}
	n := atoi(s[i : i+k])
	if n > a.BitLen() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, n).Masked(), true
}

func isV6Char(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.'
}

// maxV6 is the longest textual IPv6 address (with an embedded IPv4).
const maxV6 = len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")

// ipv6s yields the IPv6 addresses of s; false if yield stopped.
func ipv6s(s string, yield func(netip.Prefix) bool) bool {
	for i := 0; i < len(s); {
		if !isV6Char(s[i]) {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		j := i
		colons := 0
		for j < len(s) && isV6Char(s[j]) {
			if s[j] == ':' {
				colons++
			}
			j++
		}
		if colons >= 2 && !v6run(s, i, j, yield) {
			return false
		}
		i = j
	}
	return true
}

// v6run tries every sub-run s[a:b] of s[i:j] that starts at the run's
// start or next to a colon, ends at the run's end or next to a colon or
// a dot, and could be an IPv6 address (2 to 8 colons, groups of at most
// 15 characters, for an embedded IPv4 address).
func v6run(s string, i, j int, yield func(netip.Prefix) bool) bool {
	for a := i; a < j; a++ {
		if a != i && s[a-1] != ':' && s[a] != ':' {
			continue
		}
		colons, group, doubles, dot := 0, 0, 0, false
		for b := a + 1; b <= min(j, a+maxV6); b++ {
			switch c := s[b-1]; {
			case c == ':':
				if b-2 >= a && s[b-2] == ':' {
					doubles++
				}
				colons, group = colons+1, 0
			case c == '.':
				dot = true
				group++
			default:
				group++
			}
			if colons > 8 || group > 15 || doubles > 1 {
				break
			}
			// Without "::", an address has 7 colons (6 before an
			// embedded IPv4 address).
			full := colons == 7 || (dot && colons == 6)
			if colons < 2 || !(doubles == 1 || full) || (b != j && s[b] != ':' && s[b] != '.' && s[b-1] != ':') {
				continue
			}
			ip, err := netip.ParseAddr(s[a:b])
			if err != nil || !ip.Is6() {
				continue
			}
			if !yieldV6(s, b, ip, yield) {
				return false
			}
		}
	}
	return true
}

// yieldV6 yields an address parsed from s[..b] (IPv4-mapped ones as
// IPv4), and the prefix when a /bits follows.
func yieldV6(s string, b int, ip netip.Addr, yield func(netip.Prefix) bool) bool {
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if !yield(netip.PrefixFrom(ip, ip.BitLen())) {
		return false
	}
	if b < len(s) && s[b] == '/' {
		if p, ok := bits(s, b+1, ip); ok && !yield(p) {
			return false
		}
	}
	return true
}
