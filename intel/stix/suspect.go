package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix/pattern"
)

// Emission errors.
var (
	ErrPseudonym = errors.New("stix: the suspect is a pseudonym (domestic data never leaves)")
	ErrNoRole    = errors.New("stix: the suspect has no role to share")
)

// RoleLabelPrefix starts the label acd puts on infrastructure to name
// the acd role exactly ("acd-role:c2"), as infrastructure types are
// coarser.
const RoleLabelPrefix = "acd-role:"

// roleInfra maps acd roles to infrastructure-type-ov values.
var roleInfra = map[detect.Role]string{
	detect.RoleScanner:    "reconnaissance",
	detect.RoleBruteforce: "botnet",
	detect.RoleDDoSSource: "botnet",
	detect.RoleReflector:  "amplification",
	detect.RoleC2:         "command-and-control",
}

// InfrastructureType returns the infrastructure-type-ov value of an acd
// role: scanner → reconnaissance, bruteforce → botnet, ddos-source →
// botnet, reflector → amplification, c2 → command-and-control. A
// ddos-victim is not infrastructure (false).
func InfrastructureType(r detect.Role) (string, bool) {
	t, ok := roleInfra[r]
	return t, ok
}

// RoleOf returns the acd role an infrastructure object describes: the
// acd-role label when present, else from its infrastructure types
// (reconnaissance → scanner, botnet → ddos-source, amplification →
// reflector, command-and-control → c2).
func RoleOf(inf *Infrastructure) (detect.Role, bool) {
	for _, l := range inf.Labels {
		if r, err := detect.ParseRole(strings.TrimPrefix(l, RoleLabelPrefix)); err == nil && strings.HasPrefix(l, RoleLabelPrefix) && r != detect.RoleDDoSVictim {
			return r, true
		}
	}
	for _, t := range inf.InfrastructureTypes {
		switch t {
		case "reconnaissance":
			return detect.RoleScanner, true
		case "botnet":
			return detect.RoleDDoSSource, true
		case "amplification":
			return detect.RoleReflector, true
		case "command-and-control":
			return detect.RoleC2, true
		}
	}
	return "", false
}

// NewIdentity returns acd's identity object for an organization name,
// with a deterministic id, created at created, marked tlp, and created
// by itself.
func NewIdentity(name string, created time.Time, tlp TLP) (Identity, error) {
	if name == "" || !tlp.Valid() {
		return Identity{}, errors.New("unable to make an identity: no name or TLP")
	}
	id := ACDID(TypeIdentity, name)
	return Identity{
		Common: Common{Type: TypeIdentity, SpecVersion: SpecVersion, ID: id, CreatedByRef: id,
			Created: TS(created), Modified: TS(created), ObjectMarkingRefs: []string{tlp.MarkingID()}},
		Name: name, IdentityClass: "organization",
	}, nil
}

// IndicatorID returns the id of the indicator by emits for a target
// (an address, a prefix or a domain, in canonical form).
func IndicatorID(by, target string) string { return ACDID(TypeIndicator, by, target) }

// emitted returns the common properties of an object acd emits.
func emitted(typ, id string, by *Identity, tlp TLP, created, modified Timestamp) Common {
	return Common{Type: typ, SpecVersion: SpecVersion, ID: id, CreatedByRef: by.ID,
		Created: created, Modified: modified, ObjectMarkingRefs: []string{tlp.MarkingID()}}
}

func checkEmitter(by *Identity, tlp TLP) error {
	if IDType(by.ID) != TypeIdentity {
		return fmt.Errorf("creator %q is not an identity", by.ID)
	}
	if !tlp.Valid() {
		return ErrNoTLP
	}
	return nil
}

// FromSuspect turns a suspect into STIX: an indicator on its address or
// prefix (valid from first seen, confidence the score × 100, indicator
// type malicious-activity, described by the evidence), one
// infrastructure per role (ddos-victim excepted) and an "indicates"
// relationship from the indicator to each. Ids derive from the creator,
// the address and the role, so re-emitting a suspect gives the same ids;
// created is the first sighting, modified the suspect's last change (now
// when unknown). Addresses other than the suspect's are scrubbed from
// the descriptions. A pseudonymous suspect is refused (ErrPseudonym):
// domestic data never leaves, in clear or as a pseudonym.
func FromSuspect(s detect.Suspect, by Identity, tlp TLP, now time.Time) ([]Object, error) {
	if s.Pseudo {
		return nil, fmt.Errorf("unable to share %s: %w", s.Key, ErrPseudonym)
	}
	if err := checkEmitter(&by, tlp); err != nil {
		return nil, fmt.Errorf("unable to share %s: %w", s.Key, err)
	}
	target, err := pattern.ParseTarget(s.Key.String())
	if err != nil || target.Domain != "" {
		return nil, fmt.Errorf("unable to share %s: not an address or a prefix", s.Key)
	}
	addr := target.String()
	var roles []detect.Role
	for _, r := range s.Roles {
		if _, ok := roleInfra[r]; ok {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("unable to share %s: %w", addr, ErrNoRole)
	}
	created := TS(s.FirstSeen)
	if s.FirstSeen.IsZero() {
		created = TS(now)
	}
	modified := TS(s.Updated)
	if s.Updated.IsZero() {
		modified = TS(now)
	}
	if modified.Before(created.Time) {
		modified = created
	}
	conf := min(100, max(0, int(math.Round(s.Score*100))))
	var labels []string
	for _, r := range roles {
		labels = append(labels, RoleLabelPrefix+string(r))
	}
	ind := &Indicator{
		Common:         emitted(TypeIndicator, IndicatorID(by.ID, addr), &by, tlp, created, modified),
		Name:           strings.Join(roleNames(roles), ", ") + " " + addr,
		Description:    describe(addr, s.Evidence, roles),
		IndicatorTypes: []string{"malicious-activity"},
		Pattern:        pattern.Prefix(target.Prefix), PatternType: "stix", PatternVersion: SpecVersion,
		ValidFrom: created,
	}
	ind.Confidence, ind.Labels = &conf, labels
	out := []any{ind}
	for _, r := range roles {
		inf := &Infrastructure{
			Common:              emitted(TypeInfrastructure, ACDID(TypeInfrastructure, by.ID, addr, string(r)), &by, tlp, created, modified),
			Name:                string(r) + " " + addr,
			Description:         describe(addr, s.Evidence, []detect.Role{r}),
			InfrastructureTypes: []string{roleInfra[r]},
		}
		inf.FirstSeen, inf.LastSeen = seen(s.Evidence, r)
		inf.Confidence, inf.Labels = &conf, []string{RoleLabelPrefix + string(r)}
		rel := &Relationship{
			Common:           emitted(TypeRelationship, ACDID(TypeRelationship, by.ID, ind.ID, "indicates", inf.ID), &by, tlp, created, modified),
			RelationshipType: "indicates", SourceRef: ind.ID, TargetRef: inf.ID,
		}
		out = append(out, inf, rel)
	}
	return objects(out)
}

func objects(vs []any) ([]Object, error) {
	objs := make([]Object, 0, len(vs))
	for _, v := range vs {
		o, err := NewObject(v)
		if err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
	return objs, nil
}

func roleNames(roles []detect.Role) []string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return s
}

// seen returns the first and last event times of a role's evidence.
func seen(ev []detect.Evidence, r detect.Role) (first, last Timestamp) {
	for _, e := range ev {
		if e.Role != r {
			continue
		}
		if !e.First.IsZero() && (first.IsZero() || e.First.Before(first.Time)) {
			first = TS(e.First)
		}
		if e.Last.After(last.Time) {
			last = TS(e.Last)
		}
	}
	if last.Before(first.Time) {
		last = first
	}
	return first, last
}

// describe writes what acd holds against addr for roles, from the
// evidence reasons, with every other address scrubbed.
func describe(addr string, ev []detect.Evidence, roles []detect.Role) string {
	var b strings.Builder
	fmt.Fprintf(&b, "acd detected %s as %s.", addr, strings.Join(roleNames(roles), ", "))
	for _, e := range ev {
		if slices.Contains(roles, e.Role) && e.Reason != "" {
			fmt.Fprintf(&b, " %s (%s, score %.2f): %s.", e.Role, e.Detector, e.Score, strings.TrimSuffix(Scrub(e.Reason, addr), "."))
		}
	}
	return b.String()
}

// Scrub replaces every IP address or prefix in text (with or without a
// port) other than keep by "[address]": evidence reasons name victims
// and clients, which are domestic (or their pseudonyms).
func Scrub(text, keep string) string {
	var b strings.Builder
	for i := 0; i < len(text); {
		j := i
		for j < len(text) && isAddrChar(text[j]) {
			j++
		}
		if j == i {
			b.WriteByte(text[i])
			i++
			continue
		}
		run := text[i:j]
		tok := strings.TrimRight(run, ".:")
		if isAddress(tok) && tok != keep && !isAddrPortOf(tok, keep) {
			b.WriteString("[address]" + run[len(tok):])
		} else {
			b.WriteString(run)
		}
		i = j
	}
	return scrubDottedQuads(b.String(), keep)
}

// dottedQuad finds IPv4-like sequences anywhere, even glued to other
// characters or zero-padded (198.018.001.001), which the token pass
// above does not see as addresses.
var dottedQuad = regexp.MustCompile(`(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})`)

// scrubDottedQuads replaces every dotted quad whose octets are all at
// most 255 and that is not keep by "[address]".
func scrubDottedQuads(text, keep string) string {
	return dottedQuad.ReplaceAllStringFunc(text, func(m string) string {
		var a [4]byte
		for i, part := range strings.Split(m, ".") {
			v, err := strconv.Atoi(part)
			if err != nil || v > 255 {
				return m
			}
			a[i] = byte(v)
		}
		if netip.AddrFrom4(a).String() == keep {
			return m
		}
		return "[address]"
	})
}

func isAddrPortOf(s, keep string) bool {
	ap, err := netip.ParseAddrPort(s)
	return err == nil && ap.Addr().String() == keep
}

func isAddrChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.' || c == '/' || c == '[' || c == ']'
}

func isAddress(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddrPort(s)
	return err == nil
}

// Mitigation is a case outcome to share: an approved action on a target
// during a window. The lead fills it from a case (intel cannot import
// cases).
type Mitigation struct {
	Case        string    // the case id (names the course of action)
	Action      string    // the action type ("block", "blackhole", "rpz", ...)
	Target      string    // the address, prefix or domain acted on
	NotBefore   time.Time // the window's start (zero: when approved)
	NotAfter    time.Time // the window's end (zero: open)
	Description string    // optional plain text; must hold no domestic data
}

// FromMitigation turns a case outcome into a course-of-action ("<action>
// <target>", the window in its description) and a "mitigates"
// relationship from it to the indicator by emits for the target (the
// IndicatorID of FromSuspect), over the window.
func FromMitigation(m Mitigation, by Identity, tlp TLP, now time.Time) ([]Object, error) {
	if err := checkEmitter(&by, tlp); err != nil {
		return nil, fmt.Errorf("unable to share case %s: %w", m.Case, err)
	}
	if m.Case == "" || m.Action == "" {
		return nil, errors.New("unable to share a mitigation without case or action")
	}
	t, err := pattern.ParseTarget(m.Target)
	if err != nil {
		return nil, fmt.Errorf("unable to share case %s: %w", m.Case, err)
	}
	target := t.String()
	created := TS(now)
	if !m.NotBefore.IsZero() && m.NotBefore.Before(now) {
		created = TS(m.NotBefore)
	}
	modified := TS(now)
	desc := fmt.Sprintf("acd applied %s to %s from %s", m.Action, target, TS(m.NotBefore).Format(TimeFormat))
	if m.NotBefore.IsZero() {
		desc = fmt.Sprintf("acd applied %s to %s from %s", m.Action, target, created.Format(TimeFormat))
	}
	if !m.NotAfter.IsZero() {
		desc += " until " + TS(m.NotAfter).Format(TimeFormat)
	}
	desc += " (case " + m.Case + ")."
	if m.Description != "" {
		desc += " " + m.Description
	}
	coa := &CourseOfAction{
		Common:      emitted(TypeCourseOfAction, ACDID(TypeCourseOfAction, by.ID, m.Case, m.Action, target), &by, tlp, created, modified),
		Name:        m.Action + " " + target,
		Description: desc,
	}
	ind := IndicatorID(by.ID, target)
	rel := &Relationship{
		Common:           emitted(TypeRelationship, ACDID(TypeRelationship, by.ID, coa.ID, "mitigates", ind), &by, tlp, created, modified),
		RelationshipType: "mitigates", SourceRef: coa.ID, TargetRef: ind,
	}
	if !m.NotBefore.IsZero() && !m.NotAfter.IsZero() && m.NotAfter.After(m.NotBefore) {
		rel.StartTime, rel.StopTime = TS(m.NotBefore), TS(m.NotAfter)
	}
	return objects([]any{coa, rel})
}

// Carry makes next, a re-emission of prev (same id), a valid new version
// of it: prev's created, and modified after prev's (bumped by a
// millisecond if not). It refuses a next with another id or creator.
func Carry(prev, next Object) (Object, error) {
	if prev.ID != next.ID || prev.CreatedByRef != next.CreatedByRef {
		return Object{}, fmt.Errorf("unable to version %s with %s: %w", prev.ID, next.ID, ErrImmutable)
	}
	if prev.Revoked {
		return Object{}, fmt.Errorf("unable to version %s: %w", prev.ID, ErrRevoked)
	}
	mod := next.Modified.Time
	if !mod.After(prev.Modified.Time) {
		mod = prev.Modified.Add(time.Millisecond)
	}
	props := map[string]json.RawMessage{}
	if err := next.Decode(&props); err != nil {
		return Object{}, err
	}
	props["created"], _ = prev.Created.MarshalJSON()
	props["modified"], _ = TS(mod).MarshalJSON()
	return NewObject(props)
}
