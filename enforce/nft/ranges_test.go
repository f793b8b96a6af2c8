package nft

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// seg is a segment written "from-to@minutes:keys".
func seg(from, to string, minutes int, keys ...string) segment {
	return segment{from: netip.MustParseAddr(from), to: netip.MustParseAddr(to),
		exp: t0.Add(time.Duration(minutes) * time.Minute), keys: keys}
}

func w(p string, minutes int, key string) want {
	return want{p: netip.MustParsePrefix(p), exp: t0.Add(time.Duration(minutes) * time.Minute), key: key}
}

var segCmp = cmp.Comparer(func(a, b segment) bool {
	return a.from == b.from && a.to == b.to && a.exp.Equal(b.exp) && strings.Join(a.keys, " ") == strings.Join(b.keys, " ")
})

func TestSegments(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []want
		want []segment
	}{
		{name: "empty"},
		{name: "disjoint, v6 after v4", in: []want{w("2001:db8::/32", 10, "c/2"), w("198.51.100.7/32", 10, "c/0"), w("203.0.113.0/24", 20, "c/1")},
			want: []segment{seg("198.51.100.7", "198.51.100.7", 10, "c/0"), seg("203.0.113.0", "203.0.113.255", 20, "c/1"),
				seg("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 10, "c/2")}},
		{name: "same target twice: latest end, both keys", in: []want{w("198.51.100.7/32", 10, "b/0"), w("198.51.100.7/32", 30, "a/0"), w("198.51.100.7/32", 20, "a/0")},
			want: []segment{seg("198.51.100.7", "198.51.100.7", 30, "a/0", "b/0")}},
		{name: "nested: the outer prefix split", in: []want{w("10.0.0.0/16", 10, "o/0"), w("10.0.1.0/24", 30, "i/0")},
			want: []segment{seg("10.0.0.0", "10.0.0.255", 10, "o/0"), seg("10.0.1.0", "10.0.1.255", 30, "i/0", "o/0"),
				seg("10.0.2.0", "10.0.255.255", 10, "o/0")}},
		{name: "nested, inner ends first: outer's end wins", in: []want{w("10.0.0.0/16", 30, "o/0"), w("10.0.0.0/24", 10, "i/0")},
			want: []segment{seg("10.0.0.0", "10.0.0.255", 30, "i/0", "o/0"), seg("10.0.1.0", "10.0.255.255", 30, "o/0")}},
		{name: "three levels and a sibling", in: []want{w("10.0.0.0/8", 10, "a/0"), w("10.1.0.0/16", 20, "b/0"), w("10.1.2.3/32", 30, "c/0"), w("10.255.0.0/16", 5, "d/0")},
			want: []segment{seg("10.0.0.0", "10.0.255.255", 10, "a/0"), seg("10.1.0.0", "10.1.2.2", 20, "a/0", "b/0"),
				seg("10.1.2.3", "10.1.2.3", 30, "a/0", "b/0", "c/0"), seg("10.1.2.4", "10.1.255.255", 20, "a/0", "b/0"),
				seg("10.2.0.0", "10.254.255.255", 10, "a/0"), seg("10.255.0.0", "10.255.255.255", 10, "a/0", "d/0")}},
		{name: "up to the last address", in: []want{w("255.255.255.0/24", 10, "e/0"), w("255.255.255.255/32", 20, "f/0")},
			want: []segment{seg("255.255.255.0", "255.255.255.254", 10, "e/0"), seg("255.255.255.255", "255.255.255.255", 20, "e/0", "f/0")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := segments(tc.in)
			if diff := cmp.Diff(got, tc.want, segCmp); diff != "" {
				t.Errorf("(-got, +want):\n%s", diff)
			}
		})
	}
}

func el(addr string, end bool, expires time.Duration, comment string) nftables.SetElement {
	return nftables.SetElement{Key: netip.MustParseAddr(addr).AsSlice(), IntervalEnd: end, Expires: expires, Comment: comment}
}

func TestDecodeElements(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes int
		in    []nftables.SetElement
		want  []segment
		err   string
	}{
		{name: "empty", bytes: 4},
		{name: "kernel dump order with nft's anchor", bytes: 4, in: []nftables.SetElement{
			el("10.2.0.8", true, 0, ""), el("10.2.0.7", false, time.Minute, "x/0"), el("10.1.0.6", true, 0, ""),
			el("10.1.0.0", false, 2*time.Minute, ""), el("10.1.0.0", true, 0, ""), el("10.0.0.0", false, 3*time.Minute, "a/0 b/1"),
			el("0.0.0.0", true, 0, "")},
			want: []segment{seg("10.0.0.0", "10.0.255.255", 3, "a/0", "b/1"), seg("10.1.0.0", "10.1.0.5", 2), seg("10.2.0.7", "10.2.0.7", 1, "x/0")}},
		{name: "open end runs to the last address", bytes: 16, in: []nftables.SetElement{el("ffff::", false, time.Minute, "k/0")},
			want: []segment{seg("ffff::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "k/0")}},
		{name: "lone end skipped", bytes: 4, in: []nftables.SetElement{el("10.0.0.9", true, 0, "")}},
		{name: "two starts", bytes: 4, in: []nftables.SetElement{el("10.0.0.1", false, 0, ""), el("10.0.0.5", false, 0, "")}, err: "has no end"},
		{name: "wrong key length", bytes: 16, in: []nftables.SetElement{el("10.0.0.1", false, 0, "")}, err: "4-byte key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeElements(tc.in, tc.bytes, t0)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, errElements) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tc.want, segCmp); diff != "" {
				t.Errorf("(-got, +want):\n%s", diff)
			}
		})
	}
}

// TestEncodeDecode: what the adapter writes reads back the same.
func TestEncodeDecode(t *testing.T) {
	in := segments([]want{w("10.0.0.0/16", 10, "o/0"), w("10.0.1.0/24", 30, "i/0"), w("255.255.255.255/32", 20, "z/0")})
	var els []nftables.SetElement
	for _, e := range encode(in, t0) {
		e.Expires = e.Timeout // as the kernel reports a fresh element
		els = append(els, e)
	}
	got, err := decodeElements(els, 4, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, in, segCmp); diff != "" {
		t.Errorf("(-got, +want):\n%s", diff)
	}
}

func TestJoinKeys(t *testing.T) {
	long := func(n int) []string {
		var ks []string
		for i := range n {
			ks = append(ks, strings.Repeat("c", 20)+"-"+string(rune('a'+i%26))+"/0")
		}
		return ks
	}
	for _, tc := range []struct {
		name string
		keys []string
		want string
	}{
		{"none", nil, ""},
		{"two", []string{"a/0", "b/1"}, "a/0 b/1"},
		{"cut", long(10), strings.Join(long(10)[:5], " ") + " +5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := joinKeys(tc.keys)
			if got != tc.want || len(got) > maxComment {
				t.Errorf("got %q (%d bytes), want %q", got, len(got), tc.want)
			}
		})
	}
}

func TestRangePrefixes(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     []string
	}{
		{"10.0.0.0", "10.0.0.255", []string{"10.0.0.0/24"}},
		{"10.0.0.1", "10.0.0.6", []string{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"}},
		{"0.0.0.0", "255.255.255.255", []string{"0.0.0.0/0"}},
		{"2001:db8::", "2001:db8:0:1::4", []string{"2001:db8::/64", "2001:db8:0:1::/126", "2001:db8:0:1::4/128"}},
	} {
		var got []string
		for _, p := range rangePrefixes(netip.MustParseAddr(tc.from), netip.MustParseAddr(tc.to)) {
			got = append(got, p.String())
		}
		if diff := cmp.Diff(got, tc.want); diff != "" {
			t.Errorf("%s-%s (-got, +want):\n%s", tc.from, tc.to, diff)
		}
	}
}

// TestSeed: the items rebuilt from the kernel's comments give back the
// same ranges.
func TestSeed(t *testing.T) {
	in := segments([]want{w("10.0.0.0/16", 10, "o/0"), w("10.0.1.0/24", 30, "i/0"), w("2001:db8::1/128", 5, "")})
	byLen := map[int][]segment{}
	for _, s := range in {
		s.keys = strings.Fields(s.comment()) // as read back from the kernel
		byLen[s.from.BitLen()/8] = append(byLen[s.from.BitLen()/8], s)
	}
	items := seed(byLen)
	var ws []want
	for _, w := range items {
		ws = append(ws, w...)
	}
	got := segments(ws)
	want := []segment{seg("10.0.0.0", "10.0.0.255", 10, "o/0"), seg("10.0.1.0", "10.0.1.255", 30, "i/0", "o/0"),
		seg("10.0.2.0", "10.0.255.255", 10, "o/0"), seg("2001:db8::1", "2001:db8::1", 5, "kernel:2001:db8::1")}
	if diff := cmp.Diff(got, want, segCmp); diff != "" {
		t.Errorf("(-got, +want):\n%s", diff)
	}
}
