package report

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/intel/stix"
)

// AttackPattern is a STIX 2.1 attack-pattern SDO (intel/stix has no typed
// struct for it).
type AttackPattern struct {
	stix.Common
	Name            string                `json:"name"`
	Description     string                `json:"description,omitempty"`
	KillChainPhases []stix.KillChainPhase `json:"kill_chain_phases,omitempty"`
}

// ToSTIX turns a report into STIX 2.1 objects created by by, each marked
// with the report's TLP, in this order:
//
//  1. a report ("<id>: <title>", report_types "attack-pattern" when
//     classified, "indicator" when it has indicators to share, else
//     "threat-report"; published = received), whose object_refs are the
//     objects below;
//  2. one attack-pattern per ATT&CK technique (Report.Classification), with the external reference
//     (source "mitre-attack", external_id, URL) and the kill chain phase
//     mitre-attack/impact;
//  3. one indicator per indicator that is not domestic (pattern from
//     stix/pattern, valid from the report's start, type
//     malicious-activity);
//  4. a note with the observed volumes, vectors, duration and mitigation,
//     when the report has volumes or vectors.
//
// Affected systems and domestic indicators are never emitted. In the free
// text (title, description, mitigation, reasons) every address becomes
// "[address]", every affected system's name "[affected system]" and the
// organization "[operator]". Operator-filed reports must have been
// through MarkDomestic: ToSTIX cannot tell a domestic indicator itself. Ids derive from the creator, the report id and
// the item, so re-emitting a report gives the same ids; created is the
// report's received time, modified now (at least created). Every object
// passes stix.ValidateOutgoing or ToSTIX fails. The report needs an id
// (Acknowledge).
func ToSTIX(r Report, by stix.Identity, now time.Time) ([]stix.Object, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("unable to make STIX of report %s: %w", r.ID, err)
	}
	if r.ID == "" || by.ID == "" {
		return nil, errors.New("unable to make STIX of a report: no report id (acknowledge it first) or no identity")
	}
	created := stix.TS(firstNonZero(r.Received, r.Detected))
	modified := stix.TS(now)
	if modified.Before(created.Time) {
		modified = created
	}
	scrub := scrubber(&r)
	common := func(typ string, parts ...string) stix.Common {
		return stix.Common{Type: typ, SpecVersion: stix.SpecVersion, ID: stix.ACDID(typ, append([]string{by.ID, r.ID}, parts...)...),
			CreatedByRef: by.ID, Created: created, Modified: modified, ObjectMarkingRefs: []string{r.TLP.MarkingID()}}
	}
	var typed []any
	var refs, types []string
	techniques := r.Classification()
	for _, t := range techniques {
		ap := &AttackPattern{Common: common("attack-pattern", t.ID), Name: t.ID + " " + t.Name,
			Description:     scrub(t.Reason),
			KillChainPhases: []stix.KillChainPhase{{KillChainName: "mitre-attack", PhaseName: "impact"}}}
		ap.ExternalReferences = []stix.ExternalReference{{SourceName: "mitre-attack", ExternalID: t.ID, URL: t.URL()}}
		typed, refs = append(typed, ap), append(refs, ap.ID)
	}
	if len(techniques) > 0 {
		types = append(types, "attack-pattern")
	}
	n := 0
	for _, s := range r.Indicators {
		if slices.Contains(r.Domestic, s) {
			continue
		}
		ind, err := ParseIndicator(s)
		if err != nil {
			return nil, fmt.Errorf("unable to make STIX of report %s: %w", r.ID, err)
		}
		pat, err := ind.Pattern()
		if err != nil {
			return nil, fmt.Errorf("unable to make STIX of report %s: indicator %s: %w", r.ID, s, err)
		}
		x := &stix.Indicator{Common: common("indicator", ind.String()), Name: fmt.Sprintf("%s indicator %s", r.Type, ind),
			Description:    fmt.Sprintf("Indicator of the %s incident reported in %s.", r.Type, r.ID),
			IndicatorTypes: []string{"malicious-activity"}, Pattern: pat, PatternType: "stix", PatternVersion: stix.SpecVersion,
			ValidFrom: stix.TS(r.Start)}
		typed, refs = append(typed, x), append(refs, x.ID)
		n++
	}
	if n > 0 {
		types = append(types, "indicator")
	}
	if !r.Volumes.IsZero() || len(r.Vectors) > 0 {
		note := &stix.Note{Common: common("note", "volumes"), Abstract: "Observed volumes of " + r.ID,
			Content: scrub(noteContent(&r)), ObjectRefs: []string{common("report").ID}}
		typed, refs = append(typed, note), append(refs, note.ID)
	}
	if len(types) == 0 {
		types = []string{"threat-report"}
	}
	rep := &stix.Report{Common: common("report"), Name: scrub(r.ID + ": " + r.Title), Description: scrub(reportDescription(&r)),
		ReportTypes: types, Published: created, ObjectRefs: refs}
	if len(rep.ObjectRefs) == 0 {
		rep.ObjectRefs = []string{by.ID} // object_refs must not be empty: the reporter
	}
	typed = append([]any{rep}, typed...)
	out := make([]stix.Object, 0, len(typed))
	for _, v := range typed {
		o, err := stix.NewObject(v)
		if err != nil {
			return nil, fmt.Errorf("unable to make STIX of report %s: %w", r.ID, err)
		}
		if err := stix.ValidateOutgoing(o.Raw()); err != nil {
			return nil, fmt.Errorf("unable to make STIX of report %s: %s is invalid: %w", r.ID, o.ID, err)
		}
		out = append(out, o)
	}
	return out, nil
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// scrubber removes from free text every address (affected systems are
// domestic, and so may be other addresses an operator writes), the names
// of the affected systems and the operator's organization — whatever
// their case ("EXAMPLE WATER", "Fs01.Example.JP"), longest name first.
func scrubber(r *Report) func(string) string {
	type name struct{ text, label string }
	var names []name
	for _, s := range r.AffectedSystems {
		if len(s) >= 3 {
			names = append(names, name{s, "[affected system]"})
		}
	}
	if len(r.Organization) >= 3 {
		names = append(names, name{r.Organization, "[operator]"})
	}
	if len(names) == 0 {
		return func(s string) string { return stix.Scrub(s, "") }
	}
	slices.SortStableFunc(names, func(a, b name) int { return len(b.text) - len(a.text) })
	alts := make([]string, len(names))
	for i, n := range names {
		alts[i] = regexp.QuoteMeta(n.text)
	}
	re := regexp.MustCompile("(?i)" + strings.Join(alts, "|"))
	label := func(m string) string {
		for _, n := range names {
			if strings.EqualFold(n.text, m) {
				return n.label
			}
		}
		return "[redacted]"
	}
	return func(s string) string { return stix.Scrub(re.ReplaceAllStringFunc(s, label), "") }
}

func reportDescription(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s incident reported by a critical-infrastructure operator (%s), ", r.Type, r.ID)
	fmt.Fprintf(&b, "started %s", stamp(r.Start))
	if !r.End.IsZero() {
		fmt.Fprintf(&b, ", ended %s", stamp(r.End))
	}
	fmt.Fprintf(&b, ", detected %s.", stamp(r.Detected))
	if r.Description != "" {
		b.WriteString("\n" + r.Description)
	}
	return b.String()
}

func noteContent(r *Report) string {
	v := r.Volumes
	var parts []string
	add := func(label, value string) {
		if value != "" {
			parts = append(parts, label+": "+value)
		}
	}
	add("peak bandwidth", bandwidth(v.PeakBps))
	add("peak packet rate", rate(v.PeakPps))
	add("flows", count(v.Flows, ""))
	add("packets", count(v.Packets, ""))
	add("bytes", count(v.Bytes, ""))
	add("sources (estimated)", count(v.Sources, ""))
	add("vectors", strings.Join(r.Vectors, ", "))
	if !r.End.IsZero() {
		add("duration", duration(*r))
	}
	add("mitigation", r.Mitigation)
	return strings.Join(parts, "\n")
}
