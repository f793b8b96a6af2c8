package share

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/acd-org/acd/intel/stix"
)

func TestAddresses(t *testing.T) {
	cases := []struct {
		text string
		want []string // must all be found
	}{
		{"nothing here", nil},
		{"198.18.0.5", []string{"198.18.0.5/32"}},
		{"to 198.18.0.5:443, then", []string{"198.18.0.5/32"}},
		{"net 198.18.0.0/15.", []string{"198.18.0.0/32", "198.18.0.0/15"}},
		{"x1198.18.0.5", []string{"198.18.0.5/32"}},
		{"deadbeef198.18.0.5", []string{"198.18.0.5/32"}},
		{"198.18.0.56789", []string{"198.18.0.5/32", "198.18.0.56/32"}},
		{"zero-padded 198.018.001.001", []string{"198.18.1.1/32"}},
		{"1.2.3.4.5", []string{"1.2.3.4/32", "2.3.4.5/32"}},
		{"2001:db8:100::7", []string{"2001:db8:100::7/128"}},
		{"[2001:db8:100::7]:51234", []string{"2001:db8:100::7/128"}},
		{"2001:db8:100::/48", []string{"2001:db8:100::/128", "2001:db8:100::/48"}},
		{"2001:db8:100::5/8", []string{"2001:db8:100::5/128"}},
		{"fe80::1%eth0", []string{"fe80::1/128"}},
		{"cafe:2001:db8:100::1", []string{"2001:db8:100::1/128"}},
		{"2001:0db8:0100:0000:0000:0000:0000:0001", []string{"2001:db8:100::1/128"}},
		{"2001:db8:100::7:443", []string{"2001:db8:100::7/128"}},
		{"::ffff:198.18.9.9", []string{"198.18.9.9/32"}},
		{"::ffff:c612:909", []string{"198.18.9.9/32"}},
		{"64:ff9b::198.18.9.9", []string{"198.18.9.9/32"}},
		{"日本 198.18.0.1 です", []string{"198.18.0.1/32"}},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			var got []string
			for p := range Addresses(c.text) {
				got = append(got, p.String())
			}
			for _, w := range c.want {
				if !slices.Contains(got, w) {
					t.Errorf("Addresses(%q) = %v, missing %s", c.text, got, w)
				}
			}
			if c.want == nil && got != nil {
				t.Errorf("Addresses(%q) = %v, want none", c.text, got)
			}
		})
	}
}

func TestDomestic(t *testing.T) {
	cases := []struct {
		name  string
		props map[string]any
		found bool
	}{
		{"clean", nil, false},
		{"pattern address", map[string]any{"pattern": "[ipv4-addr:value = '198.18.0.9']"}, true},
		{"pattern ipv6 prefix", map[string]any{"pattern": "[ipv6-addr:value ISSUBSET '2001:db8:100::/64']"}, true},
		{"pattern enclosing prefix end", map[string]any{"pattern": "[ipv4-addr:value ISSUBSET '198.16.0.0/14']"}, true},
		{"pattern escaped quote", map[string]any{"pattern": `[domain-name:value = 'a\'198.18.0.1']`}, true},
		{"pattern binary literal", map[string]any{"pattern": "[artifact:payload_bin = b'xhIAAQ==']"}, true},
		{"pattern hex literal", map[string]any{"pattern": "[artifact:payload_bin = h'c6120001']"}, true},
		{"pattern integer literal", map[string]any{"pattern": "[x-addr:n = 3323068417]"}, true},
		{"pattern in set", map[string]any{"pattern": "[ipv4-addr:value IN ('198.51.100.1', '198.19.0.1')]"}, true},
		{"pattern foreign", map[string]any{"pattern": "[ipv4-addr:value = '198.20.0.1' OR ipv6-addr:value = '2001:db8:101::1']"}, false},
		{"description", map[string]any{"description": "seen by 198.19.3.4"}, true},
		{"json escape", map[string]any{"description": "seen by 198.19.3.4"}, true},
		{"key", map[string]any{"x_198.18.0.1": "v"}, true},
		{"nested", map[string]any{"external_references": []any{map[string]any{"source_name": "x", "description": "[2001:db8:100::1]:22"}}}, true},
		{"bad pattern", map[string]any{"pattern": "[ipv4-addr:value = "}, true},
		{"not stix pattern", map[string]any{"pattern": "alert ip any any", "pattern_type": "snort"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := object(t, c.props)
			raw := o.Raw()
			if c.name == "json escape" {
				raw = []byte(strings.Replace(string(raw), "198.19", `\u0031\u00398.19`, 1))
			}
			p, found := Domestic(raw, isDomestic)
			if found != c.found {
				t.Errorf("Domestic = %v, %v; want found %v\n%s", p, found, c.found, raw)
			}
		})
	}
}

// TestScrubEmitted emits suspects whose evidence names domestic victims
// and clients, at every TLP, and runs the scrub on every object: stix's
// own scrub must have removed every domestic address, and ours must
// agree. Then it builds the same objects without stix's scrub (the raw
// reasons put back) and checks that ours catches them.
func TestScrubEmitted(t *testing.T) {
	by := identity(t, "acd jp CERT")
	ss := victimSuspects(t)
	n := 0
	for _, tlp := range stix.TLPs() {
		for _, o := range emit(t, by, tlp, ss...) {
			n++
			if p, found := Domestic(o.Raw(), isDomestic); found {
				t.Errorf("%s: domestic %s left stix's scrub:\n%s", o.ID, p, o.Raw())
			}
			for _, s := range ss {
				for _, e := range s.Evidence {
					if e.Role == "ddos-victim" && strings.Contains(string(o.Raw()), "SYN flood") {
						t.Errorf("%s: victim evidence described", o.ID)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("nothing emitted")
	}
	// Evasive forms (zero-padded, glued to hex or digits): stix's scrub
	// removes them too now, so nothing domestic is left for ours to find.
	for _, o := range emit(t, by, stix.TLPGreen, evasiveSuspects(t)...) {
		if p, found := Domestic(o.Raw(), isDomestic); found {
			t.Errorf("%s: domestic %s left stix's scrub:\n%s", o.ID, p, o.Raw())
		}
	}
	// Undo stix's scrub: ours alone must refuse each object that
	// described a reason naming a domestic address.
	for _, s := range ss {
		for _, o := range emit(t, by, stix.TLPGreen, s) {
			var m map[string]any
			if err := json.Unmarshal(o.Raw(), &m); err != nil {
				t.Fatal(err)
			}
			desc, _ := m["description"].(string)
			if !strings.Contains(desc, ScrubMarker) {
				continue
			}
			for _, e := range s.Evidence {
				if e.Role != "ddos-victim" {
					desc += " " + e.Reason
				}
			}
			m["description"] = desc
			b, _ := json.Marshal(m)
			if _, found := Domestic(b, isDomestic); !found {
				t.Errorf("%s: the scrub missed a domestic address in %q", o.ID, desc)
			}
		}
	}
}

// FuzzScrub checks the scrub on arbitrary strings: it never panics; a
// domestic address written anywhere with a separator is always found,
// through JSON escaping too; and what it finds in a string it finds in
// the JSON of an object holding that string.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{
		"", "12 internal clients beacon every 60s to 198.51.100.7:443, e.g. [address]",
		"198.18.0.1", "[2001:db8:100::7]:51234", "2001:db8:100::/48", "::ffff:198.18.9.9", "cafe:2001:db8:100::1",
		"x1198.18.0.5/15", "1.2.3.4.5.6.7.8", "::::::::::", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
		"\u00e9\u65e5 198.19.255.255", "\"\\u0031", "a:b:c:d:e:f:0:1:2:3:4:5:6:7:8:9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		inText := false
		for p := range Addresses(s) {
			if InSpace(p, isDomestic) {
				inText = true
				break
			}
		}
		raw, err := json.Marshal(map[string]string{"type": "note", "id": "note--x", "content": s})
		if err != nil {
			return
		}
		if _, found := Domestic(raw, isDomestic); found != inText {
			t.Errorf("Domestic(JSON of %q) = %v, text scan says %v", s, found, inText)
		}
		for _, d := range []string{"198.18.77.1", "2001:db8:100::beef", "198.19.0.0/16"} {
			b, _ := json.Marshal(map[string]string{"content": s + " " + d + " " + s})
			if _, found := Domestic(b, isDomestic); !found {
				t.Errorf("%s not found next to %q", d, s)
			}
		}
		if !strings.ContainsAny(s, "0123456789") && inText {
			t.Errorf("found a domestic address in %q, which has no digit", s)
		}
	})
}

// TestInSpace: a prefix is in the domestic space when it overlaps it,
// not only when its first or last address is domestic (198.0.0.0/8 holds
// the scenario's 198.18.0.0/15 in its middle).
func TestInSpace(t *testing.T) {
	for _, tt := range []struct {
		p    string
		want bool
	}{
		{"198.18.0.0/15", true},
		{"198.18.7.9/32", true},
		{"198.19.255.255/32", true},
		{"198.20.0.0/32", false},
		{"198.16.0.0/14", true}, // 198.18/15 is its second half
		{"198.0.0.0/8", true},   // in the middle: neither end is domestic
		{"192.0.0.0/4", true},   // wider: checked in /20 blocks
		{"0.0.0.0/0", true},     // everything
		{"203.0.113.0/24", false},
		{"10.0.0.0/8", false},
		{"2001:db8:100::/48", true},
		{"2001:db8::/32", true}, // 2001:db8:100::/48 in the middle
		{"2001:db8:100:7::/64", true},
		{"2001:db8:100:ff00::/56", true},
		{"2001:db8::/39", true},  // /55 blocks: 2001:db8:100::/48 starts its second half
		{"2001:db8::/40", false}, // ends at 2001:db8:ff:ffff:…
		{"2001:db9::/32", false},
		{"2001:db8::/31", true}, // wider than /32: not provably clear
		{"2001:db8:200::/40", false},
		{"::/0", true},
	} {
		p := netip.MustParsePrefix(tt.p)
		if got := InSpace(p, isDomestic); got != tt.want {
			t.Errorf("InSpace(%s) = %v, want %v", p, got, tt.want)
		}
	}
	if InSpace(netip.Prefix{}, isDomestic) {
		t.Error("the zero Prefix is in the space")
	}
}

// TestWithHost checks the block arithmetic at the 64-bit boundary.
func TestWithHost(t *testing.T) {
	for _, tt := range []struct {
		a     string
		k     uint64
		shift int
		want  string
	}{
		{"198.0.0.0", 0x12, 8, "198.0.18.0"},
		{"198.0.0.0", 0xffff, 8, "198.255.255.0"},
		{"2001:db8::", 0x100, 80, "2001:db8:100::"},
		{"2001:db8::", 0xabcd, 56, "2001:db8:0:ab:cd00::"},
		{"2001:db8::", 1, 64, "2001:db8:0:1::"},
		{"2001:db8::", 7, 0, "2001:db8::7"},
	} {
		if got := withHost(netip.MustParseAddr(tt.a), tt.k, tt.shift); got.String() != tt.want {
			t.Errorf("withHost(%s, %#x, %d) = %s, want %s", tt.a, tt.k, tt.shift, got, tt.want)
		}
	}
}

// BenchmarkInSpace measures the overlap check's worst cases: a /16 (every
// address), a /8 (2^16 blocks), an IPv6 /32 (2^16 blocks), and a single
// address.
func BenchmarkInSpace(b *testing.B) {
	for _, p := range []string{"203.0.113.7/32", "10.1.0.0/16", "10.0.0.0/8", "2001:db9::/32"} {
		pfx := netip.MustParsePrefix(p)
		b.Run(p, func(b *testing.B) {
			for b.Loop() {
				if InSpace(pfx, isDomestic) {
					b.Fatal("domestic")
				}
			}
		})
	}
}
