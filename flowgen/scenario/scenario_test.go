package scenario

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/flowgen"
	"github.com/google/go-cmp/cmp"
)

var _ flowgen.Source = (*Generator)(nil)

// drain returns every record of cfg, checking the Start order.
func drain(t testing.TB, g *Generator) []flow.Record {
	t.Helper()
	var out []flow.Record
	buf := make([]flow.Record, 300)
	for {
		n := g.Next(buf, time.Time{})
		if n == 0 {
			break
		}
		out = append(out, buf[:n]...)
	}
	for i := 1; i < len(out); i++ {
		if out[i].Start < out[i-1].Start {
			t.Fatalf("record %d starts at %d before record %d at %d", i, out[i].Start, i-1, out[i-1].Start)
		}
	}
	return out
}

func mustNew(t testing.TB, cfg Config) *Generator {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error: %v", err)
	}
	return g
}

func small(seed uint64, attacks ...Attack) Config {
	return Config{Seed: seed, Duration: 10 * time.Minute,
		Background: BackgroundConfig{Clients: 200, Servers: 100, FlowsPerSecond: 50, IPv6: 0.2}, Attacks: attacks}
}

func TestDeterminism(t *testing.T) {
	cfg := small(7, Attack{Kind: KindScanHorizontal, Start: time.Minute}, Attack{Kind: KindBeacon, Jitter: 0.3, Sources: 3},
		Attack{Kind: KindReflection, Start: 2 * time.Minute, Duration: time.Minute})
	a, b := mustNew(t, cfg), mustNew(t, cfg)
	ra, rb := drain(t, a), drain(t, b)
	if !slices.Equal(ra, rb) {
		t.Errorf("records differ for the same seed")
	}
	if diff := cmp.Diff(a.Labels(), b.Labels()); diff != "" {
		t.Errorf("labels differ for the same seed (-got, +want):\n%s", diff)
	}
	cfg.Seed = 8
	if rc := drain(t, mustNew(t, cfg)); slices.Equal(ra, rc) {
		t.Errorf("seeds 7 and 8 give the same records")
	}
}

// TestChunking checks that the records do not depend on the batch sizes.
func TestChunking(t *testing.T) {
	cfg := small(3, Attack{Kind: KindDDoSPulse, Duration: 3 * time.Minute})
	want := drain(t, mustNew(t, cfg))
	g := mustNew(t, cfg)
	var got []flow.Record
	for i := 1; ; i++ {
		buf := make([]flow.Record, i%17+1)
		n := g.Next(buf, time.Time{})
		if n == 0 {
			break
		}
		got = append(got, buf[:n]...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("chunked records differ")
	}
}

func TestValidation(t *testing.T) {
	ok := small(1)
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no duration", func(c *Config) { c.Duration = 0 }, "duration must be positive"},
		{"clients", func(c *Config) { c.Background.Clients = 70000 }, "background.clients"},
		{"servers", func(c *Config) { c.Background.Servers = 10 }, "background.servers"},
		{"ipv6", func(c *Config) { c.Background.IPv6 = 2 }, "background.ipv6"},
		{"ntp", func(c *Config) { c.Background.NTPClients = 500 }, "background.ntp_clients"},
		{"kind", func(c *Config) { c.Attacks = []Attack{{Kind: "nuke"}} }, `attacks[0]: kind "nuke" unknown`},
		{"start", func(c *Config) { c.Attacks = []Attack{{Kind: KindBeacon, Start: time.Hour}} }, "attacks[0]: start"},
		{"duration", func(c *Config) {
			c.Attacks = []Attack{{Kind: KindBeacon}, {Kind: KindBeacon, Start: 5 * time.Minute, Duration: 6 * time.Minute}}
		}, "attacks[1]: duration"},
		{"jitter", func(c *Config) { c.Attacks = []Attack{{Kind: KindBeacon, Jitter: 0.6}} }, "attacks[0]: jitter"},
		{"rate", func(c *Config) { c.Attacks = []Attack{{Kind: KindDDoSSYN, Rate: -1}} }, "attacks[0]: rate"},
		{"service", func(c *Config) { c.Attacks = []Attack{{Kind: KindReflection, Service: "chargen"}} }, `service "chargen" unknown`},
		{"service not taken", func(c *Config) { c.Attacks = []Attack{{Kind: KindDDoSSYN, Service: "dns"}} }, "takes none"},
		{"pulse on", func(c *Config) { c.Attacks = []Attack{{Kind: KindDDoSPulse, On: time.Hour}} }, "attacks[0]: on"},
		{"vertical port", func(c *Config) { c.Attacks = []Attack{{Kind: KindScanVertical, Port: 22}} }, "port given"},
		{"sources", func(c *Config) { c.Attacks = []Attack{{Kind: KindDDoSUDP, Sources: 1 << 20}} }, "attacks[0]: sources"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New() error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := New(ok); err != nil {
		t.Errorf("New(valid) error: %v", err)
	}
}

func TestDefaultSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	kinds := map[string]bool{}
	for _, cfg := range DefaultSuite() {
		t.Run(cfg.Name, func(t *testing.T) {
			g := mustNew(t, cfg)
			recs := drain(t, g)
			labels := g.Labels()
			if len(cfg.Attacks) == 0 && len(labels) != 0 {
				t.Errorf("background scenario has %d labels", len(labels))
			}
			for _, a := range cfg.Attacks {
				kinds[a.Kind] = true
			}
			checkLabels(t, g.Config(), recs, labels)
		})
	}
	for _, k := range Kinds() {
		if !kinds[k] {
			t.Errorf("the default suite has no %s attack", k)
		}
	}
}
