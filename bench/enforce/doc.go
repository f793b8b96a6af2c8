// Package enforce benchmarks acd's enforcement side as a whole: 10,000
// simultaneous actions in effect reconciled by the reconciler across the
// real adapters — the CrowdSec decision set and the local nftables (one
// fan-out for blocks), the embedded BGP speaker (FlowSpec and RTBH) and
// the DNS response-policy zone — and a second reconciliation that must
// find no drift. It has no code besides its benchmark.
package enforce
