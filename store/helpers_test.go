package store

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// openTest opens a fresh store in t.TempDir, closed at cleanup.
func openTest(t *testing.T) *DB {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "acd.db")
	db, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// finding makes a finding about addr (an address or prefix).
func finding(t *testing.T, addr string, role detect.Role, score float64, at time.Time) detect.Finding {
	t.Helper()
	k, err := detect.ParseKey(addr)
	if err != nil {
		t.Fatal(err)
	}
	return detect.Finding{Addr: k.Addr, Bits: k.Bits, Role: role, Evidence: detect.Evidence{
		Detector: "scan", Score: score, Reason: "probed 300 hosts", First: at, Last: at.Add(time.Minute),
		Counts: map[string]float64{"hosts": 300},
		Peers:  []detect.Peer{detect.PeerOf(flow.AddrFromNetip(netip.MustParseAddr("198.18.0.7")), true, "target", 3)},
	}}
}
