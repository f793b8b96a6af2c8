// Package verify judges, from the flow stream, whether an executed action
// worked: it compares the traffic matching the action before and after
// its activation.
//
// # Matching
//
// What counts for an action depends on its type:
//
//   - block, flowspec, abuse-report: records with the target (an address
//     or prefix) at either end, since a C2 server talks both ways. A scope
//     narrows it: protocol; ports, which are the far side's port (the
//     destination port of traffic from the target, the source port of
//     replies to it); flowspec's destination, which the far end must lie
//     in.
//   - rtbh: records whose destination is the target.
//   - sinkhole (a domain), reidentify and police-request cannot be seen in
//     flows: their verdict is always unmeasurable, given at the first
//     Evaluate after Watch.
//
// Pseudonymized endpoints (flow.PseudoSrc, flow.PseudoDst) never match
// a clear target. The exception is rtbh, whose target is a domestic host
// and so appears as its pseudonym: with Deps.Pseudonymize the verifier
// matches pseudonymized destinations against the target's pseudonym for
// each key epoch it meets. A record with both ends in one target counts
// once.
//
// # Counting
//
// Each followed target keeps per-minute buckets (by record start, in
// event time) of flows, packets and bytes, all scaled by the sampling
// rate as package detect does (a sampled record of p packets at 1 in N
// stands for max(1, N/p) flows, N·p packets), and a bitmap of the far
// endpoints from which the distinct peers of a window are estimated
// (linear counting, saturating near 3 200). A target is counted from the
// first whole minute after the stream's position when it was added
// (earlier records were consumed before it existed), so the
// verifier knows how many minutes of each window it really observed.
//
// # Windows and verdict
//
// With window W and grace G (Config), for an action executed at A:
//
//   - before is the W whole minutes before the minute of A, or the part
//     of it observed; it exists when Prewatch was called early enough;
//   - after is the W minutes from the first whole minute after A+G (after
//     a restart, from the first minute observed, if later);
//   - the verdict is given once event time passes the end of after.
//
// Rates are per observed minute. The baseline is the before-rate when
// before holds at least Config.MinBeforeFlows flows, else the hint given
// to Watch when hint.Flows·W reaches that many, else there is none. Then:
//
//   - no baseline: unmeasurable (nothing to compare with);
//   - flowspec with rate_bps: effective when the after byte rate is at
//     most rate_bps + 10 %, ineffective otherwise;
//   - otherwise effective when after has no flow at all, or when both the
//     flow rate and the packet rate fell to (1 − Config.Reduction) of the
//     baseline or less (the packet test is skipped when the baseline has
//     no packets); ineffective otherwise.
//
// # Event time
//
// Event time is the latest record start seen less Config.Lateness, as in
// package detect; records arrive out of order and count as long as their
// minute is still held. On a live feed idle for Config.IdleAdvance, event
// time follows the wall clock (Deps.Now), so a stream that went silent
// (all traffic blocked) still yields a verdict.
package verify
