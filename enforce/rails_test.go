package enforce

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/acd-org/acd/cases"
)

func TestRails(t *testing.T) {
	r := DefaultRails()
	r.NeverAct = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/26"), netip.MustParsePrefix("2001:db8:53::/48")}
	r.NeverActDomains = []string{"example.org", "ns1.example.net"}
	r.MaxActive = 3
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	act := func(typ cases.ActionType, target string) cases.Action {
		return cases.Action{Type: typ, Target: cases.MustTarget(target)}
	}
	tests := []struct {
		name   string
		a      cases.Action
		active int
		ok     bool
	}{
		{"foreign host", act(cases.ActionBlock, "198.51.100.7"), 0, true},
		{"foreign /24", act(cases.ActionBlock, "198.51.100.0/24"), 0, true},
		{"too wide /23", act(cases.ActionBlock, "198.51.100.0/23"), 0, false},
		{"v6 /48 ok", act(cases.ActionFlowSpec, "2001:db8:1::/48"), 0, true},
		{"v6 /47 too wide", act(cases.ActionFlowSpec, "2001:db8::/47"), 0, false},
		{"rtbh host", act(cases.ActionRTBH, "203.0.113.9"), 0, true},
		{"rtbh prefix", act(cases.ActionRTBH, "203.0.113.0/30"), 0, false},
		{"type without widest: host only", act(cases.ActionPoliceRequest, "198.51.100.0/31"), 0, false},
		{"inside never-act", act(cases.ActionBlock, "192.0.2.9"), 0, false},
		{"containing never-act", act(cases.ActionBlock, "192.0.2.0/24"), 0, false},
		{"next to never-act", act(cases.ActionBlock, "192.0.2.64"), 0, true},
		{"v6 never-act", act(cases.ActionBlock, "2001:db8:53::1"), 0, false},
		{"root server a", act(cases.ActionBlock, "198.41.0.4"), 0, false},
		{"root server k v6", act(cases.ActionRTBH, "2001:7fd::1"), 0, false},
		{"never-act domain", act(cases.ActionSinkhole, "ns1.example.org"), 0, false},
		{"never-act domain itself", act(cases.ActionSinkhole, "example.org"), 0, false},
		{"other domain", act(cases.ActionSinkhole, "badexample.org"), 0, true},
		{"parent of a never-act domain with subdomains", cases.Action{Type: cases.ActionSinkhole, Target: cases.MustTarget("example.net"),
			Scope: cases.Scope{Subdomains: true}}, 0, false},
		{"sibling of a never-act domain", act(cases.ActionSinkhole, "mail.example.net"), 0, true},
		{"cap reached", act(cases.ActionBlock, "198.51.100.7"), 3, false},
		{"cap skipped", act(cases.ActionBlock, "198.51.100.7"), -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Check(tt.a, tt.active)
			if (err == nil) != tt.ok {
				t.Fatalf("Check(%s %s, %d) = %v, want ok=%v", tt.a.Type, tt.a.Target, tt.active, err, tt.ok)
			}
			if err != nil && (!errors.Is(err, ErrRail) || Reason(err) != "rail") {
				t.Errorf("error %v does not wrap ErrRail", err)
			}
		})
	}
	r.ProtectRootServers = false
	if err := r.Check(act(cases.ActionBlock, "198.41.0.4"), 0); err != nil {
		t.Errorf("root servers unprotected: %v", err)
	}
	var dyn []netip.Prefix
	r.Dynamic = func() []netip.Prefix { return dyn }
	if err := r.Covered(act(cases.ActionBlock, "198.51.100.7")); err != nil {
		t.Fatal(err)
	}
	dyn = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/25")}
	if err := r.Covered(act(cases.ActionBlock, "198.51.100.7")); err == nil {
		t.Error("a dynamic allow-list entry does not cover the address")
	}
	var nilRails *Rails
	if err := nilRails.Check(act(cases.ActionBlock, "0.0.0.0/0"), 1<<30); err != nil {
		t.Errorf("nil rails refused: %v", err)
	}
}

func TestRailsValidate(t *testing.T) {
	for _, r := range []Rails{
		{NeverAct: []netip.Prefix{{}}},
		{NeverActDomains: []string{"10.0.0.0/8"}},
		{Widest: map[cases.ActionType]Widest{"nuke": {V4: 8}}},
		{Widest: map[cases.ActionType]Widest{cases.ActionBlock: {V4: 33}}},
		{MaxActive: -1},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", r)
		}
	}
}
