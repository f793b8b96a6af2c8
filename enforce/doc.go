// Package enforce is the enforcement side of acd: where actions run. The
// Gatekeeper verifies, itself and every time, that an action of a case may
// run now (cases.Gate.Check: signatures, quorum, window, scope, separation
// of duties, the emergency path) before it hands the action to the
// Adapter for its type, and it audits both refusals (with the typed
// reason) and executions.
//
// Real adapters — CrowdSec, nftables, BGP (FlowSpec, RTBH), DNS RPZ,
// abuse reports — come with the enforcement issue. Here there is only
// Recorder, which records what it was asked and does nothing: it is for
// tests and demonstrations, and an action "executed" through it has not
// been enforced anywhere.
package enforce
