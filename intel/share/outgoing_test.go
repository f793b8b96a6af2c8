package share

import (
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix"
)

func testAgreement() Agreement {
	a := DefaultAgreement()
	a.Partner = "us"
	a.Outgoing.MaxTLP = stix.TLPAmber
	a.Outgoing.MinConfidence = 50
	a.Outgoing.Delay = time.Hour
	a.Outgoing.Domestic = true
	return a
}

func TestAllow(t *testing.T) {
	now := t0.Add(2 * time.Hour) // created t0: the 1h delay has passed
	red, strict := stix.TLPRed.MarkingID(), stix.TLPAmberStrict.MarkingID()
	cases := []struct {
		name   string
		change func(*Agreement)
		props  map[string]any
		now    time.Time
		want   Reason
	}{
		{name: "ok", want: ReasonOK},
		{name: "green under amber", props: map[string]any{"object_marking_refs": []string{stix.TLPGreen.MarkingID()}}, want: ReasonOK},
		{name: "amber under amber", props: map[string]any{"object_marking_refs": []string{stix.TLPAmber.MarkingID()}}, want: ReasonOK},
		{name: "amber under green", change: func(a *Agreement) { a.Outgoing.MaxTLP = stix.TLPGreen },
			props: map[string]any{"object_marking_refs": []string{stix.TLPAmber.MarkingID()}}, want: ReasonTLP},
		{name: "tlp 1.0 amber under green", change: func(a *Agreement) { a.Outgoing.MaxTLP = stix.TLPGreen },
			props: map[string]any{"object_marking_refs": []string{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"}}, want: ReasonTLP},
		{name: "red never", props: map[string]any{"object_marking_refs": []string{red}}, want: ReasonTLP},
		{name: "red never, even if configured", change: func(a *Agreement) { a.Outgoing.MaxTLP = stix.TLPRed },
			props: map[string]any{"object_marking_refs": []string{red}}, want: ReasonTLP},
		{name: "amber+strict never, even if configured", change: func(a *Agreement) { a.Outgoing.MaxTLP = stix.TLPAmberStrict },
			props: map[string]any{"object_marking_refs": []string{strict}}, want: ReasonTLP},
		{name: "granular red part", props: map[string]any{"granular_markings": []any{map[string]any{"marking_ref": red, "selectors": []string{"description"}}}}, want: ReasonTLP},
		{name: "no tlp", props: map[string]any{"object_marking_refs": nil}, want: ReasonTLP},
		{name: "type", change: func(a *Agreement) { a.Outgoing.Types = []string{"infrastructure"} }, want: ReasonType},
		{name: "invalid pattern", props: map[string]any{"pattern": "[ipv4-addr:value = "}, want: ReasonInvalid},
		{name: "domestic in pattern", props: map[string]any{"pattern": "[ipv4-addr:value = '198.18.0.1']"}, want: ReasonDomestic},
		{name: "domestic in description", props: map[string]any{"description": "victim 2001:db8:100::9"}, want: ReasonDomestic},
		{name: "domestic even when domestic: true", props: map[string]any{"name": "198.19.0.1"}, want: ReasonDomestic},
		{name: "derived allowed", props: map[string]any{"description": "clients e.g. [address]"}, want: ReasonOK},
		{name: "derived refused", change: func(a *Agreement) { a.Outgoing.Domestic = false },
			props: map[string]any{"description": "clients e.g. [address]"}, want: ReasonDerived},
		{name: "delay", now: t0.Add(59 * time.Minute), want: ReasonDelay},
		{name: "delay just elapsed", now: t0.Add(time.Hour), want: ReasonOK},
		{name: "confidence low", props: map[string]any{"confidence": 49}, want: ReasonConfidence},
		{name: "confidence equal", props: map[string]any{"confidence": 50}, want: ReasonOK},
		{name: "confidence absent on an indicator", props: map[string]any{"confidence": nil}, want: ReasonConfidence},
		{name: "confidence absent, no minimum", change: func(a *Agreement) { a.Outgoing.MinConfidence = 0 }, props: map[string]any{"confidence": nil}, want: ReasonOK},
		{name: "revoked low confidence", props: map[string]any{"confidence": 10, "revoked": true}, want: ReasonRevokedOK},
		{name: "revoked still red", props: map[string]any{"revoked": true, "object_marking_refs": []string{red}}, want: ReasonTLP},
		{name: "revoked still delayed", props: map[string]any{"revoked": true}, now: t0, want: ReasonDelay},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := testAgreement()
			if c.change != nil {
				c.change(&a)
			}
			now := c.now
			if now.IsZero() {
				now = t0.Add(2 * time.Hour)
			}
			ok, r := a.Allow(object(t, c.props), now, isDomestic)
			if r != c.want || ok != c.want.Allowed() {
				t.Errorf("Allow = %v, %s; want %s", ok, r, c.want)
			}
		})
	}
	// Types without confidence pass the minimum; a nil domestic space
	// refuses everything.
	a := testAgreement()
	rel := object(t, map[string]any{"type": "relationship", "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
		"relationship_type": "indicates", "source_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"target_ref": "infrastructure--38c47d93-d984-4fd9-b87b-d69d0841628d", "confidence": nil,
		"pattern": nil, "pattern_type": nil, "valid_from": nil, "indicator_types": nil})
	if ok, r := a.Allow(rel, now, isDomestic); !ok {
		t.Errorf("relationship without confidence: %s", r)
	}
	if ok, r := a.Allow(object(t, nil), now, nil); ok || r != ReasonDomestic {
		t.Errorf("nil domestic space: %v, %s; want refused (domestic)", ok, r)
	}
	sighting := object(t, map[string]any{"type": "sighting", "id": "sighting--ee20065d-2555-424f-ad9e-0f8428623c75",
		"sighting_of_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "pattern": nil, "pattern_type": nil, "valid_from": nil, "indicator_types": nil})
	a.Outgoing.Domestic = false
	if ok, r := a.Allow(sighting, now, isDomestic); ok || r != ReasonDerived {
		t.Errorf("sighting with domestic: false: %v, %s; want derived", ok, r)
	}
}

// TestAllowEmitted runs acd's own emissions through agreements: what
// passes carries no domestic address, TLP decides per partner, RED and
// AMBER+STRICT never leave, and nothing domestic-derived leaves a
// partner with domestic: false.
func TestAllowEmitted(t *testing.T) {
	by := identity(t, "acd jp CERT")
	ss := append(victimSuspects(t), evasiveSuspects(t)...)
	now := t0.Add(4 * time.Hour)
	green := testAgreement()
	green.Partner, green.Outgoing.MaxTLP, green.Outgoing.Delay = "kr", stix.TLPGreen, 0
	amber := testAgreement()
	amber.Outgoing.Delay = 0
	strictish := testAgreement()
	strictish.Partner, strictish.Outgoing.Domestic, strictish.Outgoing.Delay = "au", false, 0
	for _, tlp := range stix.TLPs() {
		for _, a := range []Agreement{green, amber, strictish} {
			passed := 0
			for _, o := range emit(t, by, tlp, ss...) {
				ok, r := a.Allow(o, now, isDomestic)
				if !ok {
					continue
				}
				passed++
				if tlp > a.Outgoing.MaxTLP || tlp >= stix.TLPAmberStrict {
					t.Errorf("%s: %s left for %s (max %s): %s", o.ID, tlp, a.Partner, a.Outgoing.MaxTLP, r)
				}
				if p, found := Domestic(o.Raw(), isDomestic); found {
					t.Errorf("%s: left for %s with domestic %s", o.ID, a.Partner, p)
				}
				if !a.Outgoing.Domestic && Derived(o) {
					t.Errorf("%s: derived object left for %s", o.ID, a.Partner)
				}
			}
			wantSome := tlp <= a.Outgoing.MaxTLP
			if wantSome != (passed > 0) {
				t.Errorf("%s to %s: %d objects passed", tlp, a.Partner, passed)
			}
		}
	}
	// A suspect whose own address is domestic (never expected) is
	// refused by the scrub.
	objs := emit(t, by, stix.TLPClear, suspect(t, "198.18.0.99", 0.9, evidence("scan", detect.RoleScanner, 0.9, "tcp scan")))
	if ok, r := amber.Allow(objs[0], now, isDomestic); ok || r != ReasonDomestic {
		t.Errorf("domestic suspect: %v, %s", ok, r)
	}
}
