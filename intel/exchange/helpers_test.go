package exchange

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/taxii"
	"github.com/acd-org/acd/intel/taxii/client"
)

// Collections (TAXII collection ids are UUIDs).
const (
	colJPtoUS = "6f1d0a52-3c1e-4b7e-9a55-0b7f5e2c1a01" // "jp-to-us" on jp's server
	colJPtoUK = "6f1d0a52-3c1e-4b7e-9a55-0b7f5e2c1a02" // "jp-to-uk" on jp's server
	colUStoUK = "6f1d0a52-3c1e-4b7e-9a55-0b7f5e2c1a03" // "us-to-uk" on us's server
)

// domesticSpace is jp's domestic space (scenario address plan).
var domesticSpace = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("2001:db8:100::/48")}

func isDomestic(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range domesticSpace {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func logger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Millisecond)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// server is one acd instance's TAXII server.
type server struct {
	store *taxii.MemStore
	ts    *httptest.Server
}

// newServer serves collections (id → reader principal) on loopback,
// with API key "<principal>-key" for each reader.
func newServer(t *testing.T, clk *clock, cols map[string]string) *server {
	t.Helper()
	cfg := taxii.DefaultConfig()
	cfg.Default = "api"
	root := taxii.APIRootConfig{Name: "api", Title: "acd"}
	keys := map[string]string{}
	for id, reader := range cols {
		root.Collections = append(root.Collections, taxii.CollectionConfig{ID: id, Title: id, Read: []string{reader}})
		keys[taxii.HashAPIKey(reader+"-key")] = reader
	}
	cfg.APIRoots = []taxii.APIRootConfig{root}
	store := taxii.NewMemStore(clk.Now)
	srv, err := taxii.New(cfg, taxii.Deps{Logger: logger(t), Store: store, Auth: taxii.APIKeys{Keys: keys}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &server{store: store, ts: ts}
}

// remote is how principal polls the collections of s, under the
// agreement with partner.
func (s *server) remote(t *testing.T, principal string, a share.Agreement) Remote {
	t.Helper()
	cfg := client.DefaultConfig()
	cfg.URL, cfg.APIKey, cfg.Retries = s.ts.URL+"/taxii2/", principal+"-key", 0
	c, err := client.New(cfg, client.Deps{Logger: logger(t), HTTP: s.ts.Client(), Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	return Remote{Gate: &share.Gate{Agreement: a, Ledger: &share.MemLedger{}, Domestic: isDomestic}, Client: c, APIRoot: s.ts.URL + "/api/"}
}

func identity(t testing.TB, name string, at time.Time) stix.Identity {
	t.Helper()
	id, err := stix.NewIdentity(name, at, stix.TLPClear)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// outAgreement is jp's agreement with partner: what leaves for it.
func outAgreement(partner, col string, max stix.TLP, domestic bool) share.Agreement {
	a := share.DefaultAgreement()
	a.Partner = partner
	a.Outgoing.Collections, a.Outgoing.MaxTLP, a.Outgoing.Domestic = []string{col}, max, domestic
	return a
}

// inAgreement is an agreement to take in what partner shares in col.
func inAgreement(partner, identity, col string, trust int) share.Agreement {
	a := share.DefaultAgreement()
	a.Partner, a.Identity = partner, identity
	a.Incoming.Collections, a.Incoming.Trust = []string{col}, trust
	return a
}

func bookSource(b *detect.Book) func(context.Context) ([]detect.Suspect, error) {
	return func(context.Context) ([]detect.Suspect, error) {
		ss, _ := b.Query(detect.Filter{})
		return ss, nil
	}
}

func finding(t testing.TB, addr, det string, r detect.Role, score float64, reason string, at time.Time) detect.Finding {
	t.Helper()
	k, err := detect.ParseKey(addr)
	if err != nil {
		t.Fatal(err)
	}
	return detect.Finding{Addr: k.Addr, Bits: k.Bits, Role: r, Evidence: detect.Evidence{
		Detector: det, Role: r, Score: score, Reason: reason, First: at.Add(-time.Hour), Last: at, Findings: 1}}
}

func key(t testing.TB, addr string) detect.Key {
	t.Helper()
	k, err := detect.ParseKey(addr)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// objects returns the last versions of every object in a collection.
func objects(t *testing.T, st taxii.Store, col string) []stix.Object {
	t.Helper()
	return query(t, st, col, taxii.Query{Limit: 1000})
}

// allVersions returns every version in a collection.
func allVersions(t *testing.T, st taxii.Store, col string) []stix.Object {
	t.Helper()
	return query(t, st, col, taxii.Query{Filter: taxii.Filter{Versions: []taxii.VersionMatch{{Kind: taxii.VersionAll}}}, Limit: 1000})
}

// query returns what q selects in a collection, page after page.
func query(t *testing.T, st taxii.Store, col string, q taxii.Query) []stix.Object {
	t.Helper()
	var out []stix.Object
	for {
		page, err := st.Objects(context.Background(), col, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range page.Objects {
			o, err := stix.Parse(to.Raw)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, o)
		}
		if !page.More {
			return out
		}
		q.Next = page.Next
	}
}

// validateAll asserts that every version in the collections validates
// as an outgoing object.
func validateAll(t *testing.T, st taxii.Store, cols ...string) {
	t.Helper()
	for _, col := range cols {
		for _, o := range allVersions(t, st, col) {
			if err := stix.ValidateOutgoing(o.Raw()); err != nil {
				t.Errorf("collection %s: %s does not validate: %v", col, o.ID, err)
			}
		}
	}
}

// evidenceOf returns the evidence of detector in suspect k, if any.
func evidenceOf(b *detect.Book, k detect.Key, det string) (detect.Evidence, bool) {
	s, ok := b.Get(k)
	if !ok {
		return detect.Evidence{}, false
	}
	for _, e := range s.Evidence {
		if e.Detector == det {
			return e, true
		}
	}
	return detect.Evidence{}, false
}

// noSleep makes the client's retries immediate.
func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }
