package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// JSON renders the report as the unified form's JSON: the Report fields,
// indented, times RFC 3339 UTC.
func (r Report) JSON() ([]byte, error) {
	c := r
	for _, t := range []*time.Time{&c.Start, &c.End, &c.Detected, &c.Received} {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("unable to encode report %s: %w", r.ID, err)
	}
	return append(b, '\n'), nil
}

// Duration returns End − Start, or 0 when the end is not known.
func (r Report) Duration() time.Duration {
	if r.End.IsZero() || r.End.Before(r.Start) {
		return 0
	}
	return r.End.Sub(r.Start)
}

// labelWidth aligns the values of the text form.
const labelWidth = 20

// Text renders the report as the unified form's plain text: fixed field
// order, one field a line ("Label:" padded to 20 columns), lists one item
// a line, "-" for an unknown value, times RFC 3339 UTC, rates in Gbit/s
// and pps with the exact figure. The DDoS section (classification,
// volumes, top sources) is written for reports of type ddos.
func (r Report) Text() string {
	var b strings.Builder
	title := "INCIDENT REPORT"
	if r.Type == TypeDDoS {
		title = "UNIFIED DDOS INCIDENT REPORT"
	}
	b.WriteString(title + "\n" + strings.Repeat("=", len(title)) + "\n")
	field := func(label string, values ...string) {
		if len(values) == 0 {
			values = []string{"-"}
		}
		for i, v := range values {
			if v == "" {
				v = "-"
			}
			l := ""
			if i == 0 {
				l = label + ":"
			}
			fmt.Fprintf(&b, "%-*s%s\n", labelWidth, l, v)
		}
	}
	field("Report ID", r.ID)
	field("Status", string(r.Status))
	field("TLP", r.TLP.String())
	field("Operator", r.Operator)
	field("Organization", r.Organization)
	field("Type", string(r.Type))
	field("Title", r.Title)
	field("Start", stamp(r.Start))
	field("End", stamp(r.End))
	field("Duration", duration(r))
	field("Detected", stamp(r.Detected))
	field("Received", stamp(r.Received))
	field("Affected systems", r.AffectedSystems...)
	if r.Type == TypeDDoS {
		var cls []string
		techniques := r.Classification()
		for _, t := range techniques {
			cls = append(cls, t.ID+" "+t.Name)
		}
		field("ATT&CK", cls...)
		field("Vectors", r.Vectors...)
		field("Peak bandwidth", bandwidth(r.Volumes.PeakBps))
		field("Peak packet rate", rate(r.Volumes.PeakPps))
		field("Flows", count(r.Volumes.Flows, ""))
		field("Packets", count(r.Volumes.Packets, ""))
		field("Bytes", count(r.Volumes.Bytes, ""))
		field("Sources (est.)", count(r.Volumes.Sources, ""))
		var srcs []string
		for _, s := range r.Sources {
			srcs = append(srcs, sourceLine(s))
		}
		field("Top sources", srcs...)
	} else {
		field("Vectors", r.Vectors...)
	}
	var inds []string
	for _, s := range r.Indicators {
		if slices.Contains(r.Domestic, s) {
			s += " [domestic]"
		}
		inds = append(inds, s)
	}
	field("Indicators", inds...)
	field("Mitigation", lines(r.Mitigation)...)
	field("Description", lines(r.Description)...)
	if techniques := r.Classification(); r.Type == TypeDDoS && len(techniques) > 0 {
		b.WriteString("\nClassification\n")
		for _, t := range techniques {
			fmt.Fprintf(&b, "  %s %s (%s)\n    %s\n", t.ID, t.Name, t.URL(), t.Reason)
		}
	}
	return b.String()
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func duration(r Report) string {
	if r.End.IsZero() {
		return "ongoing or unknown"
	}
	d := r.Duration()
	return fmt.Sprintf("%s s (%s)", strconv.FormatFloat(d.Seconds(), 'f', 3, 64), d.Round(time.Second))
}

func bandwidth(bps float64) string {
	if bps == 0 {
		return ""
	}
	return fmt.Sprintf("%.3f Gbit/s (%s bit/s)", bps/1e9, strconv.FormatFloat(bps, 'f', -1, 64))
}

func rate(pps float64) string {
	if pps == 0 {
		return ""
	}
	return fmt.Sprintf("%.3f Mpps (%s pps)", pps/1e6, strconv.FormatFloat(pps, 'f', -1, 64))
}

func count(x float64, unit string) string {
	if x == 0 {
		return ""
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

func sourceLine(s Source) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%-39s %-9s", s.Address, s.Role))
	if s.Packets > 0 {
		parts = append(parts, count(s.Packets, "packets"))
	}
	if s.Bytes > 0 {
		parts = append(parts, count(s.Bytes, "bytes"))
	}
	switch {
	case s.Pseudonym:
		parts = append(parts, "[domestic, pseudonym]")
	case s.Domestic:
		parts = append(parts, "[domestic]")
	}
	return strings.TrimRight(strings.Join(parts, " "), " ")
}
