// Package cases holds the logic of cases, storage-free: a case asks to
// act against a target (an address, prefix or domain) on frozen evidence
// and a legal basis; an independent commission approves it with k-of-n
// Ed25519 signatures over the canonical JSON (RFC 8785, package jcs) of
// exactly what will be done; and the gate, where actions run, verifies
// those signatures, the quorum, the scope and the window itself before
// letting an action through.
//
// The pieces:
//
//   - Case, Action, Target, Scope: the model, validated under a Policy
//     (every action has a bounded window; rtbh only for owned prefixes;
//     block and flowspec act on the source; sinkhole needs a domain;
//     reidentify names pseudonyms).
//   - State and Event: the life of a case, a transition table refusing
//     illegal moves (ErrState) and recording who, when and why in
//     History. Update amends a case and bumps Version when what would
//     be approved changes: approvals bind to a version.
//   - FreezeEvidence: the suspects' evidence as canonical JSON and its
//     SHA-256, which the case and so the signatures carry.
//   - Payload, Message, Sign, Verify: what a commissioner signs.
//   - Gate: Tally counts decisions for the store; Check decides whether
//     an action may run now, with typed refusals (ErrSignature, ErrQuorum,
//     ErrRevokedKey, ErrReplay, ErrScope, ErrWindow, ErrState, ErrDuties). ReviewDue says when an unreviewed emergency must be
//     rolled back.
//
// README.md documents the states, the signed message and the gate's
// checks in prose.
package cases
