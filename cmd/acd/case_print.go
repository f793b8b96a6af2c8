package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/acd-org/acd/cases"
)

// printRecord writes a case record readably.
func printRecord(w io.Writer, rec cases.Record) error {
	c := rec.Case
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("case", fmt.Sprintf("%s (version %d)", c.ID, c.Version))
	row("state", string(c.State))
	row("target", c.Target.String())
	row("suspects", strings.Join(c.Suspects, ", "))
	row("evidence", "sha256:"+c.EvidenceHash)
	row("legal basis", c.LegalBasis)
	row("route", fmt.Sprintf("%s (urgency %s)", c.Route, c.Urgency))
	row("requester", c.Requester)
	row("created", fmtTime(c.Created))
	if f := c.Flags; f.Emergency {
		review := "review due by " + fmtTime(f.ReviewBy)
		switch {
		case f.Reviewed:
			review = "reviewed at " + fmtTime(f.ReviewedAt)
		case f.ReviewMissed:
			review = "review missed: rolled back"
		}
		row("emergency", fmt.Sprintf("by %s at %s; %s", f.EmergencyBy, fmtTime(f.EmergencyAt), review))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nactions:\n")
	for i, a := range c.Actions {
		fmt.Fprintf(w, "  [%d] %s %s, %s to %s (%s)\n", i, a.Type, a.Target, fmtTime(a.NotBefore), fmtTime(a.NotAfter), a.NotAfter.Sub(a.NotBefore))
		if s, _ := json.Marshal(a.Scope); string(s) != "{}" {
			fmt.Fprintf(w, "      scope %s\n", s)
		}
		if len(a.Params) > 0 {
			p, _ := json.Marshal(a.Params)
			fmt.Fprintf(w, "      params %s\n", p)
		}
	}
	fmt.Fprintf(w, "\ndecisions:\n")
	if len(rec.Approvals) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, a := range rec.Approvals {
		current := ""
		if a.Version != c.Version {
			current = " (an earlier version: does not count)"
		}
		fmt.Fprintf(w, "  %s v%d by %s (key %s) at %s%s\n", a.Decision, a.Version, a.Commissioner, a.KeyID, fmtTime(a.SignedAt), current)
		if a.Reason != "" {
			fmt.Fprintf(w, "      reason: %s\n", a.Reason)
		}
	}
	fmt.Fprintf(w, "\nhistory:\n")
	for _, h := range c.History {
		line := fmt.Sprintf("  %s  %-11s by %s", fmtTime(h.At), h.Event, h.By)
		if h.From != h.To || h.From == "" {
			line += fmt.Sprintf(" → %s", h.To)
		}
		line += fmt.Sprintf(" (v%d)", h.Version)
		if h.Reason != "" {
			line += ": " + h.Reason
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

// fmtTime formats a time in UTC to the second, or "-" when zero.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
