package abuse

import (
	"net/netip"
	"strings"
	"testing"
)

func TestContactsLookup(t *testing.T) {
	tab := NewContacts()
	for _, c := range []Contact{
		{"198.51.0.0/16", "rir@example.net"}, {"198.51.100.0/24", "net@example.net"}, {"198.51.100.128/25", "sub@example.net"},
		{"2001:db8::/32", "v6@example.net"}, {"2001:db8:42::/48", "v6-42@example.net"}, {"0.0.0.0/0", "default4@example.net"},
		{"192.0.2.66", "host@example.net"},
	} {
		if _, err := tab.Add(c.Prefix, c.Email); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := tab.Add("198.51.100.0/24", "other@example.net"); ok || err != nil {
		t.Errorf("duplicate prefix: added %v, %v; want kept, no error", ok, err)
	}
	for _, tc := range []struct{ target, want, via string }{
		{"198.51.100.7/32", "net@example.net", "198.51.100.0/24"},
		{"198.51.100.200/32", "sub@example.net", "198.51.100.128/25"},
		{"198.51.100.0/24", "net@example.net", "198.51.100.0/24"},
		{"198.51.100.0/23", "rir@example.net", "198.51.0.0/16"}, // the /24 does not cover a /23
		{"198.51.7.1/32", "rir@example.net", "198.51.0.0/16"},
		{"203.0.113.9/32", "default4@example.net", "0.0.0.0/0"},
		{"192.0.2.66/32", "host@example.net", "192.0.2.66/32"},
		{"::ffff:198.51.100.7/128", "net@example.net", "198.51.100.0/24"},
		{"2001:db8:42::1/128", "v6-42@example.net", "2001:db8:42::/48"},
		{"2001:db8:43::/48", "v6@example.net", "2001:db8::/32"},
		{"2001:db9::1/128", "", ""},
		{"2001:db8::/31", "", ""},
	} {
		got, via, ok := tab.Lookup(netip.MustParsePrefix(tc.target))
		if got != tc.want || ok != (tc.want != "") || (ok && via.String() != tc.via) {
			t.Errorf("Lookup(%s) = %q via %s (%v), want %q via %s", tc.target, got, via, ok, tc.want, tc.via)
		}
	}
}

func TestReadContacts(t *testing.T) {
	for _, tc := range []struct {
		name, in     string
		added, dups  int
		err          string
		lookup, want string
	}{
		{"header, comments, blanks", "prefix,email\n# RIR export\n\n198.51.100.0/24,abuse@net.example\n2001:db8::/32, abuse@v6.example\n",
			2, 0, "", "2001:db8::1/128", "abuse@v6.example"},
		{"duplicates keep the first", "198.51.100.0/24,a@x.example\n198.51.100.0/24,b@x.example\n", 1, 1, "", "198.51.100.1/32", "a@x.example"},
		{"quoted", "\"198.51.100.0/24\",\"abuse@net.example\"\n", 1, 0, "", "198.51.100.1/32", "abuse@net.example"},
		{"address as host prefix", "192.0.2.1,h@x.example\n", 1, 0, "", "192.0.2.1/32", "h@x.example"},
		{"three fields", "198.51.100.0/24,a@x.example,extra\n", 0, 0, "line 1: want 2 fields", "", ""},
		{"bad prefix on line 2", "198.51.100.0/24,a@x.example\n198.51.100.0/33,b@x.example\n", 1, 0, "line 2: prefix", "", ""},
		{"bad email", "198.51.100.0/24,not an address\n", 0, 0, "not a bare e-mail address", "", ""},
		{"display name refused", "198.51.100.0/24,Abuse <a@x.example>\n", 0, 0, "not a bare e-mail address", "", ""},
		{"header later is data", "198.51.100.0/24,a@x.example\nprefix,email\n", 1, 0, "line 2", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := NewContacts()
			added, dups, err := ReadContacts(tab, strings.NewReader(tc.in))
			if added != tc.added || dups != tc.dups {
				t.Errorf("added %d, duplicates %d; want %d, %d", added, dups, tc.added, tc.dups)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _, _ := tab.Lookup(netip.MustParsePrefix(tc.lookup)); got != tc.want {
				t.Errorf("Lookup(%s) = %q, want %q", tc.lookup, got, tc.want)
			}
		})
	}
}

// FuzzReadContacts checks that any file either fails or yields a table
// whose every entry is found again by looking its prefix up.
func FuzzReadContacts(f *testing.F) {
	f.Add("prefix,email\n198.51.100.0/24,abuse@net.example\n2001:db8::/32,abuse@v6.example\n")
	f.Add("# export\n192.0.2.1,h@x.example\n\"10.0.0.0/8\",\"a@b.example\"\n")
	f.Add("::ffff:198.51.100.0/120,a@b.example\n")
	f.Add("198.51.100.0/24,a@x.example,extra\n")
	f.Add("\"unterminated,a@b.example\n")
	f.Fuzz(func(t *testing.T, in string) {
		tab := NewContacts()
		added, _, err := ReadContacts(tab, strings.NewReader(in))
		if tab.Len() != added {
			t.Fatalf("table holds %d, added %d", tab.Len(), added)
		}
		if err != nil {
			return
		}
		for _, m := range [][129]map[netip.Prefix]string{tab.v4, tab.v6} {
			for _, byBits := range m {
				for p, e := range byBits {
					if got, via, ok := tab.Lookup(p); !ok || via != p || got != e {
						t.Fatalf("Lookup(%s) = %q via %s, want %q", p, got, via, e)
					}
				}
			}
		}
	})
}
