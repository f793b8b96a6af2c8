package stix

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// SCONamespace is the UUIDv5 namespace of deterministic SCO identifiers
// (STIX 2.1 section 2.9).
const SCONamespace = "00abedb4-aa42-466c-9c01-fed23315a9b7"

// ACDNamespace is the UUIDv5 namespace of the SDO and SRO identifiers
// acd derives (see ACDID): the UUIDv5 of the URL namespace
// (6ba7b811-9dad-11d1-80b4-00c04fd430c8) and
// "https://github.com/acd-org/acd/intel/stix".
const ACDNamespace = "68c065df-30eb-5e2f-8467-f119139bfe39"

// parseUUID reads the 36-character form of a UUID.
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, false
	}
	return u, true
}

func formatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// uuidV5 is the RFC 9562 name-based UUID (SHA-1) of name in namespace ns.
func uuidV5(ns string, name []byte) string {
	n, ok := parseUUID(ns)
	if !ok {
		panic("stix: invalid namespace " + ns)
	}
	h := sha1.New()
	h.Write(n[:])
	h.Write(name)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

// RandomID returns typ--UUIDv4.
func RandomID(typ string) string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails (crypto/rand)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return typ + "--" + formatUUID(u)
}

// ACDID returns the identifier acd gives an SDO or SRO it derives from
// its data: typ--UUIDv5(ACDNamespace, "typ|part|part|…"). The parts
// name the object (its creator's identity first, then e.g. the address
// and role), so that re-emitting it gives the same id.
func ACDID(typ string, parts ...string) string {
	return typ + "--" + uuidV5(ACDNamespace, []byte(strings.Join(append([]string{typ}, parts...), "|")))
}

// SCOID returns the deterministic identifier of an SCO of type typ whose
// ID contributing properties (STIX 2.1 section 2.9, per type) are props:
// typ--UUIDv5(SCONamespace, JCS(props)), JCS being the RFC 8785
// canonical JSON. Property values may be strings, integers, booleans,
// slices and maps of those.
func SCOID(typ string, props map[string]any) (string, error) {
	var b strings.Builder
	if err := canonical(&b, props); err != nil {
		return "", fmt.Errorf("unable to make the id of %s: %w", typ, err)
	}
	return typ + "--" + uuidV5(SCONamespace, []byte(b.String())), nil
}

// AddrID returns the id of the ipv4-addr or ipv6-addr SCO of an address
// or prefix (ID contributing property: value).
func AddrID(p netip.Prefix) string {
	typ, v := addrSCO(p)
	id, _ := SCOID(typ, map[string]any{"value": v}) // strings cannot fail
	return id
}

// addrSCO returns the SCO type and value of an address or prefix.
func addrSCO(p netip.Prefix) (string, string) {
	a := p.Addr()
	bits := p.Bits()
	if a.Is4In6() {
		a, bits = a.Unmap(), bits-96
	}
	typ := "ipv6-addr"
	if a.Is4() {
		typ = "ipv4-addr"
	}
	if bits == a.BitLen() {
		return typ, a.String()
	}
	return typ, netip.PrefixFrom(a, bits).Masked().String()
}

// DomainNameID returns the id of the domain-name SCO of d (ID
// contributing property: value).
func DomainNameID(d string) string {
	id, _ := SCOID("domain-name", map[string]any{"value": d})
	return id
}

// canonical writes v as RFC 8785 canonical JSON. Only integers are
// accepted as numbers (the SCO properties acd uses have no floats).
func canonical(b *strings.Builder, v any) error {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case string:
		canonicalString(b, v)
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint16:
		b.WriteString(strconv.Itoa(int(v)))
	case []string:
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			canonicalString(b, s)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := canonical(b, x); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		// RFC 8785 sorts keys by their UTF-16 code units.
		slices.SortFunc(keys, func(x, y string) int {
			return slices.Compare(utf16.Encode([]rune(x)), utf16.Encode([]rune(y)))
		})
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			canonicalString(b, k)
			b.WriteByte(':')
			if err := canonical(b, v[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("canonical JSON of %T not supported", v)
	}
	return nil
}

// canonicalString writes s as JSON the way RFC 8785 (ECMAScript) does:
// only ", \ and control characters escaped.
func canonicalString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
