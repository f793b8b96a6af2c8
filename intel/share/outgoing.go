package share

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/intel/stix"
)

// ScrubMarker is what stix.Scrub writes in place of an address in a
// text built from evidence: a text holding it was derived from
// domestic data.
const ScrubMarker = "[address]"

// Allow decides whether o may leave for the partner at now. The rules,
// in this order (the first that fails is the reason):
//
//   - tlp: o has a TLP marking (TLPOf), at most max_tlp, and neither
//     RED nor AMBER+STRICT (whatever the agreement says);
//   - type: o's type is in outgoing.types;
//   - invalid: an indicator's STIX pattern parses;
//   - domestic: the scrub (Domestic) finds no address of the domestic
//     space in o; a nil domestic refuses everything;
//   - derived: with domestic: false, o is not derived from domestic data
//     (a sighting, observed data, or a text holding ScrubMarker);
//   - delay: o was created at least delay before now;
//   - confidence: o's confidence is at least min_confidence; an
//     indicator, infrastructure or sighting without confidence fails
//     when min_confidence > 0, other types without one pass. A revoked
//     object passes this rule (ReasonRevokedOK), so that revocations
//     follow what was shared.
func (a Agreement) Allow(o stix.Object, now time.Time, domestic func(netip.Addr) bool) (bool, Reason) {
	r := a.allow(o, now, domestic)
	return r.Allowed(), r
}

func (a Agreement) allow(o stix.Object, now time.Time, domestic func(netip.Addr) bool) Reason {
	out := &a.Outgoing
	tlp, err := stix.TLPOf(o)
	if err != nil || tlp >= stix.TLPAmberStrict || !tlp.MayLeave(out.MaxTLP) {
		return ReasonTLP
	}
	if !slices.Contains(out.Types, o.Type) {
		return ReasonType
	}
	if domestic == nil {
		return ReasonDomestic
	}
	if _, found, err := scrub(o.Raw(), domestic); err != nil {
		return ReasonInvalid
	} else if found {
		return ReasonDomestic
	}
	if !out.Domestic && Derived(o) {
		return ReasonDerived
	}
	if out.Delay > 0 && !o.Created.IsZero() && now.Before(o.Created.Add(out.Delay)) {
		return ReasonDelay
	}
	if o.Revoked {
		return ReasonRevokedOK
	}
	if out.MinConfidence > 0 {
		if o.Confidence == nil {
			if claims(o.Type) {
				return ReasonConfidence
			}
		} else if *o.Confidence < out.MinConfidence {
			return ReasonConfidence
		}
	}
	return ReasonOK
}

// claims reports whether objects of type t make a claim that needs a
// confidence when the agreement sets a minimum.
func claims(t string) bool {
	return t == stix.TypeIndicator || t == stix.TypeInfrastructure || t == stix.TypeSighting
}

// Derived reports whether o is derived from domestic data: a sighting or
// observed data (observations made in domestic networks), or an object
// whose JSON holds ScrubMarker (a text built from evidence that named
// domestic hosts).
func Derived(o stix.Object) bool {
	if o.Type == stix.TypeSighting || o.Type == stix.TypeObservedData {
		return true
	}
	for s := range jsonWalk(o.Raw()) {
		if strings.Contains(s.text, ScrubMarker) {
			return true
		}
	}
	return false
}
