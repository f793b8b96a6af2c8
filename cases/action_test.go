package cases

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/minimize"
)

func TestActionValidate(t *testing.T) {
	p := testPolicy()
	win := func(a Action) Action {
		if a.NotBefore.IsZero() {
			a.NotBefore = t0
		}
		if a.NotAfter.IsZero() {
			a.NotAfter = t0.Add(time.Hour)
		}
		return a
	}
	ps := func(addr string) []minimize.Pseudonym {
		return []minimize.Pseudonym{{Epoch: 1, Addr: netip.MustParseAddr(addr)}}
	}
	for _, tc := range []struct {
		name string
		a    Action
		err  string // "" valid
	}{
		{"block address", Action{Type: ActionBlock, Target: MustTarget("198.51.100.7")}, ""},
		{"block /24 with ports", Action{Type: ActionBlock, Target: MustTarget("198.51.100.0/24"), Scope: Scope{Protocol: 6, Ports: []PortRange{{22, 22}, {2222, 2230}}}}, ""},
		{"block /16 too wide", Action{Type: ActionBlock, Target: MustTarget("198.51.0.0/16")}, "wider than the policy allows (/24 at most)"},
		{"flowspec /32 too wide v6", Action{Type: ActionFlowSpec, Target: MustTarget("2001:db8::/32")}, "/48 at most"},
		{"block a domain", Action{Type: ActionBlock, Target: MustTarget("evil.example")}, "needs an address or prefix target"},
		{"block with rate", Action{Type: ActionBlock, Target: MustTarget("198.51.100.7"), Scope: Scope{RateBps: 10}}, "scope.rate_bps is not allowed for block"},
		{"ports without protocol", Action{Type: ActionBlock, Target: MustTarget("198.51.100.7"), Scope: Scope{Ports: []PortRange{{22, 22}}}}, "needs scope.protocol"},
		{"inverted port range", Action{Type: ActionBlock, Target: MustTarget("198.51.100.7"), Scope: Scope{Protocol: 6, Ports: []PortRange{{30, 20}}}}, "invalid range 30-20"},
		{"port zero", Action{Type: ActionBlock, Target: MustTarget("198.51.100.7"), Scope: Scope{Protocol: 17, Ports: []PortRange{{0, 20}}}}, "invalid range 0-20"},
		{"flowspec rate limit", Action{Type: ActionFlowSpec, Target: MustTarget("198.51.100.7"), Scope: Scope{Destination: MustTarget("203.0.113.0/24"), Protocol: 17, RateBps: 1000}}, ""},
		{"flowspec domain destination", Action{Type: ActionFlowSpec, Target: MustTarget("198.51.100.7"), Scope: Scope{Destination: MustTarget("a.example")}}, "must be an address or prefix"},
		{"rtbh owned host v4", Action{Type: ActionRTBH, Target: MustTarget("203.0.113.9")}, ""},
		{"rtbh owned host v6", Action{Type: ActionRTBH, Target: MustTarget("2001:db8:1::9")}, ""},
		{"rtbh not owned", Action{Type: ActionRTBH, Target: MustTarget("198.51.100.7")}, "outside the prefixes the operator owns"},
		{"rtbh prefix", Action{Type: ActionRTBH, Target: MustTarget("203.0.113.0/28")}, "needs a host address (a /32 or /128 route)"},
		{"rtbh with scope", Action{Type: ActionRTBH, Target: MustTarget("203.0.113.9"), Scope: Scope{Protocol: 6}}, "scope.protocol is not allowed for rtbh"},
		{"sinkhole", Action{Type: ActionSinkhole, Target: MustTarget("c2.evil.example"), Scope: Scope{Subdomains: true}}, ""},
		{"sinkhole an address", Action{Type: ActionSinkhole, Target: MustTarget("198.51.100.7")}, "sinkhole needs a domain target"},
		{"abuse report", Action{Type: ActionAbuseReport, Target: MustTarget("198.51.100.0/24"), Scope: Scope{Recipient: "abuse@example.net"}}, ""},
		{"abuse report bad recipient", Action{Type: ActionAbuseReport, Target: MustTarget("198.51.100.7"), Scope: Scope{Recipient: "nobody"}}, "not an e-mail address"},
		{"reidentify", Action{Type: ActionReidentify, Target: MustTarget("10.20.0.0/16"), Scope: Scope{Pseudonyms: ps("10.20.1.2")}}, ""},
		{"reidentify nothing", Action{Type: ActionReidentify, Target: MustTarget("10.20.0.0/16")}, "needs scope.pseudonyms"},
		{"reidentify outside target", Action{Type: ActionReidentify, Target: MustTarget("10.20.0.0/16"), Scope: Scope{Pseudonyms: ps("10.21.1.2")}}, "not inside the target"},
		{"police request", Action{Type: ActionPoliceRequest, Target: MustTarget("evil.example"), Scope: Scope{Recipient: "npa-cyber"}}, ""},
		{"police request without channel", Action{Type: ActionPoliceRequest, Target: MustTarget("198.51.100.7")}, "needs scope.recipient"},
		{"unknown type", Action{Type: "hack-back", Target: MustTarget("198.51.100.7")}, `unknown action type "hack-back"`},
		{"no target", Action{Type: ActionBlock}, "no target"},
		{"open-ended", Action{Type: ActionBlock, Target: MustTarget("198.51.100.7"), NotBefore: t0, NotAfter: time.Time{}.Add(1)}, "not after not_before"},
		{"window too long", Action{Type: ActionBlock, Target: MustTarget("198.51.100.7"), NotAfter: t0.Add(8 * 24 * time.Hour)}, "longer than the policy maximum 168h0m0s"},
		{"empty param key", Action{Type: ActionBlock, Target: MustTarget("198.51.100.7"), Params: map[string]string{"": "x"}}, "empty key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := win(tc.a).Validate(&p)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want an error saying %q", err, tc.err)
			}
		})
	}
	noEnd := Action{Type: ActionBlock, Target: MustTarget("198.51.100.7"), NotBefore: t0}
	if err := noEnd.Validate(&p); err == nil || !strings.Contains(err.Error(), "nothing is open-ended") {
		t.Errorf("no not_after: %v", err)
	}
}

func TestCaseValidate(t *testing.T) {
	p := testPolicy()
	for _, tc := range []struct {
		name string
		edit func(*Case)
		err  string
	}{
		{"valid", func(*Case) {}, ""},
		{"bad id", func(c *Case) { c.ID = "a b" }, "only letters"},
		{"no evidence", func(c *Case) { c.EvidenceHash = "" }, "freeze the evidence first"},
		{"no legal basis", func(c *Case) { c.LegalBasis = " " }, "no legal basis"},
		{"bad route", func(c *Case) { c.Route = "fast" }, `route "fast"`},
		{"bad urgency", func(c *Case) { c.Urgency = "now" }, `urgency "now"`},
		{"no actions", func(c *Case) { c.Actions = nil }, "no action requested"},
		{"bad suspect", func(c *Case) { c.Suspects = []string{"evil.example"} }, "not an address or prefix"},
		{"block beside the source", func(c *Case) { c.Actions[0].Target = MustTarget("198.51.100.8") }, "neither the case target nor a suspect"},
		{"block a suspect", func(c *Case) {
			c.Suspects = append(c.Suspects, "192.0.2.0/24")
			c.Actions[0].Target = MustTarget("192.0.2.5")
		}, ""},
		{"several errors at once", func(c *Case) { c.LegalBasis, c.Requester = "", "" }, "no requester"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCase()
			tc.edit(&c)
			err := c.Validate(&p)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want an error saying %q", err, tc.err)
			}
		})
	}
}
