package cases

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Route is the legal route a case takes.
type Route string

// Routes.
const (
	// RouteOrdinary: prior approval by the commission, then action.
	RouteOrdinary Route = "ordinary"
	// RouteUrgent: the commission is asked at once; an operator with
	// the emergency right may act first, and the commission reviews
	// afterwards within the policy's deadline.
	RouteUrgent Route = "urgent"
)

// Urgency is how soon the requester needs a decision.
type Urgency string

// Urgency levels.
const (
	UrgencyLow      Urgency = "low"
	UrgencyNormal   Urgency = "normal"
	UrgencyHigh     Urgency = "high"
	UrgencyCritical Urgency = "critical"
)

// Flags mark what happened outside the ordinary path.
type Flags struct {
	// Emergency: the case was activated before approval, by
	// EmergencyBy at EmergencyAt; the commission must review it by
	// ReviewBy.
	Emergency   bool      `json:"emergency,omitempty"`
	EmergencyBy string    `json:"emergency_by,omitempty"`
	EmergencyAt time.Time `json:"emergency_at,omitzero"`
	ReviewBy    time.Time `json:"review_by,omitzero"`
	// Reviewed: a quorum of the commission approved the emergency
	// afterwards, at ReviewedAt.
	Reviewed   bool      `json:"reviewed,omitempty"`
	ReviewedAt time.Time `json:"reviewed_at,omitzero"`
	// ReviewMissed: the review deadline passed unreviewed and the
	// actions were rolled back.
	ReviewMissed bool `json:"review_missed,omitempty"`
}

// Entry is one line of a case's history: who did what, when, why, and
// the state and version it left the case in.
type Entry struct {
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	Event   Event     `json:"event"`
	From    State     `json:"from"`
	To      State     `json:"to"`
	Version int       `json:"version"`
	Reason  string    `json:"reason,omitempty"`
}

// Case is a request to act against a target, the evidence it rests on,
// and what became of it. What a commissioner approves is the canonical
// payload of the case (Payload): ID, Version, Target, Suspects,
// EvidenceHash, LegalBasis, Route, Urgency, Requester and Actions. State,
// History and Flags record what happened; changing them does not change
// the version.
type Case struct {
	ID           string    `json:"id"`
	Version      int       `json:"version"`       // starts at 1; bumped by each change to what would be approved
	Target       Target    `json:"target"`        // the attack server: address, prefix or domain
	Suspects     []string  `json:"suspects"`      // the suspects' addresses the case rests on
	EvidenceHash string    `json:"evidence_hash"` // SHA-256 (hex) of the frozen evidence (FreezeEvidence)
	LegalBasis   string    `json:"legal_basis"`   // the provision the measure relies on
	Route        Route     `json:"route"`
	Urgency      Urgency   `json:"urgency"`
	Requester    string    `json:"requester"` // the user who opened the case; never an approver or executor
	Actions      []Action  `json:"actions"`
	State        State     `json:"state"`
	History      []Entry   `json:"history"`
	Flags        Flags     `json:"flags"`
	Created      time.Time `json:"created"`
	// Verdicts are the verify stage's latest finding per action in
	// effect (not part of what is approved).
	Verdicts []Verdict `json:"verdicts,omitempty"`
}

// Verdict values: what the flows showed after an action started.
const (
	VerdictEffective    = "effective"    // the targeted traffic fell as required
	VerdictIneffective  = "ineffective"  // it went on: escalated to the analysts
	VerdictUnmeasurable = "unmeasurable" // nothing to compare (no traffic before, or not visible in flows)
)

// Verdict is the verify stage's finding on one action.
type Verdict struct {
	Action  int       `json:"action"`
	Verdict string    `json:"verdict"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason,omitempty"`
}

// SetVerdict records v, replacing an earlier verdict on the same action,
// and returns the event the case's state now calls for: EventIneffective
// when any action is ineffective and the case is not yet; EventEffective
// when none is ineffective, one is effective and the case is not yet
// effective; "" otherwise (nothing measurable, or no change).
func (c *Case) SetVerdict(v Verdict) Event {
	i := slices.IndexFunc(c.Verdicts, func(x Verdict) bool { return x.Action == v.Action })
	if i >= 0 {
		c.Verdicts[i] = v
	} else {
		c.Verdicts = append(c.Verdicts, v)
		slices.SortFunc(c.Verdicts, func(a, b Verdict) int { return a.Action - b.Action })
	}
	var eff, ineff bool
	for _, x := range c.Verdicts {
		eff = eff || x.Verdict == VerdictEffective
		ineff = ineff || x.Verdict == VerdictIneffective
	}
	switch {
	case ineff && (c.State == StateActive || c.State == StateEffective):
		return EventIneffective
	case !ineff && eff && (c.State == StateActive || c.State == StateIneffective):
		return EventEffective
	}
	return ""
}

// New returns a draft case, version 1, with a history of one entry.
func New(id string, requester string, at time.Time) Case {
	return Case{ID: id, Version: 1, Requester: requester, Route: RouteOrdinary, Urgency: UrgencyNormal,
		State: StateDraft, Created: at,
		History: []Entry{{At: at, By: requester, Event: "create", To: StateDraft, Version: 1}}}
}

// Clone returns a deep copy of c.
func (c Case) Clone() Case {
	c.Suspects = slices.Clone(c.Suspects)
	c.Actions = slices.Clone(c.Actions)
	c.Verdicts = slices.Clone(c.Verdicts)
	for i := range c.Actions {
		c.Actions[i] = c.Actions[i].Clone()
	}
	c.History = slices.Clone(c.History)
	return c
}

// Validate checks the case under policy p as it must be to be requested:
// every field of the payload set and valid, every action valid, and
// block and flowspec aimed at the case's target or one of its suspects.
func (c *Case) Validate(p *Policy) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if err := checkID(c.ID); err != nil {
		errs = append(errs, err)
	}
	if c.Version < 1 {
		add("version %d: versions start at 1", c.Version)
	}
	if c.Target.IsZero() {
		add("no target")
	}
	sources, err := c.sources()
	if err != nil {
		errs = append(errs, err)
	}
	if !isSHA256Hex(c.EvidenceHash) {
		add("evidence_hash %q is not a SHA-256 in lower-case hex (freeze the evidence first)", c.EvidenceHash)
	}
	if strings.TrimSpace(c.LegalBasis) == "" {
		add("no legal basis")
	}
	if c.Route != RouteOrdinary && c.Route != RouteUrgent {
		add("route %q: ordinary or urgent", c.Route)
	}
	if !slices.Contains([]Urgency{UrgencyLow, UrgencyNormal, UrgencyHigh, UrgencyCritical}, c.Urgency) {
		add("urgency %q: low, normal, high or critical", c.Urgency)
	}
	if c.Requester == "" {
		add("no requester")
	}
	if len(c.Actions) == 0 {
		add("no action requested")
	}
	for i, a := range c.Actions {
		if err := a.Validate(p); err != nil {
			add("actions[%d]: %w", i, err)
			continue
		}
		if (a.Type == ActionBlock || a.Type == ActionFlowSpec) && !coveredBy(a.Target, sources) {
			add("actions[%d]: %s acts on the source, and %s is neither the case target nor a suspect", i, a.Type, a.Target)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("case %s: %w", c.ID, err)
	}
	return nil
}

// sources returns the case target and the suspects as targets.
func (c *Case) sources() ([]Target, error) {
	ts := []Target{c.Target}
	for _, s := range c.Suspects {
		t, err := ParseTarget(s)
		if err != nil || t.Kind() == KindDomain {
			return nil, fmt.Errorf("suspect %q is not an address or prefix", s)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

func coveredBy(t Target, by []Target) bool {
	return slices.ContainsFunc(by, func(b Target) bool { return b.Covers(t) })
}

func checkID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("case id %q must be 1 to 64 characters", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("case id %q: only letters, digits, '-', '_' and '.'", id)
		}
	}
	return nil
}

func isSHA256Hex(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// Change is one transition to apply: the event, who, when and why.
// ReviewBy is the review deadline an EventEmergency sets (see
// EmergencyChange).
type Change struct {
	Event    Event
	By       string
	At       time.Time
	Reason   string
	ReviewBy time.Time
}

// Apply makes the transition ch, or refuses it (wrapping ErrState) when
// the state does not allow it or its preconditions fail: request needs
// the evidence hash; reject, withdraw, revoke and emergency a reason;
// review and rollback an unreviewed emergency. It records who, when and
// why in History. It does not check roles, signatures or quorum: the
// gate (Gate.Tally, Gate.Check) and the caller do. Amendments go
// through Update.
func (c *Case) Apply(ch Change) error {
	if ch.By == "" || ch.At.IsZero() {
		return fmt.Errorf("case %s: %s: a change needs who (by) and when (at)", c.ID, ch.Event)
	}
	if ch.Event == EventAmend {
		return fmt.Errorf("case %s: amend through Update", c.ID)
	}
	to, err := Next(c.State, ch.Event)
	if err != nil {
		return fmt.Errorf("case %s: %w", c.ID, err)
	}
	if err := c.precondition(ch); err != nil {
		return fmt.Errorf("case %s: %s refused: %w", c.ID, ch.Event, err)
	}
	switch ch.Event {
	case EventEmergency:
		c.Flags.Emergency, c.Flags.EmergencyBy, c.Flags.EmergencyAt, c.Flags.ReviewBy = true, ch.By, ch.At, ch.ReviewBy
	case EventReview:
		c.Flags.Reviewed, c.Flags.ReviewedAt = true, ch.At
	case EventRollback:
		c.Flags.ReviewMissed = true
	}
	c.History = append(c.History, Entry{At: ch.At, By: ch.By, Event: ch.Event, From: c.State, To: to, Version: c.Version, Reason: ch.Reason})
	c.State = to
	return nil
}

func (c *Case) precondition(ch Change) error {
	switch ch.Event {
	case EventRequest:
		if !isSHA256Hex(c.EvidenceHash) {
			return fmt.Errorf("%w: the evidence is not frozen (no evidence hash)", ErrState)
		}
	case EventReject, EventWithdraw, EventRevoke:
		if strings.TrimSpace(ch.Reason) == "" {
			return fmt.Errorf("%w: a %s needs a reason", ErrState, ch.Event)
		}
	case EventEmergency:
		if strings.TrimSpace(ch.Reason) == "" || !ch.ReviewBy.After(ch.At) {
			return fmt.Errorf("%w: an emergency needs a reason and a review deadline after it", ErrState)
		}
		if c.Route != RouteUrgent {
			return fmt.Errorf("%w: only an urgent case may be activated before approval (route is %s)", ErrState, c.Route)
		}
	case EventReview, EventRollback:
		if !c.Flags.Emergency || c.Flags.Reviewed {
			return fmt.Errorf("%w: the case is not an unreviewed emergency", ErrState)
		}
	}
	return nil
}

// EmergencyChange returns the change that activates c in an emergency,
// with the review deadline p sets.
func EmergencyChange(p *Policy, by string, at time.Time, reason string) Change {
	return Change{Event: EventEmergency, By: by, At: at, Reason: reason, ReviewBy: at.Add(p.EmergencyReview)}
}

// Update amends a draft or requested case: edit changes a copy, and if
// what would be approved (the payload) changed, Version is bumped, so
// approvals of the previous version no longer count. ID, Version, State,
// History, Flags and Created are kept whatever edit does. The amendment
// is recorded in History.
func (c *Case) Update(by string, at time.Time, reason string, edit func(*Case)) error {
	if by == "" || at.IsZero() {
		return fmt.Errorf("case %s: amend: a change needs who (by) and when (at)", c.ID)
	}
	if _, err := Next(c.State, EventAmend); err != nil {
		return fmt.Errorf("case %s: %w", c.ID, err)
	}
	before, err := Payload(*c)
	if err != nil {
		return err
	}
	n := c.Clone()
	edit(&n)
	n.ID, n.Version, n.State, n.History, n.Flags, n.Created = c.ID, c.Version, c.State, c.History, c.Flags, c.Created
	after, err := Payload(n)
	if err != nil {
		return fmt.Errorf("case %s: amend: %w", c.ID, err)
	}
	if !bytes.Equal(before, after) {
		n.Version++
	}
	n.History = append(slices.Clone(c.History), Entry{At: at, By: by, Event: EventAmend, From: c.State, To: c.State, Version: n.Version, Reason: reason})
	*c = n
	return nil
}
