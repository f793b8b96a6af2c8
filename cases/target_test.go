package cases

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		kind     TargetKind
		err      string
	}{
		{"192.0.2.1", "192.0.2.1", KindAddress, ""},
		{"192.0.2.1/32", "192.0.2.1", KindAddress, ""},
		{"::ffff:192.0.2.1", "192.0.2.1", KindAddress, ""},
		{"2001:db8::1", "2001:db8::1", KindAddress, ""},
		{"192.0.2.77/24", "192.0.2.0/24", KindPrefix, ""},
		{"2001:db8::/48", "2001:db8::/48", KindPrefix, ""},
		{" Evil.Example. ", "evil.example", KindDomain, ""},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", KindDomain, ""},
		{"_dmarc.example.org", "_dmarc.example.org", KindDomain, ""},
		{"", "", "", "empty target"},
		{"localhost", "", "", "at least two labels"},
		{"-bad.example", "", "", "starts or ends with '-'"},
		{"a..example", "", "", "1 to 63 bytes"},
		{"bücher.example", "", "", "xn-- form"},
		{"192.0.2.300", "", "", "neither an address"},
		{"192.0.2.0/33", "", "", "neither an address"},
		{"fe80::1%eth0", "", "", "zone"},
		{strings.Repeat("a", 64) + ".example", "", "", "1 to 63 bytes"},
		{strings.Repeat("abcdefgh.", 29) + "example", "", "", "longer than 253"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want an error saying %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want || got.Kind() != tc.kind {
				t.Errorf("got %s (%s), want %s (%s)", got, got.Kind(), tc.want, tc.kind)
			}
			var back Target
			if err := back.UnmarshalText([]byte(got.String())); err != nil || back != got {
				t.Errorf("text round trip: %v, %v", back, err)
			}
		})
	}
}

func TestTargetCovers(t *testing.T) {
	for _, tc := range []struct {
		t, u string
		want bool
	}{
		{"198.51.100.0/24", "198.51.100.7", true},
		{"198.51.100.0/24", "198.51.100.0/25", true},
		{"198.51.100.0/25", "198.51.100.0/24", false},
		{"198.51.100.7", "198.51.100.7", true},
		{"198.51.100.7", "198.51.100.8", false},
		{"2001:db8::/32", "2001:db8:1::/48", true},
		{"198.51.100.0/24", "2001:db8::1", false},
		{"evil.example", "evil.example", true},
		{"evil.example", "a.evil.example", false},
		{"198.51.100.0/24", "evil.example", false},
	} {
		if got := MustTarget(tc.t).Covers(MustTarget(tc.u)); got != tc.want {
			t.Errorf("%s covers %s: %v, want %v", tc.t, tc.u, got, tc.want)
		}
	}
	if (Target{}).Covers(Target{}) || !(Target{}).IsZero() || (Target{}).String() != "" {
		t.Error("the zero target names something")
	}
}

// FuzzParseTarget checks that whatever ParseTarget accepts it writes
// back in a form it reads to the same target.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "192.0.2.7/24", "::ffff:10.0.0.1/120", "2001:db8::/48", "Evil.Example.", "a_b.c-d.e", "1.2.3", "fe80::1%eth0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseTarget(s)
		if err != nil {
			return
		}
		if v.IsZero() {
			t.Fatalf("%q parsed to the zero target", s)
		}
		again, err := ParseTarget(v.String())
		if err != nil || again != v {
			t.Fatalf("%q -> %q -> %v, %v", s, v, again, err)
		}
	})
}
