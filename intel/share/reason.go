package share

// Reason says why an object was allowed or refused, in one word for
// counting (a metric label, a ledger field).
type Reason string

// Reasons. Allow and Accept return ReasonOK, ReasonRevokedOK or
// ReasonUpdateOK with true and any other with false.
const (
	ReasonOK         Reason = "ok"         // every rule passed
	ReasonRevokedOK  Reason = "revoked-ok" // a revocation: passes the confidence rule
	ReasonUpdateOK   Reason = "update-ok"  // a new version of an object already shared (Gate)
	ReasonTLP        Reason = "tlp"        // TLP above max_tlp, red, amber+strict, or no TLP marking
	ReasonType       Reason = "type"       // object type not in the agreement
	ReasonConfidence Reason = "confidence" // confidence below min_confidence (or none when required)
	ReasonDelay      Reason = "delay"      // created + delay not reached
	ReasonDomestic   Reason = "domestic"   // the scrub found a domestic address (or no domestic space was given)
	ReasonDerived    Reason = "derived"    // derived from domestic data, and the agreement says domestic: false
	ReasonInvalid    Reason = "invalid"    // the object (or its pattern) does not validate
	ReasonAge        Reason = "age"        // incoming: last modified longer ago than max_age
	ReasonCreator    Reason = "creator"    // incoming: not created by the partner's identity
)

// Reasons returns every reason, in a stable order (to pre-create
// metric series).
func Reasons() []Reason {
	return []Reason{ReasonOK, ReasonRevokedOK, ReasonUpdateOK, ReasonTLP, ReasonType, ReasonConfidence,
		ReasonDelay, ReasonDomestic, ReasonDerived, ReasonInvalid, ReasonAge, ReasonCreator}
}

// Allowed reports whether r lets the object through.
func (r Reason) Allowed() bool { return r == ReasonOK || r == ReasonRevokedOK || r == ReasonUpdateOK }
