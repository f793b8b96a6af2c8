// Package detect finds the servers attacks come from: it runs detectors
// (scan, brute force, DDoS, reflection, C2 beaconing; one subpackage each)
// over screened flow records and aggregates their findings into suspects.
//
// Everything works in event time, the records' own timestamps, so a capture
// file and a live feed give the same answer. The Engine is a flow.Sink: it
// hands each batch to every detector, keeps a watermark (the latest record
// end seen, less the allowed lateness) and tells the detectors when event
// time has passed it, so they close their windows. A detector emits a
// Finding as soon as a threshold is crossed, and again when its window
// closes; the Book merges findings into one Suspect per address,
// deduplicated across windows and detectors.
//
// State is bounded everywhere: detectors keep their keys in a Table with a
// configured maximum and a counted eviction, and the Book holds at most a
// configured number of suspects.
package detect
