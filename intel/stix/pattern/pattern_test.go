package pattern

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// validPatterns are from the STIX 2.1 specification (section 9.7
// examples), the OASIS examples and the grammar's corners; want is the
// canonical rendering ("" when it is the input itself).
var validPatterns = []struct{ in, want string }{
	{"[ipv4-addr:value = '198.51.100.1/32']", ""},
	{"[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32']", ""},
	{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", ""},
	{"[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']", ""},
	{"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']", ""},
	{"[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']", ""},
	{"[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']", ""},
	{"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] FOLLOWEDBY [file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] WITHIN 300 SECONDS", ""},
	{"([file:hashes.MD5 = 'x'] AND [file:name = 'y']) REPEATS 5 TIMES WITHIN 1800 SECONDS", ""},
	{"[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']", ""},
	{"[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\\\xd4\\\\xc3\\\\xb2\\\\xa1\\\\x02\\\\x00\\\\x04\\\\x00']", ""},
	{"[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\System32']", ""},
	{"[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]", ""},
	{"[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']", ""},
	{"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\System\\\\Foo\\\\Bar']", ""},
	{"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']", ""},
	{"[network-traffic:dst_port IN (80, 443, 8080)] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", ""},
	{"[ipv4-addr:value = '203.0.113.1' OR ipv4-addr:value = '203.0.113.2'] REPEATS 5 TIMES", ""},
	{"[process:name NOT = 'x' AND NOT EXISTS process:pid AND EXISTS process:cwd]", ""},
	{"[file:size >= 1024 AND file:size <= +2048 AND file:size < -1 AND file:size > .5]", ""},
	{"[artifact:payload_bin = b'AQIDBA==' OR artifact:payload_bin = h'01020304' OR x:y = true OR x:z != false]", ""},
	{"[x-custom:list[0] = 1 AND x-custom:list[-1] LIKE 'a%' AND x-custom:'quoted key' ISSUPERSET '10.0.0.0/8']", ""},
	{"[file:created = t'2016-02-29T12:00:00.123Z']", ""},
	{"[a:b = 'it\\'s' AND a:c = 'back\\\\slash']", ""},
	{"[a:b = 1 AND (a:c = 2 OR a:d = 3)]", ""},
	{"[a:b = 1 OR a:c = 2 AND a:d = 3]", ""},
	{"[(a:b = 1 OR a:c = 2) AND a:d = 3]", ""},
	{"[a:b = 1 AND (a:c = 2 AND a:d = 3)]", ""},
	{"([a:b = 1] OR [a:c = 2]) AND [a:d = 3]", ""},
	{"[a:b = 1] FOLLOWEDBY ([a:c = 2] FOLLOWEDBY [a:d = 3])", ""},
	{"((([a:b = 1])))", "[a:b = 1]"},
	{"[a:b == 1] OR [a:c <> 2] AND [a:d = 3] FOLLOWEDBY [a:e = 4]", "[a:b = 1] OR [a:c != 2] AND [a:d = 3] FOLLOWEDBY [a:e = 4]"},
	{"[a:b IN ()]", ""},
	{" /* comment */ [a:b = 1] // trailing\n", "[a:b = 1]"},
	{"[a:b = 1] WITHIN 2.5 SECONDS", ""},
	{"[a:b = 1]\u00a0AND\u3000[a:c = 2]", "[a:b = 1] AND [a:c = 2]"},
	{"[a:b = 1] START t'2016-12-31T23:59:60Z' STOP t'2017-01-01T00:00:01Z'", ""},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validPatterns {
		t.Run(tc.in, func(t *testing.T) {
			p, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := p.String()
			want := tc.want
			if want == "" {
				want = tc.in
			}
			if got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			p2, err := Parse(got)
			if err != nil {
				t.Fatalf("re-parse of %q: %v", got, err)
			}
			if got2 := p2.String(); got2 != got {
				t.Errorf("rendering not stable: %q then %q", got, got2)
			}
		})
	}
}

func TestParseTree(t *testing.T) {
	p, err := Parse("[a:b = 1 OR a:c = 2 AND a:d = 3] WITHIN 5 SECONDS")
	if err != nil {
		t.Fatal(err)
	}
	q, ok := p.Expr.(*Qualified)
	if !ok || q.Q.Kind != "WITHIN" || q.Q.Seconds != 5 {
		t.Fatalf("top is %#v, want WITHIN 5", p.Expr)
	}
	or, ok := q.Expr.(*Observation).Comp.(*CompBinary)
	if !ok || or.Op != "OR" {
		t.Fatalf("comparison top is %#v, want OR (AND binds tighter)", q.Expr.(*Observation).Comp)
	}
	if and, ok := or.R.(*CompBinary); !ok || and.Op != "AND" {
		t.Fatalf("right of OR is %#v, want AND", or.R)
	}
	// Left associativity.
	p, _ = Parse("[a:a = 1] FOLLOWEDBY [a:b = 2] FOLLOWEDBY [a:c = 3]")
	top := p.Expr.(*ObsBinary)
	if _, ok := top.L.(*ObsBinary); !ok {
		t.Errorf("FOLLOWEDBY not left-associative: %s", p)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct {
		in      string
		pos     int
		errPart string
	}{
		{"", 0, `expected "[" or "("`},
		{"ipv4-addr:value = '1.2.3.4'", 0, `expected "[" or "("`},
		{"[ipv4-addr:value = '1.2.3.4'", 28, `"]" closing`},
		{"[ipv4-addr:value = '1.2.3.4]", 19, "unterminated string"},
		{"[ipv4-addr:value '1.2.3.4']", 17, "comparison operator"},
		{"[ipv4-addr value = '1.2.3.4']", 11, `":" after the object type`},
		{"[ipv4-addr:value = '1.2.3.4'] AND", 33, `expected "[" or "("`},
		{"[a:b = 1] [a:c = 2]", 10, "after the end"},
		{"[a:b-c = 1]", 3, "has a hyphen"},
		{"[a:b = 'x\\y']", 9, "invalid escape"},
		{"[a:b = 01]", 7, "leading zero"},
		{"[a:b = 99999999999999999999]", 7, "out of range"},
		{"[a:b > true]", 7, "orderable"},
		{"[a:b LIKE 5]", 10, "string literal"},
		{"[a:b ISSUBSET h'00']", 14, "ISSUBSET wants a string"},
		{"[a:b MATCHES '(']", 13, "regular expression"},
		{"[a:b IN (1, 2]", 13, `"," or ")"`},
		{"[a:b IN 1]", 8, `"(" starting the set`},
		{"[a:b = b'']", 7, "binary literal"},
		{"[a:b = b'AQI']", 7, "binary literal"},
		{"[a:b = h'0']", 7, "hex literal"},
		{"[a:b = t'2016-13-01T00:00:00Z']", 7, "timestamp"},
		{"[a:b = t'2016-01-01 00:00:00Z']", 7, "timestamp"},
		{"[a:b = t'2016-01-01T00:00:00+01:00']", 7, "timestamp"},
		{"[a:b = 1] WITHIN 0 SECONDS", 17, "positive"},
		{"[a:b = 1] WITHIN -5 SECONDS", 17, "positive"},
		{"[a:b = 1] WITHIN 5", 18, "SECONDS"},
		{"[a:b = 1] REPEATS 0 TIMES", 18, "positive integer"},
		{"[a:b = 1] REPEATS 1.5 TIMES", 18, "positive integer"},
		{"[a:b = 1] WITHIN 5 SECONDS WITHIN 6 SECONDS", 27, "more than one WITHIN"},
		{"[a:b = 1] START t'2016-01-01T00:00:00Z' STOP t'2015-01-01T00:00:00Z'", 45, "not after START"},
		{"[a:b = 1] START '2016-01-01T00:00:00Z' STOP t'2017-01-01T00:00:00Z'", 16, "START wants a timestamp"},
		{"[NOT a:b = 1]", 5, "EXISTS after a leading NOT"},
		{"[a:b[x] = 1]", 5, "list index"},
		{"[a:b = 1] /* open", 10, "unterminated comment"},
		{"[a:b = 1] ; x", 10, "unexpected character"},
		{"[a:b = 1 AND]", 12, "object type"},
		{"[a:b = 1] LAST", 10, "after the end"},
		{"[]", 1, "object type"},
		{"[(a:b = 1]", 9, `")" closing`},
		{strings.Repeat("(", 300) + "[a:b = 1]" + strings.Repeat(")", 300), 200, "nesting deeper"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) = %v, want *Error", tc.in, err)
			}
			if pe.Pos != tc.pos || !strings.Contains(pe.Msg, tc.errPart) {
				t.Errorf("Parse(%q) = %v, want offset %d and %q", tc.in, err, tc.pos, tc.errPart)
			}
		})
	}
}

func TestBuilders(t *testing.T) {
	nt := func(dir Direction, p string, port int) string {
		s, err := NetworkTraffic(dir, netip.MustParsePrefix(p), port)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dom, err := Domain("Evil.Example.COM.")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ got, want string }{
		{Addr(netip.MustParseAddr("198.51.100.7")), "[ipv4-addr:value = '198.51.100.7']"},
		{Addr(netip.MustParseAddr("::ffff:198.51.100.7")), "[ipv4-addr:value = '198.51.100.7']"},
		{Addr(netip.MustParseAddr("2001:db8::1")), "[ipv6-addr:value = '2001:db8::1']"},
		{Prefix(netip.MustParsePrefix("198.51.100.9/24")), "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"},
		{Prefix(netip.MustParsePrefix("198.51.100.9/32")), "[ipv4-addr:value = '198.51.100.9']"},
		{Prefix(netip.MustParsePrefix("2001:db8::/48")), "[ipv6-addr:value ISSUBSET '2001:db8::/48']"},
		{dom, "[domain-name:value = 'evil.example.com']"},
		{nt(Dst, "198.51.100.7/32", 443), "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]"},
		{nt(Src, "2001:db8::/32", 0), "[network-traffic:src_ref.type = 'ipv6-addr' AND network-traffic:src_ref.value ISSUBSET '2001:db8::/32']"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
		if err := Validate(tc.got); err != nil {
			t.Errorf("built pattern %q does not parse: %v", tc.got, err)
		}
	}
	for _, bad := range []string{"", "com", "a..b", "-a.com", "a_b!.com", strings.Repeat("a", 64) + ".com"} {
		if _, err := Domain(bad); err == nil {
			t.Errorf("Domain(%q) accepted", bad)
		}
	}
	if _, err := NetworkTraffic(Dst, netip.MustParsePrefix("10.0.0.0/8"), 70000); err == nil {
		t.Error("port 70000 accepted")
	}
}

func TestExtract(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // nil: not actionable
	}{
		{"[ipv4-addr:value = '198.51.100.7']", []string{"198.51.100.7"}},
		{"[ipv4-addr:value = '223.166.0.0/15']", []string{"223.166.0.0/15"}},
		{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", []string{"198.51.100.0/24"}},
		{"[ipv6-addr:value = '2001:db8::1'] OR [ipv6-addr:value ISSUBSET '2001:db8:1::/48']", []string{"2001:db8::1", "2001:db8:1::/48"}},
		{"[domain-name:value = 'www.webserver.dynssl.com' OR ipv4-addr:value = '113.10.246.30' OR ipv4-addr:value = '113.10.246.30']", []string{"www.webserver.dynssl.com", "113.10.246.30"}},
		{"[domain-name:value = 'Hugesoft.ORG']", []string{"hugesoft.org"}},
		{"[ipv4-addr:value = '198.51.100.7'] WITHIN 5 SECONDS", nil},
		{"[ipv4-addr:value = '198.51.100.7'] AND [ipv4-addr:value = '198.51.100.8']", nil},
		{"[ipv4-addr:value = '198.51.100.7'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.8']", nil},
		{"[ipv4-addr:value = '198.51.100.7' AND ipv4-addr:value = '198.51.100.8']", nil},
		{"[ipv4-addr:value != '198.51.100.7']", nil},
		{"[ipv4-addr:value NOT = '198.51.100.7']", nil},
		{"[ipv4-addr:value = '2001:db8::1']", nil},
		{"[ipv4-addr:value = 'not an address']", nil},
		{"[domain-name:value = 'domain autuo.xicp.net']", nil},
		{"[domain-name:value ISSUBSET 'example.com']", nil},
		{"[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4']", nil},
		{"[network-traffic:dst_ref.value = '198.51.100.7']", nil},
		{"[ipv4-addr:value IN ('198.51.100.7')]", nil},
		{"[ipv4-addr:value = 7]", nil},
		{"[ipv4-addr:resolves_to_refs[*].value = '198.51.100.7']", nil},
		{"[EXISTS ipv4-addr:value]", nil},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ExtractString(tc.in)
			if tc.want == nil {
				if !errors.Is(err, ErrNotActionable) {
					t.Fatalf("Extract = %v, %v; want ErrNotActionable", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			var s []string
			for _, x := range got {
				s = append(s, x.String())
			}
			if !slices.Equal(s, tc.want) {
				t.Errorf("Extract = %q, want %q", s, tc.want)
			}
		})
	}
	if _, err := ExtractString("[oops"); err == nil || errors.Is(err, ErrNotActionable) {
		t.Errorf("syntax error reported as %v", err)
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, tc := range validPatterns {
		f.Add(tc.in)
	}
	f.Add("[a:b = 1] WITHIN 5 SECONDS WITHIN 6 SECONDS")
	f.Add("[a:b = t'2016-13-01T00:00:00Z']")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos < 0 || pe.Pos > len(s) {
				t.Fatalf("Parse(%q) error %v has no valid offset", s, err)
			}
			return
		}
		r := p.String()
		p2, err := Parse(r)
		if err != nil {
			t.Fatalf("rendering %q of %q does not parse: %v", r, s, err)
		}
		if r2 := p2.String(); r2 != r {
			t.Fatalf("rendering unstable: %q then %q", r, r2)
		}
		_, _ = Extract(p)
	})
}

func BenchmarkParsePattern(b *testing.B) {
	for _, s := range []string{
		"[ipv4-addr:value = '198.51.100.7']",
		"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]",
		"[domain-name:value = 'microsofta.byinter.net' OR domain-name:value = 'microsoftb.byinter.net' OR ipv4-addr:value = '113.10.246.30' OR ipv4-addr:value = '219.90.112.203' OR ipv4-addr:value = '202.65.220.64'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
	} {
		b.Run(strings.SplitN(s, ":", 2)[0][1:], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				if _, err := Parse(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
