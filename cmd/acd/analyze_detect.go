package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
)

// analyzeDetection is acd analyze's detection stage: an engine between
// screening and the tally, in replay mode (event time only).
type analyzeDetection struct {
	eng      *detect.Engine
	next     flow.Sink
	findings map[string]uint64
}

func newAnalyzeDetection(lc *loadedConfig, next flow.Sink, off bool) (*analyzeDetection, error) {
	d := &analyzeDetection{next: next, findings: map[string]uint64{}}
	if off {
		return d, nil
	}
	dets, err := lc.Detect.Build()
	if err != nil {
		return nil, err
	}
	d.eng, err = detect.New(lc.Detect.Config, dets, detect.Deps{Next: next,
		OnFinding: func(f *detect.Finding, _ int64, _ time.Time) { d.findings[f.Evidence.Detector]++ }})
	if err != nil {
		return nil, err
	}
	for _, det := range dets {
		d.findings[det.Name()] = 0
	}
	return d, nil
}

func (d *analyzeDetection) enabled() bool { return d.eng != nil }

// sink is where screening sends its records.
func (d *analyzeDetection) sink() flow.Sink {
	if d.eng == nil {
		return d.next
	}
	return d.eng
}

// detectSummary is the summary's detection part.
type detectSummary struct {
	Records  uint64            `json:"records"`
	Findings map[string]uint64 `json:"findings"` // by detector
	Suspects int               `json:"suspects"`
}

// finish closes every window and returns the suspects, best first.
func (d *analyzeDetection) finish(sum *analyzeSummary) []detect.Suspect {
	if d.eng == nil {
		return nil
	}
	d.eng.Flush()
	ss, _ := d.eng.Book().Query(detect.Filter{})
	sum.Detect = &detectSummary{Records: d.eng.Records(), Findings: d.findings, Suspects: len(ss)}
	return ss
}

// writeSuspectsText prints the suspects as a table, each role's reason
// underneath; with all, every piece of evidence and its counts.
func writeSuspectsText(w io.Writer, ss []detect.Suspect, enabled, all bool) {
	if !enabled {
		return
	}
	fmt.Fprintln(w)
	if len(ss) == 0 {
		fmt.Fprintln(w, "suspects   none")
		return
	}
	fmt.Fprintf(w, "suspects   %d\n", len(ss))
	fmt.Fprintf(w, "%-40s %-6s %-28s %-24s %s\n", "address", "score", "roles", "first seen", "last seen")
	for _, s := range ss {
		addr := s.Key.String()
		if s.Pseudo {
			addr += fmt.Sprintf(" (pseudonym@%d)", s.KeyEpoch)
		}
		roles := make([]string, len(s.Roles))
		for i, r := range s.Roles {
			roles[i] = string(r)
		}
		fmt.Fprintf(w, "%-40s %-6.3f %-28s %-24s %s\n", addr, s.Score, strings.Join(roles, ","),
			s.FirstSeen.Format(time.RFC3339), s.LastSeen.Format(time.RFC3339))
		for _, e := range s.Evidence {
			fmt.Fprintf(w, "    %s/%s %.3f: %s\n", e.Detector, e.Role, e.Score, e.Reason)
			if !all {
				continue
			}
			keys := make([]string, 0, len(e.Counts))
			for k := range e.Counts {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "        %-24s %g\n", k, e.Counts[k])
			}
			for _, p := range e.Peers {
				fmt.Fprintf(w, "        peer %-8s %s", p.Role, p.Address)
				if p.Pseudo {
					fmt.Fprint(w, " (pseudonym)")
				}
				if p.Count > 0 {
					fmt.Fprintf(w, " %g", p.Count)
				}
				fmt.Fprintln(w)
			}
			for _, sm := range e.Samples {
				fmt.Fprintf(w, "        flow %s %s:%d > %s:%d proto %d %d pkts %d bytes flags %#02x\n", sm.Start.Format(time.RFC3339Nano),
					sm.Src, sm.SrcPort, sm.Dst, sm.DstPort, sm.Proto, sm.Packets, sm.Bytes, sm.TCPFlags)
			}
		}
	}
}
