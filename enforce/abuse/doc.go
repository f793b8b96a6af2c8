// Package abuse reports the target of an approved abuse-report action to
// its network's abuse contact, by e-mail through an SMTP relay or as a
// .eml file written into a directory.
//
// The recipient is the action's scope.recipient when set, else the
// contact of the longest configured prefix covering the target (the
// contacts list, then contacts_file: CSV "prefix,email" lines), looked
// up offline; no match is an error naming the target, and nothing is
// sent.
//
// The report is an ARF message (RFC 5965, the default) or an XARF v4
// JSON report (format: xarf):
//
//	arf:  multipart/report; report-type=feedback-report
//	        1. text/plain: what was seen (roles, counts, times), the case,
//	           its legal basis, the contact to answer
//	        2. message/feedback-report: Feedback-Type: abuse, Version: 1,
//	           User-Agent, Source-IP (address targets), Arrival-Date (first
//	           seen), Incidents, Reporting-MTA, X-ACD-Target
//	        3. application/json evidence-summary.json: the Summary
//	xarf: multipart/mixed
//	        1. text/plain: as above
//	        2. application/json xarf.json: XARF 4.0.0, category connection
//
// acd holds no payload, only flow metadata, so no original message or
// packet is attached. A report says only what Summarize keeps of the
// evidence: the non-pseudonymous suspects inside the target, their
// roles, times, counts and the detectors' reasons with every address
// outside the target withheld; never peers, samples or any secret.
//
// Apply is one-shot and idempotent across crashes: after the relay
// accepted a report (or the file was written) a ledger file
// state_dir/abuse-<case>-v<version>-a<index>.json is written atomically,
// and an item found there is not sent again. A crash between the
// acceptance and the ledger write sends the report a second time, with
// the same Message-ID. Withdraw is a no-op: a report cannot be unsent.
package abuse
