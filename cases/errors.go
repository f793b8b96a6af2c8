package cases

import "errors"

// The gate's refusals and the state machine's. Errors returned wrap one
// (or, when several checks failed, several) of these: test with errors.Is;
// the message names what failed.
var (
	// ErrSignature: an approval's signature does not verify, its key is
	// unknown, or the key belongs to someone other than the signer named.
	ErrSignature = errors.New("cases: invalid approval signature")
	// ErrQuorum: fewer distinct valid commissioners approved than the
	// policy's quorum, and no emergency applies (the message says why:
	// not urgent, no emergency right, type not allowed, review overdue).
	ErrQuorum = errors.New("cases: approval quorum not reached")
	// ErrRevokedKey: an approval was signed with a revoked key.
	ErrRevokedKey = errors.New("cases: approval key revoked")
	// ErrReplay: an approval of another case or another version.
	ErrReplay = errors.New("cases: approval of another case or version")
	// ErrScope: the action differs from every approved one (type,
	// target, scope, parameters) or breaks the policy.
	ErrScope = errors.New("cases: action outside the approved scope")
	// ErrWindow: now is outside the action's window, or the window is
	// longer than the approved one.
	ErrWindow = errors.New("cases: outside the approved window")
	// ErrState: the case's state does not allow this.
	ErrState = errors.New("cases: not allowed in this case state")
	// ErrDuties: separation of duties: the requester approving, an
	// approver or the requester executing, no executor named.
	ErrDuties = errors.New("cases: separation of duties")
)
