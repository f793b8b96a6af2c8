// Package report handles incident reports from critical-infrastructure
// operators (issue 7, "Incident reports") and the unified DDoS report acd
// fills from its own detection.
//
// A Report is what an operator (the reporting-operator principal) files:
// type (ddos, ransomware, intrusion, other), affected systems, times,
// observed volumes, vectors, indicators, mitigation and a TLP 2.0 level.
// Decode reads one strictly (unknown fields refused, size bounded) and
// Validate checks every field; Acknowledge gives it an id "IR-2026-000123"
// (NewID) from the caller's sequence.
//
// FromDetection (and FromSuspect) fill a unified DDoS report from acd's
// ddos-victim evidence (detectors ddos and reflection): MITRE ATT&CK
// classification (Classify: T1498, T1498.001, T1498.002, T1499), peak
// bit and packet rates, times, vectors, top sources as indicators (domestic
// ones marked) and the mitigation taken. Report.JSON and Report.Text render
// the unified form.
//
// Correlate matches a report with suspects: indicators that are suspects
// (exact address, prefix containment either way) and, for DDoS reports,
// suspects whose evidence names an affected system as victim during the
// report's time range.
//
// ToSTIX turns a report into STIX 2.1 objects (report, attack-patterns
// with ATT&CK references, indicators, a note with the volumes), each marked
// with the report's TLP, leaving out affected systems and domestic
// indicators and scrubbing addresses from free text. Whether the objects
// may leave is the sharing agreement's decision (intel/taxii).
package report
