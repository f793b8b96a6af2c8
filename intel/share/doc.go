// Package share applies sharing agreements: what acd may send to each
// partner, what it accepts from them, and how what they send becomes
// suspect candidates.
//
// An Agreement (YAML, one per partner) names the partner, the
// collections in each direction, the highest TLP that may leave
// (TLP:RED and TLP:AMBER+STRICT never do), the object types, the
// minimum confidence, a delay, and whether anything derived from
// domestic data may leave. Agreement.Allow decides for each outgoing
// object and Agreement.Accept for each incoming one; both return a
// typed Reason for counting. Before an object leaves, the scrub
// (Domestic) walks every string in its JSON and every literal of its
// pattern for IPv4 and IPv6 addresses and prefixes, and refuses it if
// any lies in the domestic space: no domestic address ever leaves in
// clear, whatever the agreement says.
//
// ToSuspects turns what a partner sent into Incoming candidates: the
// addresses, prefixes and domains of actionable indicators (and of
// infrastructure that consists of address or domain SCOs), with the role
// from the linked infrastructure, a score scaled by the partner's trust,
// and the provenance. Revoked or expired objects come back as
// withdrawals.
//
// A Ledger records who sent what and when, in both directions, with the
// reason when refused; Gate combines an Agreement and a Ledger so that
// new versions and revocations of an object already shared follow it.
//
// The package imports only stages up to intel (detect for roles, conf
// for loading): the lead turns Incoming into detect findings.
package share
