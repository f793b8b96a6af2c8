package peertest

import (
	"strings"
	"testing"
)

func TestBIRDStarts(t *testing.T) {
	b := StartBIRD(t, 65000, 65001)
	if out, err := b.Birdc("show", "protocols"); err != nil || !strings.Contains(out, "acd") {
		t.Fatalf("show protocols: %v\n%s", err, out)
	}
	if b.Established() {
		t.Error("a session is established without a peer")
	}
	b.Kill()
	b.Start()
	if !strings.Contains(b.Table("flowtab4"), "flowtab4") {
		t.Errorf("no flowtab4 table: %s", b.Table("flowtab4"))
	}
}
