package cases

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/conf"
)

// TestPolicyYAML checks that a policy loads from acd's configuration
// format as README.md shows it, and that a bad action type is refused.
func TestPolicyYAML(t *testing.T) {
	p := DefaultPolicy()
	doc := `
quorum: 2
commissioners: [k1, k2, k3]
emergency_operators: [oscar]
emergency_actions: [block, rtbh]
emergency_review: 12h
max_window: 72h
owned_prefixes: [203.0.113.0/24, "2001:db8:1::/48"]
`
	if err := conf.Load([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.EmergencyReview != 12*time.Hour || p.MaxWindow != 72*time.Hour || len(p.Commissioners) != 3 ||
		p.EmergencyActions[1] != ActionRTBH || p.OwnedPrefixes[1] != netip.MustParsePrefix("2001:db8:1::/48") || p.MinPrefix4 != 24 {
		t.Errorf("loaded %+v", p)
	}
	bad := DefaultPolicy()
	if err := conf.Load([]byte("emergency_actions: [nuke]\n"), &bad); err == nil || !strings.Contains(err.Error(), "nuke") {
		t.Errorf("unknown action type: %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	d := DefaultPolicy()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Policy)
		err  string
	}{
		{"quorum zero", func(p *Policy) { p.Quorum = 0 }, "at least one approval"},
		{"quorum above n", func(p *Policy) { p.Commissioners = []string{"k1"} }, "more than the 1 commissioner keys"},
		{"repeated key", func(p *Policy) { p.Commissioners = []string{"k1", "k1"} }, `"k1" is empty or repeated`},
		{"no review time", func(p *Policy) { p.EmergencyReview = 0 }, "emergency_review"},
		{"no window", func(p *Policy) { p.MaxWindow = -1 }, "max_window"},
		{"bad emergency action", func(p *Policy) { p.EmergencyActions = []ActionType{"nuke"} }, "emergency_actions"},
		{"bad prefix width", func(p *Policy) { p.MinPrefix4 = 40 }, "min_prefix4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy()
			tc.edit(&p)
			if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want an error saying %q", err, tc.err)
			}
		})
	}
	p := testPolicy()
	p.OwnedPrefixes = []netip.Prefix{netip.MustParsePrefix("::ffff:203.0.113.0/120")}
	if !p.Owns(netip.MustParsePrefix("203.0.113.9/32")) {
		t.Error("a v4-mapped owned prefix does not own its v4 hosts")
	}
}
