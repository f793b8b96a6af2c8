package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/stix/pattern"
)

// Type is the kind of incident a report describes.
type Type string

// Incident types.
const (
	TypeDDoS       Type = "ddos"
	TypeRansomware Type = "ransomware"
	TypeIntrusion  Type = "intrusion"
	TypeOther      Type = "other"
)

// Types returns every incident type, in a stable order.
func Types() []Type { return []Type{TypeDDoS, TypeRansomware, TypeIntrusion, TypeOther} }

// Status is where a report is in its handling. A report is received
// (stored), acknowledged (its id returned to the operator), correlated
// (matched with suspects) and shared (sent as STIX under an agreement), in
// that order.
type Status string

// Report statuses.
const (
	StatusReceived     Status = "received"
	StatusAcknowledged Status = "acknowledged"
	StatusCorrelated   Status = "correlated"
	StatusShared       Status = "shared"
)

// Statuses returns every status, in handling order.
func Statuses() []Status {
	return []Status{StatusReceived, StatusAcknowledged, StatusCorrelated, StatusShared}
}

// Volumes are the observed traffic volumes of an attack. Rates are per
// second of the real traffic (sampling undone); zero means unknown.
type Volumes struct {
	PeakBps float64 `json:"peak_bps,omitempty"` // bits per second
	PeakPps float64 `json:"peak_pps,omitempty"` // packets per second
	Flows   float64 `json:"flows,omitempty"`    // flows over the attack
	Packets float64 `json:"packets,omitempty"`  // packets over the attack
	Bytes   float64 `json:"bytes,omitempty"`    // bytes over the attack
	Sources float64 `json:"sources_estimated,omitempty"`
}

// IsZero reports whether no volume is known.
func (v Volumes) IsZero() bool { return v == Volumes{} }

// Source is one of an attack's top sources in a unified DDoS report.
type Source struct {
	Address   string  `json:"address"`
	Role      string  `json:"role"`              // "source" (a bot) or "reflector"
	Packets   float64 `json:"packets,omitempty"` // packets it sent to the victim (ddos detector)
	Bytes     float64 `json:"bytes,omitempty"`   // bytes it sent to the victim (reflection detector)
	Domestic  bool    `json:"domestic,omitempty"`
	Pseudonym bool    `json:"pseudonym,omitempty"` // the address is a pseudonym: not an indicator
}

// Report is an incident report: filed by a critical-infrastructure
// operator, or filled by acd from its own detection (FromDetection).
type Report struct {
	ID              string      `json:"id,omitempty"` // "IR-2026-000123", set by Acknowledge
	Operator        string      `json:"operator"`     // the reporting-operator principal
	Organization    string      `json:"organization"` // the operator's organization
	Type            Type        `json:"type"`         // ddos, ransomware, intrusion, other
	Title           string      `json:"title"`        // one line
	Description     string      `json:"description,omitempty"`
	AffectedSystems []string    `json:"affected_systems,omitempty"` // addresses, prefixes, names
	Start           time.Time   `json:"start"`                      // the incident's start
	End             time.Time   `json:"end,omitzero"`               // its end (zero: ongoing or unknown)
	Detected        time.Time   `json:"detected"`                   // when it was detected
	Volumes         Volumes     `json:"observed_volumes,omitzero"`
	Vectors         []string    `json:"vectors,omitempty"`             // "syn-flood", "dns-reflection", ...
	Indicators      []string    `json:"indicators,omitempty"`          // addresses, prefixes, domains
	Domestic        []string    `json:"domestic_indicators,omitempty"` // the indicators that are domestic (never shared)
	Techniques      []Technique `json:"classification,omitempty"`      // MITRE ATT&CK
	Sources         []Source    `json:"top_sources,omitempty"`         // DDoS: the top sources
	Mitigation      string      `json:"mitigation,omitempty"`          // what was done
	TLP             stix.TLP    `json:"tlp"`
	Status          Status      `json:"status,omitempty"`
	Received        time.Time   `json:"received,omitzero"` // when acd received (or made) it
}

// Bounds of a report's fields.
const (
	MaxSize          = 1 << 20 // bytes of JSON Decode reads
	MaxText          = 256     // operator, organization, title, one affected system
	MaxDescription   = 16 << 10
	MaxMitigation    = 4 << 10
	MaxList          = 1000 // indicators
	MaxSystems       = 100
	MaxVectors       = 32
	MaxSources       = 100
	MaxTechniques    = 16
	maxVolume        = 1e18
	earliest, latest = 1970, 9999
)

var (
	idRE     = regexp.MustCompile(`^IR-[0-9]{4}-[0-9]{6,}$`)
	vectorRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]{0,63}$`)
)

// FieldError says which field of a report is wrong and why.
type FieldError struct {
	Field string // the JSON name, with an index for lists ("indicators[2]")
	Msg   string
}

// Error implements error.
func (e *FieldError) Error() string { return "report: " + e.Field + ": " + e.Msg }

// NewID returns the report id of the seq-th report of at's year (UTC),
// "IR-2026-000123". seq comes from the caller's store and must be
// positive.
func NewID(seq int, at time.Time) (string, error) {
	y := at.UTC().Year()
	if seq < 1 || y < 1000 || y > latest {
		return "", fmt.Errorf("unable to make a report id: sequence %d or year %d out of range", seq, y)
	}
	return fmt.Sprintf("IR-%04d-%06d", y, seq), nil
}

// Ack is what acd returns to the operator who filed a report.
type Ack struct {
	ID       string    `json:"id"`
	Received time.Time `json:"received"`
	Status   Status    `json:"status"`
}

// Acknowledge validates r, gives it the id of sequence number seq and
// marks it received at now (unless it was already) and acknowledged.
func (r *Report) Acknowledge(seq int, now time.Time) (Ack, error) {
	id, err := NewID(seq, now)
	if err != nil {
		return Ack{}, err
	}
	c := *r
	c.ID, c.Status = id, StatusAcknowledged
	if c.Received.IsZero() {
		c.Received = now.UTC()
	}
	if err := c.Validate(); err != nil {
		return Ack{}, fmt.Errorf("unable to acknowledge report: %w", err)
	}
	*r = c
	return Ack{ID: c.ID, Received: c.Received, Status: c.Status}, nil
}

// Decode reads one report from JSON, strictly (unknown fields and
// trailing data refused, at most MaxSize bytes), and validates it.
func Decode(b []byte) (Report, error) {
	if len(b) > MaxSize {
		return Report{}, fmt.Errorf("unable to read report: %d bytes, more than %d", len(b), MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return Report{}, fmt.Errorf("unable to read report: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Report{}, errors.New("unable to read report: data after the report")
	}
	if err := r.Validate(); err != nil {
		return Report{}, err
	}
	return r, nil
}

// Validate checks every field and returns all the problems found (joined
// *FieldError values), or nil.
func (r *Report) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if r.ID != "" && !idRE.MatchString(r.ID) {
		bad("id", "%q is not a report id like IR-2026-000123", clip(r.ID))
	}
	text := func(field, v string, limit int, required bool) {
		switch {
		case required && v == "":
			bad(field, "missing")
		case len(v) > limit:
			bad(field, "%d bytes, more than %d", len(v), limit)
		}
	}
	text("operator", r.Operator, MaxText, true)
	text("organization", r.Organization, MaxText, true)
	text("title", r.Title, MaxText, true)
	text("description", r.Description, MaxDescription, false)
	text("mitigation", r.Mitigation, MaxMitigation, false)
	if !slices.Contains(Types(), r.Type) {
		bad("type", "%q is not one of ddos, ransomware, intrusion, other", clip(string(r.Type)))
	}
	if r.Status != "" && !slices.Contains(Statuses(), r.Status) {
		bad("status", "%q is not one of received, acknowledged, correlated, shared", clip(string(r.Status)))
	}
	if !r.TLP.Valid() {
		bad("tlp", "missing or not a TLP 2.0 level (clear, green, amber, amber+strict, red)")
	}
	r.validateTimes(bad)
	r.validateLists(bad)
	r.validateVolumes(bad)
	return errors.Join(errs...)
}

func (r *Report) validateTimes(bad func(string, string, ...any)) {
	inRange := func(field string, t time.Time, required bool) bool {
		switch y := t.Year(); {
		case t.IsZero():
			if required {
				bad(field, "missing")
			}
			return false
		case y < earliest || y > latest:
			bad(field, "year %d out of range", y)
			return false
		}
		return true
	}
	start := inRange("start", r.Start, true)
	end := inRange("end", r.End, false)
	detected := inRange("detected", r.Detected, true)
	received := inRange("received", r.Received, false)
	if start && end && r.End.Before(r.Start) {
		bad("end", "%s is before start %s", r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	}
	if start && detected && r.Detected.Before(r.Start) {
		bad("detected", "%s is before start %s", r.Detected.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	}
	if detected && received && r.Received.Before(r.Detected) {
		bad("received", "%s is before detected %s", r.Received.Format(time.RFC3339), r.Detected.Format(time.RFC3339))
	}
}

func (r *Report) validateLists(bad func(string, string, ...any)) {
	if len(r.AffectedSystems) > MaxSystems {
		bad("affected_systems", "%d entries, more than %d", len(r.AffectedSystems), MaxSystems)
	}
	for i, s := range r.AffectedSystems {
		if s == "" || len(s) > MaxText {
			bad(fmt.Sprintf("affected_systems[%d]", i), "empty or more than %d bytes", MaxText)
		}
	}
	if len(r.Vectors) > MaxVectors {
		bad("vectors", "%d entries, more than %d", len(r.Vectors), MaxVectors)
	}
	for i, v := range r.Vectors {
		if !vectorRE.MatchString(v) {
			bad(fmt.Sprintf("vectors[%d]", i), "%q is not a vector name (lower-case letters, digits, '.', '+', '-')", clip(v))
		}
	}
	if len(r.Indicators) > MaxList {
		bad("indicators", "%d entries, more than %d", len(r.Indicators), MaxList)
	}
	for i, s := range r.Indicators {
		if _, err := ParseIndicator(s); err != nil {
			bad(fmt.Sprintf("indicators[%d]", i), "%v", err)
		}
	}
	for i, s := range r.Domestic {
		if !slices.Contains(r.Indicators, s) {
			bad(fmt.Sprintf("domestic_indicators[%d]", i), "%q is not among the indicators", clip(s))
		}
	}
	if len(r.Techniques) > MaxTechniques {
		bad("classification", "%d entries, more than %d", len(r.Techniques), MaxTechniques)
	}
	for i, t := range r.Techniques {
		if _, ok := techniqueNames[t.ID]; !ok {
			bad(fmt.Sprintf("classification[%d]", i), "%q is not a technique acd classifies (T1498, T1498.001, T1498.002, T1499)", clip(t.ID))
		}
		if len(t.Reason) > MaxText*4 {
			bad(fmt.Sprintf("classification[%d]", i), "reason of %d bytes, more than %d", len(t.Reason), MaxText*4)
		}
	}
	if len(r.Sources) > MaxSources {
		bad("top_sources", "%d entries, more than %d", len(r.Sources), MaxSources)
	}
	for i, s := range r.Sources {
		if _, err := netip.ParseAddr(s.Address); err != nil {
			bad(fmt.Sprintf("top_sources[%d]", i), "address %q does not parse", clip(s.Address))
		}
		if s.Role != "source" && s.Role != "reflector" {
			bad(fmt.Sprintf("top_sources[%d]", i), "role %q is not source or reflector", clip(s.Role))
		}
		if !volumeOK(s.Packets) || !volumeOK(s.Bytes) {
			bad(fmt.Sprintf("top_sources[%d]", i), "count negative, not finite or too large")
		}
	}
}

func (r *Report) validateVolumes(bad func(string, string, ...any)) {
	v := r.Volumes
	for _, f := range []struct {
		name string
		x    float64
	}{{"peak_bps", v.PeakBps}, {"peak_pps", v.PeakPps}, {"flows", v.Flows}, {"packets", v.Packets}, {"bytes", v.Bytes}, {"sources_estimated", v.Sources}} {
		if !volumeOK(f.x) {
			bad("observed_volumes."+f.name, "%v is negative, not finite or more than %g", f.x, maxVolume)
		}
	}
}

func volumeOK(x float64) bool { return !math.IsNaN(x) && x >= 0 && x <= maxVolume }

// clip shortens a bad value quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Indicator is a report indicator, parsed: an address, a prefix or a
// domain name (exactly one of the three is set).
type Indicator struct {
	Addr   netip.Addr
	Prefix netip.Prefix // masked; only for a prefix shorter than the address
	Domain string       // lower-case, no trailing dot
}

// String returns the indicator in canonical form.
func (i Indicator) String() string {
	switch {
	case i.Addr.IsValid():
		return i.Addr.String()
	case i.Prefix.IsValid():
		return i.Prefix.String()
	}
	return i.Domain
}

// Pattern returns the STIX pattern matching the indicator.
func (i Indicator) Pattern() (string, error) {
	switch {
	case i.Addr.IsValid():
		return pattern.Addr(i.Addr), nil
	case i.Prefix.IsValid():
		return pattern.Prefix(i.Prefix), nil
	}
	return pattern.Domain(i.Domain)
}

// ParseIndicator reads an indicator: an IPv4 or IPv6 address, a prefix
// (a host prefix, /32 or /128, is an address) or a domain name.
func ParseIndicator(s string) (Indicator, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return Indicator{}, fmt.Errorf("address %q has a zone", clip(s))
		}
		return Indicator{Addr: a.Unmap()}, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		p = p.Masked()
		if p.IsSingleIP() {
			return Indicator{Addr: p.Addr()}, nil
		}
		return Indicator{Prefix: p}, nil
	}
	d, err := pattern.CheckDomain(s)
	if err != nil || len(s) > 253 || !strings.ContainsFunc(d[strings.LastIndexByte(d, '.')+1:], isLetter) {
		return Indicator{}, fmt.Errorf("%q is neither an address, a prefix nor a domain name", clip(s))
	}
	return Indicator{Domain: d}, nil
}

// isLetter: a top-level domain has one (so "300.1.1.1" is no domain).
func isLetter(c rune) bool { return c >= 'a' && c <= 'z' }

// MarkDomestic records in r.Domestic the indicators that are domestic
// addresses or lie in domestic prefixes (a prefix is domestic if its first
// address is), so that ToSTIX never shares them.
func (r *Report) MarkDomestic(domestic func(netip.Addr) bool) {
	for _, s := range r.Indicators {
		ind, err := ParseIndicator(s)
		if err != nil || slices.Contains(r.Domestic, s) {
			continue
		}
		a := ind.Addr
		if ind.Prefix.IsValid() {
			a = ind.Prefix.Addr()
		}
		if a.IsValid() && domestic(a) {
			r.Domestic = append(r.Domestic, s)
		}
	}
}
