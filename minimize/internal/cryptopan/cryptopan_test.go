package cryptopan

import (
	"bufio"
	"crypto/aes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/acd-org/acd/flow"
)

// vector is one known-answer pair of testdata/vectors.txt.
type vector struct {
	key       [32]byte
	line      int
	raw, anon netip.Addr
}

// loadVectors reads testdata/vectors.txt (format in its header).
func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	f, err := os.Open("testdata/vectors.txt")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	var (
		vs  []vector
		key [32]byte
		sc  = bufio.NewScanner(f)
	)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 0 || strings.HasPrefix(fields[0], "#"):
		case len(fields) == 2 && fields[0] == "key":
			b, err := hex.DecodeString(fields[1])
			if err != nil || len(b) != 32 {
				tb.Fatalf("vectors.txt:%d: bad key %q", n, fields[1])
			}
			key = [32]byte(b)
		case len(fields) == 2:
			v := vector{key: key, line: n, raw: netip.MustParseAddr(fields[0]), anon: netip.MustParseAddr(fields[1])}
			if v.raw.Is4() != v.anon.Is4() {
				tb.Fatalf("vectors.txt:%d: address families differ", n)
			}
			vs = append(vs, v)
		default:
			tb.Fatalf("vectors.txt:%d: cannot parse %q", n, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(vs) < 90 {
		tb.Fatalf("only %d vectors read", len(vs))
	}
	return vs
}

// mustNew is New for keys known to be good.
func mustNew(tb testing.TB, key [32]byte) *Cipher {
	tb.Helper()
	c, err := New(key)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// randKey returns a random key from r.
func randKey(r *rand.Rand) [32]byte {
	var k [32]byte
	for i := range k {
		k[i] = byte(r.Uint32())
	}
	return k
}

// randBytes fills a slice of n random bytes from r.
func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// refAnonymize is Crypto-PAn written straight from the paper, one AES block
// per bit, no table: the oracle for the optimized code.
func refAnonymize(key [32]byte, addr []byte) []byte {
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		panic(err)
	}
	var pad, in, out [16]byte
	block.Encrypt(pad[:], key[16:])
	res := make([]byte, len(addr))
	for i := range len(addr) * 8 {
		in = pad
		for j := range i { // first i bits from the address
			in[j/8] = in[j/8]&^(0x80>>(j%8)) | addr[j/8]&(0x80>>(j%8))
		}
		block.Encrypt(out[:], in[:])
		res[i/8] |= (addr[i/8]>>(7-i%8)&1 ^ out[0]>>7) << (7 - i%8)
	}
	return res
}

// commonPrefix returns the number of leading bits a and b share.
func commonPrefix(a, b []byte) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			return i*8 + bits.LeadingZeros8(x)
		}
	}
	return len(a) * 8
}

func TestVectors(t *testing.T) {
	ciphers := map[[32]byte]*Cipher{}
	for _, v := range loadVectors(t) {
		c := ciphers[v.key]
		if c == nil {
			c = mustNew(t, v.key)
			ciphers[v.key] = c
		}
		t.Run(fmt.Sprintf("line%d/%s", v.line, v.raw), func(t *testing.T) {
			raw, want := flow.AddrFromNetip(v.raw), flow.AddrFromNetip(v.anon)
			var got, back netip.Addr
			if v.raw.Is4() {
				got = netip.AddrFrom4(c.Anonymize4(v.raw.As4()))
				back = netip.AddrFrom4(c.Deanonymize4(v.anon.As4()))
			} else {
				got = netip.AddrFrom16(c.Anonymize16(v.raw.As16()))
				back = netip.AddrFrom16(c.Deanonymize16(v.anon.As16()))
			}
			if got != v.anon {
				t.Errorf("Anonymize(%s) = %s, want %s", v.raw, got, v.anon)
			}
			if back != v.raw {
				t.Errorf("Deanonymize(%s) = %s, want %s", v.anon, back, v.raw)
			}
			if got := c.AnonymizeAddr(raw); got != want {
				t.Errorf("AnonymizeAddr(%s) = %s, want %s", raw, got, want)
			}
			if got := c.DeanonymizeAddr(want); got != raw {
				t.Errorf("DeanonymizeAddr(%s) = %s, want %s", want, got, raw)
			}
			if got := NewCache(c, 16).Anonymize(raw); got != want {
				t.Errorf("Cache.Anonymize(%s) = %s, want %s", raw, got, want)
			}
			if got := refAnonymize(v.key, v.raw.AsSlice()); !cmp.Equal(got, v.anon.AsSlice()) {
				t.Errorf("refAnonymize(%s) = %v, want %s", v.raw, got, v.anon)
			}
		})
	}
}

func TestMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for k := range 4 {
		key := randKey(r)
		c := mustNew(t, key)
		t.Run(fmt.Sprintf("key%d", k), func(t *testing.T) {
			for range 200 {
				a4 := [4]byte(randBytes(r, 4))
				if diff := cmp.Diff(c.Anonymize4(a4), [4]byte(refAnonymize(key, a4[:]))); diff != "" {
					t.Fatalf("Anonymize4(%v) (-got, +want):\n%s", a4, diff)
				}
				a16 := [16]byte(randBytes(r, 16))
				if diff := cmp.Diff(c.Anonymize16(a16), [16]byte(refAnonymize(key, a16[:]))); diff != "" {
					t.Fatalf("Anonymize16(%v) (-got, +want):\n%s", a16, diff)
				}
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	c := mustNew(t, randKey(r))
	edges4 := [][4]byte{{}, {255, 255, 255, 255}, {0, 0, 255, 255}, {255, 255, 0, 0}, {128}}
	edges16 := [][16]byte{{}, [16]byte(bytesOf(0xff, 16)), {0x20, 0x01, 0x0d, 0xb8}, {15: 1}}
	for i := range 2000 {
		a4, a16 := [4]byte(randBytes(r, 4)), [16]byte(randBytes(r, 16))
		if i < len(edges4) {
			a4 = edges4[i]
		}
		if i < len(edges16) {
			a16 = edges16[i]
		}
		if got := c.Deanonymize4(c.Anonymize4(a4)); got != a4 {
			t.Fatalf("Deanonymize4(Anonymize4(%v)) = %v", a4, got)
		}
		if got := c.Anonymize4(c.Deanonymize4(a4)); got != a4 {
			t.Fatalf("Anonymize4(Deanonymize4(%v)) = %v", a4, got)
		}
		if got := c.Deanonymize16(c.Anonymize16(a16)); got != a16 {
			t.Fatalf("Deanonymize16(Anonymize16(%v)) = %v", a16, got)
		}
		if got := c.Anonymize16(c.Deanonymize16(a16)); got != a16 {
			t.Fatalf("Anonymize16(Deanonymize16(%v)) = %v", a16, got)
		}
	}
}

// bytesOf returns n copies of b.
func bytesOf(b byte, n int) []byte { return []byte(strings.Repeat(string([]byte{b}), n)) }

// sharePrefix returns a copy of a that shares exactly k leading bits with
// it (all of a if k is its length), with random bits after bit k.
func sharePrefix(r *rand.Rand, a []byte, k int) []byte {
	b := randBytes(r, len(a))
	for i := range k {
		m := byte(0x80 >> (i % 8))
		b[i/8] = b[i/8]&^m | a[i/8]&m
	}
	if k < len(a)*8 {
		m := byte(0x80 >> (k % 8))
		b[k/8] = b[k/8]&^m | ^a[k/8]&m
	}
	return b
}

func TestPrefixPreserving(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	c := mustNew(t, randKey(r))
	tests := []struct {
		name string
		n    int
		anon func([]byte) []byte
	}{
		{"v4", 4, func(a []byte) []byte { p := c.Anonymize4([4]byte(a)); return p[:] }},
		{"v6", 16, func(a []byte) []byte { p := c.Anonymize16([16]byte(a)); return p[:] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k := 0; k <= tt.n*8; k++ {
				for range 20 {
					a := randBytes(r, tt.n)
					b := sharePrefix(r, a, k)
					if got := commonPrefix(a, b); got != k {
						t.Fatalf("test bug: inputs %x %x share %d bits, want %d", a, b, got, k)
					}
					pa, pb := tt.anon(a), tt.anon(b)
					if got := commonPrefix(pa, pb); got != k {
						t.Fatalf("inputs %x %x share %d bits, pseudonyms %x %x share %d", a, b, k, pa, pb, got)
					}
				}
			}
		})
	}
}

func TestKeysDiffer(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	base := randKey(r)
	flipAES, flipPad := base, base
	flipAES[0] ^= 1  // differs in the AES key only
	flipPad[31] ^= 1 // differs in the pad seed only
	tests := []struct {
		name string
		key  [32]byte
	}{
		{"random", randKey(r)},
		{"aes-half", flipAES},
		{"pad-half", flipPad},
	}
	c := mustNew(t, base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustNew(t, tt.key)
			same4, same16 := 0, 0
			for range 1000 {
				a4, a16 := [4]byte(randBytes(r, 4)), [16]byte(randBytes(r, 16))
				if c.Anonymize4(a4) == d.Anonymize4(a4) {
					same4++
				}
				if c.Anonymize16(a16) == d.Anonymize16(a16) {
					same16++
				}
			}
			// With independent keys a pseudonym repeats with probability
			// 2^-32 (IPv4) or 2^-128; allow one, not a pattern.
			if same4 > 1 || same16 > 0 {
				t.Errorf("%d IPv4 and %d IPv6 pseudonyms of 1000 equal under both keys", same4, same16)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New([32]byte{}); !errors.Is(err, ErrZeroKey) {
		t.Errorf("New(zero key) error = %v, want ErrZeroKey", err)
	}
	if _, err := New([32]byte{31: 1}); err != nil {
		t.Errorf("New(non-zero key) error = %v", err)
	}
}

func TestAddrForms(t *testing.T) {
	c := mustNew(t, [32]byte{1, 2, 3})
	tests := []struct {
		name   string
		in     flow.Addr
		wantV4 bool
	}{
		{"zero", flow.Addr{}, false},
		{"ipv4", flow.AddrFrom4([4]byte{192, 0, 2, 1}), true},
		{"ipv4-zero", flow.AddrFrom4([4]byte{}), true},
		{"ipv4-compatible", flow.Addr{12: 192, 13: 0, 14: 2, 15: 1}, false},
		{"ipv6", flow.AddrFromNetip(netip.MustParseAddr("2001:db8::1")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AnonymizeAddr(tt.in)
			if tt.in.IsZero() {
				if !got.IsZero() {
					t.Fatalf("AnonymizeAddr(zero) = %s, want zero", got)
				}
				return
			}
			if got.Is4() != tt.wantV4 {
				t.Errorf("AnonymizeAddr(%s) = %s, Is4 = %v, want %v", tt.in, got, got.Is4(), tt.wantV4)
			}
			var want flow.Addr
			if tt.wantV4 {
				want = flow.AddrFrom4(c.Anonymize4([4]byte(tt.in[12:])))
			} else {
				want = flow.Addr(c.Anonymize16(tt.in))
			}
			if got != want {
				t.Errorf("AnonymizeAddr(%s) = %s, want %s", tt.in, got, want)
			}
			if back := c.DeanonymizeAddr(got); back != tt.in {
				t.Errorf("DeanonymizeAddr(%s) = %s, want %s", got, back, tt.in)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	c := mustNew(t, randKey(r))
	addrs := make([]flow.Addr, 200)
	want := make([]flow.Addr, len(addrs))
	for i := range addrs {
		if i%2 == 0 {
			addrs[i] = flow.AddrFrom4([4]byte(randBytes(r, 4)))
		} else {
			addrs[i] = flow.Addr(randBytes(r, 16))
		}
		want[i] = c.AnonymizeAddr(addrs[i])
	}
	var wg sync.WaitGroup
	errs := make([]int, 4)
	for g := range errs {
		wg.Go(func() {
			for i, a := range addrs {
				if c.AnonymizeAddr(a) != want[i] || c.DeanonymizeAddr(want[i]) != a {
					errs[g]++
				}
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff(errs, make([]int, len(errs))); diff != "" {
		t.Errorf("mismatches per goroutine (-got, +want):\n%s", diff)
	}
}

func TestRedacted(t *testing.T) {
	c := mustNew(t, [32]byte{1})
	k := NewCache(c, 16)
	k.Anonymize(flow.AddrFrom4([4]byte{192, 0, 2, 1}))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		// Every verb goes through String or GoString: the output is the
		// redacted text, formatted (hex for %x).
		if got, want := fmt.Sprintf(verb, c), fmt.Sprintf(verb, "cryptopan.Cipher{redacted}"); got != want && verb != "%#v" || strings.Contains(got, hex.EncodeToString(c.pad[:4])) {
			t.Errorf("Sprintf(%q, cipher) = %q, want %q", verb, got, want)
		}
		if got, want := fmt.Sprintf(verb, k), fmt.Sprintf(verb, "cryptopan.Cache{redacted}"); got != want && verb != "%#v" {
			t.Errorf("Sprintf(%q, cache) = %q, want %q", verb, got, want)
		}
	}
	if got := fmt.Sprintf("%#v", c); got != "cryptopan.Cipher{redacted}" {
		t.Errorf("Sprintf(%%#v, cipher) = %q", got)
	}
}
