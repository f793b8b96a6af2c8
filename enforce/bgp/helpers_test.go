package bgp

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/peertest"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// action returns an action of type typ against target with scope.
func action(typ cases.ActionType, target string, scope cases.Scope) cases.Action {
	return cases.Action{Type: typ, Target: cases.MustTarget(target), Scope: scope, NotBefore: t0, NotAfter: t0.Add(time.Hour)}
}

// caseOf returns a case id with actions.
func caseOf(id string, actions ...cases.Action) cases.Case {
	return cases.Case{ID: id, Version: 1, Actions: actions}
}

func testConfig(neighbors ...Neighbor) Config {
	c := DefaultConfig()
	c.ASN = 65000
	c.RouterID = netip.MustParseAddr("10.255.0.1")
	c.OwnedPrefixes = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:1::/48")}
	c.ConnectRetry = time.Second
	c.HoldTime = 9 * time.Second
	c.Neighbors = neighbors
	if len(neighbors) == 0 {
		// Nobody listens on port 1 (tests listen on ephemeral ports):
		// the speaker keeps trying, harmless for tests of the local RIB.
		c.Neighbors = []Neighbor{{Address: netip.MustParseAddr("127.0.0.1"), Port: 1, ASN: 65001}}
	}
	return c
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("ACD_BGP_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startSpeaker starts a speaker for cfg, stopped in Cleanup.
func startSpeaker(t testing.TB, cfg Config) *Speaker {
	t.Helper()
	s, err := New(cfg, Deps{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// neighbor returns the speaker's neighbor configuration for BIRD.
func neighbor(b *peertest.BIRD) Neighbor {
	return Neighbor{Address: netip.MustParseAddr("127.0.0.1"), Port: b.Port, ASN: b.ASN}
}

// birdc runs a birdc command and returns its output, failing the test
// when birdc fails.
func birdc(t testing.TB, b *peertest.BIRD, args ...string) string {
	t.Helper()
	out, err := b.Birdc(args...)
	if err != nil {
		t.Fatalf("birdc %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}
