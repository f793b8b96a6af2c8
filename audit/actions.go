package audit

// Actions recorded in the log. An action is a lower-case dotted name; the
// constants below are the ones acd writes, but Append accepts any name
// matching [a-z][a-z0-9_.-]* (at most 64 bytes).
const (
	// Identity and access.
	ActionLogin         = "login"          // a user logged in (Data: {"ok": bool})
	ActionLoginFailed   = "login.failed"   // a login was refused
	ActionTokenCreate   = "token.create"   // an API token was created (Data: {"role": ...})
	ActionTokenRevoke   = "token.revoke"   // an API token was revoked
	ActionUserAdd       = "user.add"       // a user was added (Data: {"roles": [...]})
	ActionUserDisable   = "user.disable"   // a user was disabled
	ActionKeyRegister   = "key.register"   // a commissioner's signing key was registered
	ActionKeyRevoke     = "key.revoke"     // a commissioner's signing key was revoked
	ActionBouncerAdd    = "bouncer.add"    // a CrowdSec bouncer key was created
	ActionBouncerRevoke = "bouncer.revoke" // a CrowdSec bouncer key was revoked

	// Data access.
	ActionSuspectRead = "suspect.read" // suspects or their evidence were read
	ActionReidentify  = "reidentify"   // pseudonyms were lifted (Object: the case)
	ActionShare       = "share"        // intelligence was shared with a partner

	// Cases. Data carries "route" (the legal basis) and, for actions,
	// "type" (block, flowspec, rtbh, sinkhole, abuse-report, reidentify,
	// police-request): the oversight report counts by both.
	ActionCaseCreate    = "case.create"    // a case was opened (draft)
	ActionCaseRequest   = "case.request"   // approval was requested; evidence frozen
	ActionCaseApprove   = "case.approve"   // a commissioner signed an approval
	ActionCaseReject    = "case.reject"    // a commissioner rejected (Data: {"reason": ...})
	ActionCaseWithdraw  = "case.withdraw"  // the requester withdrew the case
	ActionCaseExecute   = "case.execute"   // an approved action was carried out
	ActionCaseRevoke    = "case.revoke"    // an active action was revoked
	ActionCaseExpire    = "case.expire"    // an action reached its not-after time
	ActionCaseClose     = "case.close"     // the case was closed
	ActionCaseEmergency = "case.emergency" // an operator acted first on the urgent path
	ActionCaseReview    = "case.review"    // the commission reviewed an emergency action
	ActionCaseRollback  = "case.rollback"  // an unreviewed emergency action was rolled back
	ActionGateRefuse    = "gate.refuse"    // enforcement refused an action (Data: {"reason": ...})
	ActionCaseRetract   = "case.retract"   // a safety rail now covers an action in effect: withdrawn
	ActionCaseVerify    = "case.verify"    // the flows showed an action effective or not (Data: the figures)
)

// Keys of Entry.Data that the oversight report reads.
const (
	DataRoute = "route" // the legal basis or route of a case decision
	DataType  = "type"  // the type of a requested or executed action
)
