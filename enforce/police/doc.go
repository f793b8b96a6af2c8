// Package police hands a case's signed evidence package to an authorized
// police or defense channel, for approved police-request actions. The
// action's scope.recipient names the channel; only configured channels
// (name → directory) are served, any other is refused. acd itself never
// intrudes into third-party systems: the package is all it hands over.
//
// Apply writes one file, acd-<case>-v<version>-a<index>.json, atomically
// into the channel's directory: a JSON object
//
//	{"format":"acd-evidence-package-v1",
//	 "manifest":{"format","statement","case","version","action","action_type",
//	             "target","channel","created","key_id",
//	             "parts":[{"name","sha256","size"},...]},
//	 "signature":"<base64 Ed25519 over the RFC 8785 canonical JSON of manifest>",
//	 "parts":{"case":{...},"approvals":[...],"evidence":{"suspects":[...]},"audit":[...]}}
//
// Each part's sha256 is that of its exact bytes in the file (the file is
// compact JSON; reformatting it breaks the hashes, so keep the original).
// The evidence part is the frozen evidence document, which must hash to
// the case's evidence_hash; the audit part is the excerpt of the
// hash-chained audit log about the case. Verify checks all of it.
//
// Apply is one-shot and idempotent across crashes: after the package is
// written a ledger file state_dir/police-<case>-v<version>-a<index>.json
// is written atomically, and an item found there is not written again
// (even if the channel has since taken the package away). A crash
// between the two writes the same package again, under the same name.
// Withdraw is a no-op: a package handed over cannot be taken back.
package police
