package minimize

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
)

var (
	domV4   = netip.MustParsePrefix("198.51.100.0/24")
	domV6   = netip.MustParsePrefix("2001:db8:100::/48")
	t0      = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	frozen  = func() time.Time { return t0 }
	foreign = flow.AddrFromNetip(netip.MustParseAddr("203.0.113.7"))
)

func addr(s string) flow.Addr { return flow.AddrFromNetip(netip.MustParseAddr(s)) }

// collector is a downstream sink that keeps copies of what it gets.
type collector struct {
	mu   sync.Mutex
	recs []flow.Record
}

func (c *collector) Consume(b *flow.Batch) {
	c.mu.Lock()
	c.recs = append(c.recs, b.Records...)
	c.mu.Unlock()
	b.Release()
}

func writeKey(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "screen.key")
	if err := GenerateKeyFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func testScreen(t testing.TB, mod func(*Config, *Deps)) (*Screen, *collector) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Domestic.Add = []string{domV4.String(), domV6.String()}
	cfg.Key.File = writeKey(t)
	next := &collector{}
	deps := Deps{Next: next, Now: frozen}
	if mod != nil {
		mod(&cfg, &deps)
	}
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, next
}

func batch(recs ...flow.Record) *flow.Batch {
	b := flow.NewBatchPool(len(recs) + 1).Get()
	b.Records = append(b.Records, recs...)
	return b
}

func TestClassify(t *testing.T) {
	tests := []struct {
		src, dst bool
		want     flow.Class
	}{
		{false, false, flow.ClassTransit},
		{false, true, flow.ClassInbound},
		{true, false, flow.ClassOutbound},
		{true, true, flow.ClassDomestic},
	}
	for _, tt := range tests {
		if got := classify(tt.src, tt.dst); got != tt.want {
			t.Errorf("classify(%v, %v) = %v, want %v", tt.src, tt.dst, got, tt.want)
		}
	}
}

func TestScreenClassesAndPseudonyms(t *testing.T) {
	s, next := testScreen(t, nil)
	dom4, dom6 := addr("198.51.100.10"), addr("2001:db8:100::10")
	ms := t0.UnixMilli()
	in := []flow.Record{
		{SrcAddr: foreign, DstAddr: addr("192.0.2.1"), Start: ms, InIf: 3, Exporter: addr("192.0.2.254")}, // transit
		{SrcAddr: foreign, DstAddr: dom4, Start: ms, SrcPort: 4444, DstPort: 22, Proto: 6},                // inbound
		{SrcAddr: dom6, DstAddr: addr("2001:db8:ffff::1"), Start: ms},                                     // outbound
		{SrcAddr: dom4, DstAddr: addr("198.51.100.11"), Start: ms},                                        // domestic
		{SrcAddr: dom6, DstAddr: addr("2001:db8:100:1::1"), Start: ms},                                    // domestic
		{SrcAddr: foreign, DstAddr: foreign, Start: ms, Exporter: dom4},                                   // transit, domestic exporter
	}
	s.Consume(batch(in...))
	if len(next.recs) != 4 {
		t.Fatalf("kept %d records, want 4", len(next.recs))
	}
	wantClass := []flow.Class{flow.ClassTransit, flow.ClassInbound, flow.ClassOutbound, flow.ClassTransit}
	for i, r := range next.recs {
		if r.Class != wantClass[i] {
			t.Errorf("record %d class = %v, want %v", i, r.Class, wantClass[i])
		}
	}
	tr, inb, out := next.recs[0], next.recs[1], next.recs[2]
	if tr.Pseudo != 0 || tr.SrcAddr != foreign || tr.DstAddr != addr("192.0.2.1") {
		t.Errorf("transit record changed: %+v", tr)
	}
	if tr.InIf != 0 || tr.Exporter != (flow.Addr{}) {
		t.Errorf("fields outside the default allow-list not zeroed: in_if %d exporter %v", tr.InIf, tr.Exporter)
	}
	if inb.Pseudo != flow.PseudoDst || inb.SrcAddr != foreign || inb.DstAddr == dom4 || !inb.DstAddr.Is4() {
		t.Errorf("inbound: want only dst pseudonymized (IPv4 stays IPv4): %+v", inb)
	}
	if inb.SrcPort != 4444 || inb.DstPort != 22 || inb.Proto != 6 {
		t.Errorf("allowed fields lost: %+v", inb)
	}
	if out.Pseudo != flow.PseudoSrc || out.SrcAddr == dom6 || out.SrcAddr.Is4() {
		t.Errorf("outbound: want only src pseudonymized (IPv6 stays IPv6): %+v", out)
	}
	wantEpoch := uint32(t0.UnixMilli() / (24 * time.Hour).Milliseconds())
	if inb.KeyEpoch != wantEpoch || out.KeyEpoch != wantEpoch || tr.KeyEpoch != 0 {
		t.Errorf("epochs = %d %d %d, want %d %d 0", inb.KeyEpoch, out.KeyEpoch, tr.KeyEpoch, wantEpoch, wantEpoch)
	}
	if next.recs[3].Exporter != (flow.Addr{}) {
		t.Errorf("domestic exporter passed in clear")
	}
	st := s.Stats()
	if st.Dropped[flow.ClassDomestic] != 2 || st.Kept[flow.ClassTransit] != 2 || st.In[flow.ClassInbound] != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestScreenEpochCaches screens records of more epochs than a worker
// caches, back and forth, so caches are taken over by other epochs: every
// pseudonym must still be the one of its record's epoch.
func TestScreenEpochCaches(t *testing.T) {
	s, next := testScreen(t, nil)
	dom := addr("198.51.100.9")
	day := int64(86400e3)
	var starts []int64
	for _, e := range []int64{0, 1, 2, 3, 4, 0, 4, 1, 5, 0} {
		starts = append(starts, t0.UnixMilli()+e*day)
	}
	for _, st := range starts {
		s.Consume(batch(flow.Record{SrcAddr: foreign, DstAddr: dom, Start: st}))
	}
	if len(next.recs) != len(starts) {
		t.Fatalf("kept %d records, want %d", len(next.recs), len(starts))
	}
	for i, r := range next.recs {
		want := s.cipher(r.KeyEpoch).AnonymizeAddr(dom)
		if r.KeyEpoch != uint32(starts[i]/day) || r.DstAddr != want {
			t.Errorf("record %d: epoch %d pseudonym %s, want epoch %d pseudonym %s", i, r.KeyEpoch, r.DstAddr, starts[i]/day, want)
		}
	}
}

func TestScreenPolicy(t *testing.T) {
	s, next := testScreen(t, func(c *Config, _ *Deps) {
		c.Keep = []string{"inbound"}
		c.Fields = []string{"src_addr", "dst_addr", "dst_port", "exporter", "in_if"}
	})
	ms := t0.UnixMilli()
	s.Consume(batch(
		flow.Record{SrcAddr: foreign, DstAddr: foreign, Start: ms},
		flow.Record{SrcAddr: foreign, DstAddr: addr("198.51.100.1"), Start: ms, End: ms + 5, Bytes: 9, Packets: 1,
			SrcPort: 1, DstPort: 443, Proto: 6, InIf: 7, Exporter: addr("192.0.2.254"), SrcAS: 64500, TCPFlags: 2},
	))
	if len(next.recs) != 1 {
		t.Fatalf("kept %d, want only the inbound record", len(next.recs))
	}
	r := next.recs[0]
	if r.Start != 0 || r.End != 0 || r.Bytes != 0 || r.Packets != 0 || r.SrcPort != 0 || r.Proto != 0 || r.SrcAS != 0 || r.TCPFlags != 0 {
		t.Errorf("disallowed fields kept: %+v", r)
	}
	if r.DstPort != 443 || r.InIf != 7 || r.Exporter != addr("192.0.2.254") || r.SrcAddr != foreign || r.Pseudo != flow.PseudoDst {
		t.Errorf("allowed fields lost: %+v", r)
	}
	if r.Class != flow.ClassInbound {
		t.Errorf("class = %v", r.Class)
	}
}

func TestScreenEmptyBatchNotForwarded(t *testing.T) {
	forwarded := 0
	s, _ := testScreen(t, func(_ *Config, d *Deps) {
		d.Next = flow.SinkFunc(func(b *flow.Batch) { forwarded++; b.Release() })
	})
	s.Consume(batch(flow.Record{SrcAddr: addr("198.51.100.1"), DstAddr: addr("198.51.100.2")}))
	if forwarded != 0 {
		t.Errorf("a batch of only domestic records was forwarded")
	}
}

// TestScreenProperties screens random records and checks, for every
// record that leaves the stage, that it does not have both endpoints
// domestic, and that no address field holds a domestic address in clear.
func TestScreenProperties(t *testing.T) {
	s, next := testScreen(t, func(c *Config, _ *Deps) {
		c.Fields = FieldNames() // the most permissive policy
	})
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() flow.Addr {
		var b [16]byte
		switch rng.IntN(4) {
		case 0: // domestic v4
			return flow.AddrFrom4([4]byte{198, 51, 100, byte(rng.IntN(256))})
		case 1: // domestic v6
			b = domV6.Addr().As16()
			b[15], b[8] = byte(rng.IntN(256)), byte(rng.IntN(256))
			return flow.Addr(b)
		case 2: // foreign v4
			return flow.AddrFrom4([4]byte{byte(1 + rng.IntN(190)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))})
		default:
			b = [16]byte{0x2a, 0x00, byte(rng.IntN(256)), byte(rng.IntN(256)), 15: byte(rng.IntN(256))}
			return flow.Addr(b)
		}
	}
	domestic := func(a flow.Addr) bool { return domV4.Contains(a.Netip()) || domV6.Contains(a.Netip()) }
	inDomestic := map[flow.Addr]bool{}
	total := 0
	for range 200 {
		n := 1 + rng.IntN(300)
		b := flow.NewBatchPool(n).Get()
		for range n {
			r := flow.Record{SrcAddr: pick(), DstAddr: pick(), Exporter: pick(), Start: t0.UnixMilli() + rng.Int64N(7*86400e3)}
			for _, a := range []flow.Addr{r.SrcAddr, r.DstAddr, r.Exporter} {
				if domestic(a) {
					inDomestic[a] = true
				}
			}
			b.Records = append(b.Records, r)
		}
		total += n
		s.Consume(b)
	}
	if len(next.recs) == 0 || len(next.recs) == total {
		t.Fatalf("kept %d of %d: the generator should give both kept and dropped records", len(next.recs), total)
	}
	for _, r := range next.recs {
		if r.Class == flow.ClassDomestic || r.Class == flow.ClassUnscreened {
			t.Fatalf("record of class %v left the stage: %+v", r.Class, r)
		}
		if r.Pseudo&flow.PseudoSrc != 0 && r.Pseudo&flow.PseudoDst != 0 {
			t.Fatalf("record with both endpoints domestic left the stage: %+v", r)
		}
		for _, f := range []struct {
			a      flow.Addr
			pseudo bool
		}{{r.SrcAddr, r.Pseudo&flow.PseudoSrc != 0}, {r.DstAddr, r.Pseudo&flow.PseudoDst != 0}, {r.Exporter, false}} {
			if !f.pseudo && (domestic(f.a) || inDomestic[f.a]) {
				t.Fatalf("domestic address %s in clear downstream: %+v", f.a, r)
			}
		}
	}
}

func TestStartRefusesWithoutKey(t *testing.T) {
	cfg := DefaultConfig()
	s, err := New(cfg, Deps{Next: &collector{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); !errors.Is(err, ErrNoKey) {
		t.Fatalf("Start() without key = %v, want ErrNoKey", err)
	}
	s, _ = New(cfg, Deps{Next: &collector{}, EphemeralKey: true})
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start() with EphemeralKey = %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k")
	if err := GenerateKeyFile(p); err != nil {
		t.Fatal(err)
	}
	if err := GenerateKeyFile(p); err == nil {
		t.Error("GenerateKeyFile overwrote an existing key")
	}
	k1, err := loadKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadKey(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key accepted: %v", err)
	}
	bad := []struct{ name, content, want string }{
		{"noheader", "00\n", "not an acd key file"},
		{"short", keyFileHeader + "\nabcd\n", "64 hex digits"},
		{"zeros", keyFileHeader + "\n" + strings.Repeat("0", 64) + "\n", "all zeros"},
		{"nokey", keyFileHeader + "\n# nothing\n", "no key line"},
	}
	for _, b := range bad {
		f := filepath.Join(dir, b.name)
		if err := os.WriteFile(f, []byte(b.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadKey(f); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: loadKey = %v, want %q", b.name, err, b.want)
		}
	}
	// The key never prints.
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("key", "k", k1)
	data, _ := os.ReadFile(p)
	hexKey := strings.TrimSpace(strings.Split(string(data), "\n")[2])
	if strings.Contains(logs.String(), hexKey) || !strings.Contains(logs.String(), "[redacted]") {
		t.Errorf("key logged: %s", logs.String())
	}
	e1, _ := k1.epochKey(1)
	e2, _ := k1.epochKey(2)
	if e1 == e2 {
		t.Error("two epochs derived the same key")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	c := DefaultConfig()
	c.Keep = []string{"transit", "domestic", "sideways"}
	c.Fields = []string{"src_addr", "payload"}
	c.Key.Rotation = time.Second
	c.Retention.Inbound = 0
	err := c.Validate()
	for _, want := range []string{"screen.keep[1]: domestic records are never kept", "screen.keep[2]: unknown class", "screen.fields[1]: unknown field \"payload\"", "screen.key.rotation", "screen.retention.inbound"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
}

func BenchmarkScreen(b *testing.B) {
	s, _ := testScreen(b, func(_ *Config, d *Deps) {
		d.Next = flow.SinkFunc(func(b *flow.Batch) {})
	})
	// A realistic mix: 100k hosts, Zipf-like reuse, 40% of endpoints domestic.
	rng := rand.New(rand.NewPCG(3, 4))
	zipf := rand.NewZipf(rng, 1.1, 1, 100000)
	host := func() flow.Addr {
		h := zipf.Uint64()
		if h%5 < 2 {
			return flow.AddrFrom4([4]byte{198, 51, 100, byte(h)})
		}
		return flow.AddrFrom4([4]byte{byte(1 + h%190), byte(h >> 8), byte(h >> 16), byte(h)})
	}
	src := make([]flow.Record, 1024)
	for i := range src {
		src[i] = flow.Record{SrcAddr: host(), DstAddr: host(), Start: t0.UnixMilli(), Bytes: 100, Packets: 1}
	}
	bt := &flow.Batch{Records: make([]flow.Record, 0, len(src))}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(src) {
		bt.Records = append(bt.Records[:0], src...)
		s.Consume(bt)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/record")
}

func TestIsDomestic(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Domestic.Add = []string{domV4.String()}
	cfg.Key.File = writeKey(t)
	early, err := New(cfg, Deps{Next: &collector{}, Now: frozen})
	if err != nil {
		t.Fatal(err)
	}
	if !early.IsDomestic(netip.MustParseAddr("100.64.0.1")) {
		t.Error("before Start, an address is not treated as domestic (fail closed)")
	}
	s, _ := testScreen(t, nil)
	if !s.IsDomestic(domV4.Addr()) || s.IsDomestic(netip.MustParseAddr("100.64.0.1")) {
		t.Errorf("IsDomestic(%s) = %v", domV4.Addr(), s.IsDomestic(domV4.Addr()))
	}
}
