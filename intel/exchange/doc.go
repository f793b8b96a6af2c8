// Package exchange moves indicators between acd and its partners: the
// Publisher puts acd's own suspects, as STIX 2.1, into the TAXII
// collections each partner reads (through the partner's share.Gate), and
// the Poller takes in what partners share in their collections (through
// the gate again) and hands the resulting candidates to a Sink, such as
// BookSink, which turns them into detect findings of detector
// "partner:<name>" and withdraws them when the partner revokes.
//
// Publishing (Publisher.Run, once; Start runs it every Every):
//
//  1. Source gives the suspects; evidence of detectors named "partner:*"
//     is dropped first (acd never re-shares what a partner sent), and
//     a suspect left without evidence, below MinScore, pseudonymous
//     (stix.FromSuspect refuses) or without a role is skipped.
//  2. stix.FromSuspect makes the indicator, the infrastructure per role
//     and the relationships, with deterministic ids.
//  3. For each partner gate and each of its outgoing collections, the
//     last stored version of each object is looked up: an object already
//     there is carried onto it (stix.Carry) and published only if it
//     changed other than in modified; a revoked one stays revoked.
//  4. The gate decides (share.Gate.Outgoing: TLP, type, scrub, derived,
//     delay, confidence); what passes is added to the collection, with
//     acd's identity and the TLP marking definitions the first time.
//
// Publisher.Revoke publishes the revoked versions of every acd object
// about a target in every collection that holds one.
//
// Polling (Poller.Run, once; Start runs it every Every; SyncNow for one
// partner): each collection is polled from its bookmark (date added),
// each object parsed (stix.Parse), decided by the gate
// (share.Gate.Incoming), turned into candidates (share.ToSuspects, with
// the indicates relationships and infrastructure seen before as
// context) and handed to the Sink: Add for live candidates, Withdraw
// for revoked or expired ones. A partner whose sync fails is retried
// after a backoff that doubles up to MaxBackoff.
package exchange
