package cases

import (
	"fmt"
	"slices"
)

// State is where a case stands. The life of a case (events on the arrows):
//
//	draft ──request──▶ requested ──approve──▶ approved ──activate──▶ active
//	                   requested ──emergency (urgent, emergency right)──▶ active
//	                   requested ──reject──▶ rejected
//	draft, requested, approved ──withdraw──▶ withdrawn
//	active, ineffective ──effective──▶ effective
//	active, effective ──ineffective──▶ ineffective
//	approved, active, effective, ineffective ──expire──▶ expired
//	approved, active, effective, ineffective ──revoke──▶ revoked
//	active, effective, ineffective ──rollback (emergency unreviewed)──▶ revoked
//	rejected, withdrawn, expired, revoked ──close──▶ closed
//
// Draft and requested cases may be amended (EventAmend): a change to what
// would be approved bumps Version, and approvals bind to a version. An
// emergency case is reviewed (EventReview) without changing state.
type State string

// States.
const (
	// StateDraft: an analyst is writing the case; nothing is frozen and
	// the commission does not see it yet.
	StateDraft State = "draft"
	// StateRequested: the evidence is frozen and hashed and the case is
	// before the commission, waiting for k approvals. An amendment that
	// changes what would be approved bumps the version; approvals of
	// earlier versions no longer count.
	StateRequested State = "requested"
	// StateApproved: a quorum of commissioners approved this version.
	// Nothing runs yet; the gate lets the actions run within their windows.
	StateApproved State = "approved"
	// StateRejected: the commission refused; the case can only be closed.
	StateRejected State = "rejected"
	// StateWithdrawn: the requester withdrew the case before it ran.
	StateWithdrawn State = "withdrawn"
	// StateActive: the actions run, on approval, or in an emergency
	// before it (Flags.Emergency, reviewed by Flags.ReviewBy).
	StateActive State = "active"
	// StateEffective: the actions run and the flows show the attack stopped.
	StateEffective State = "effective"
	// StateIneffective: the actions run but the attack goes on.
	StateIneffective State = "ineffective"
	// StateExpired: the windows ended and the actions were removed.
	StateExpired State = "expired"
	// StateRevoked: the actions were stopped before their windows ended:
	// by decision (revoke) or because an emergency went unreviewed
	// (rollback, Flags.ReviewMissed).
	StateRevoked State = "revoked"
	// StateClosed: archived; nothing more happens to the case.
	StateClosed State = "closed"
)

// States returns every state, in life order.
func States() []State {
	return []State{StateDraft, StateRequested, StateApproved, StateRejected, StateWithdrawn, StateActive,
		StateEffective, StateIneffective, StateExpired, StateRevoked, StateClosed}
}

// ParseState checks a state name.
func ParseState(s string) (State, error) {
	if st := State(s); slices.Contains(States(), st) {
		return st, nil
	}
	return "", fmt.Errorf("unknown case state %q", s)
}

// Event is a transition's name; the table below says from which states
// it is allowed and where it leads.
type Event string

// Events.
const (
	// EventAmend: draft → draft, requested → requested; changes the case
	// (Update), bumping Version when what would be approved changes.
	EventAmend Event = "amend"
	// EventRequest: draft → requested; needs the frozen evidence's hash.
	EventRequest Event = "request"
	// EventApprove: requested → approved, once a quorum approved.
	EventApprove Event = "approve"
	// EventReject: requested → rejected; needs a reason.
	EventReject Event = "reject"
	// EventWithdraw: draft, requested, approved → withdrawn; needs a reason.
	EventWithdraw Event = "withdraw"
	// EventActivate: approved → active, when the first action runs.
	EventActivate Event = "activate"
	// EventEmergency: requested → active before approval, by an operator
	// with the emergency right on an urgent case; sets Flags.Emergency
	// and the review deadline; needs a reason.
	EventEmergency Event = "emergency"
	// EventReview: active, effective, ineffective, expired → unchanged;
	// the commission's quorum approved an emergency afterwards
	// (Flags.Reviewed).
	EventReview Event = "review"
	// EventEffective: active, ineffective → effective (verification).
	EventEffective Event = "effective"
	// EventIneffective: active, effective → ineffective (verification).
	EventIneffective Event = "ineffective"
	// EventExpire: approved, active, effective, ineffective → expired,
	// when the last window ended.
	EventExpire Event = "expire"
	// EventRevoke: approved, active, effective, ineffective → revoked;
	// needs a reason.
	EventRevoke Event = "revoke"
	// EventRollback: active, effective, ineffective → revoked, when an
	// emergency's review deadline passed unreviewed; sets
	// Flags.ReviewMissed.
	EventRollback Event = "rollback"
	// EventClose: rejected, withdrawn, expired, revoked → closed.
	EventClose Event = "close"
)

// Events returns every event, in a stable order.
func Events() []Event {
	return []Event{EventAmend, EventRequest, EventApprove, EventReject, EventWithdraw, EventActivate,
		EventEmergency, EventReview, EventEffective, EventIneffective, EventExpire, EventRevoke,
		EventRollback, EventClose}
}

var running = []State{StateActive, StateEffective, StateIneffective}

// transitions gives, per event, the states it leaves from; an empty
// target keeps the state.
func transitions(ev Event) (from []State, to State) {
	switch ev {
	case EventAmend:
		return []State{StateDraft, StateRequested}, ""
	case EventRequest:
		return []State{StateDraft}, StateRequested
	case EventApprove:
		return []State{StateRequested}, StateApproved
	case EventReject:
		return []State{StateRequested}, StateRejected
	case EventWithdraw:
		return []State{StateDraft, StateRequested, StateApproved}, StateWithdrawn
	case EventActivate:
		return []State{StateApproved}, StateActive
	case EventEmergency:
		return []State{StateRequested}, StateActive
	case EventReview:
		return append(slices.Clone(running), StateExpired), ""
	case EventEffective:
		return []State{StateActive, StateIneffective}, StateEffective
	case EventIneffective:
		return []State{StateActive, StateEffective}, StateIneffective
	case EventExpire:
		return append([]State{StateApproved}, running...), StateExpired
	case EventRevoke:
		return append([]State{StateApproved}, running...), StateRevoked
	case EventRollback:
		return slices.Clone(running), StateRevoked
	case EventClose:
		return []State{StateRejected, StateWithdrawn, StateExpired, StateRevoked}, StateClosed
	}
	return nil, ""
}

// Next returns the state event ev leads to from s, or an error naming
// the states ev is allowed from.
func Next(s State, ev Event) (State, error) {
	from, to := transitions(ev)
	if from == nil {
		return "", fmt.Errorf("unknown case event %q", ev)
	}
	if !slices.Contains(from, s) {
		return "", fmt.Errorf("%w: %s is not allowed in state %s (only from %v)", ErrState, ev, s, from)
	}
	if to == "" {
		return s, nil
	}
	return to, nil
}

// Executable reports whether actions of a case in state s may run (the
// gate still checks approvals, scope and window).
func (s State) Executable() bool {
	return s == StateApproved || slices.Contains(running, s)
}
