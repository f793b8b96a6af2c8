package stix

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/acd-org/acd/intel/stix/pattern"
)

//go:embed schemas/common/*.json schemas/sdos/*.json schemas/sros/*.json schemas/observables/*.json
var schemaFS embed.FS

// schemaBase is the URL prefix of the OASIS schemas' $id.
const schemaBase = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/"

// Kinds of object types.
var (
	sdoTypes = set("attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator",
		"infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data",
		"opinion", "report", "threat-actor", "tool", "vulnerability")
	sroTypes = set("relationship", "sighting")
	scoTypes = set("artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "file",
		"ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url",
		"user-account", "windows-registry-key", "x509-certificate")
	metaTypes = set("marking-definition", "language-content", "extension-definition")
)

func set(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, x := range s {
		m[x] = true
	}
	return m
}

// ValidationError says which rule an object breaks.
type ValidationError struct {
	ID   string // the object's id, when it has one
	Rule string // "json", "schema", "id", "modified", "pattern", "created_by_ref", "tlp", ...
	Msg  string
}

// Error implements error.
func (e *ValidationError) Error() string {
	id := e.ID
	if id == "" {
		id = "object"
	}
	return fmt.Sprintf("invalid STIX %s: %s: %s", id, e.Rule, e.Msg)
}

// Validator checks STIX 2.1 objects against the OASIS JSON schemas and
// the specification's rules the schemas cannot express. It is safe for
// concurrent use.
type Validator struct {
	byType           map[string]*jsonschema.Schema
	sdoCore, scoCore *jsonschema.Schema // custom objects
}

// NewValidator compiles the embedded OASIS schemas (no network).
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	err := fs.WalkDir(schemaFS, "schemas", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := schemaFS.ReadFile(p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return c.AddResource(schemaBase+p, doc)
	})
	if err != nil {
		return nil, fmt.Errorf("unable to load the STIX schemas: %w", err)
	}
	v := &Validator{byType: map[string]*jsonschema.Schema{}}
	compile := func(p string) (*jsonschema.Schema, error) {
		s, err := c.Compile(schemaBase + "schemas/" + p)
		if err != nil {
			return nil, fmt.Errorf("unable to compile the STIX schema %s: %w", p, err)
		}
		return s, nil
	}
	for dir, types := range map[string]map[string]bool{"sdos": sdoTypes, "sros": sroTypes, "observables": scoTypes, "common": metaTypes} {
		for t := range types {
			if v.byType[t], err = compile(dir + "/" + t + ".json"); err != nil {
				return nil, err
			}
		}
	}
	if v.sdoCore, err = compile("common/core.json"); err != nil {
		return nil, err
	}
	if v.scoCore, err = compile("common/cyber-observable-core.json"); err != nil {
		return nil, err
	}
	return v, nil
}

var defaultValidator = sync.OnceValues(NewValidator)

// Validate checks one STIX object with the default Validator.
func Validate(obj []byte) error {
	v, err := defaultValidator()
	if err != nil {
		return err
	}
	return v.Validate(obj)
}

// ValidateOutgoing checks an object acd emits with the default Validator.
func ValidateOutgoing(obj []byte) error {
	v, err := defaultValidator()
	if err != nil {
		return err
	}
	return v.ValidateOutgoing(obj)
}

// ValidateBundle checks a bundle and each of its objects with the
// default Validator.
func ValidateBundle(b []byte) error {
	v, err := defaultValidator()
	if err != nil {
		return err
	}
	return v.ValidateBundle(b, false)
}

// Validate checks one STIX object: the OASIS JSON schema of its type
// (custom types against the common core schemas), then the rules of
// checkRules.
func (v *Validator) Validate(obj []byte) error {
	_, err := v.validate(obj)
	return err
}

// ValidateOutgoing checks an object acd emits: Validate, plus a type of
// the specification (no custom object), created_by_ref on SDOs and SROs,
// and exactly one TLP marking, a TLP 2.0 one, in object_marking_refs
// (none among granular markings). Marking definitions pass only if they
// are the OASIS TLP 2.0 ones.
func (v *Validator) ValidateOutgoing(obj []byte) error {
	m, err := v.validate(obj)
	if err != nil {
		return err
	}
	id, typ := str(m, "id"), str(m, "type")
	fail := func(rule, format string, args ...any) error {
		return &ValidationError{ID: id, Rule: rule, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case typ == TypeMarkingDefinition:
		if t, ok := TLPOfMarking(id); !ok || t.MarkingID() != id {
			return fail("tlp", "acd emits only the OASIS TLP 2.0 marking definitions")
		}
		return nil
	case !sdoTypes[typ] && !sroTypes[typ] && !scoTypes[typ]:
		return fail("type", "acd does not emit %q objects", typ)
	case !scoTypes[typ] && str(m, "created_by_ref") == "":
		return fail("created_by_ref", "missing")
	}
	var tlps []string
	for _, ref := range strs(m, "object_marking_refs") {
		if t, ok := TLPOfMarking(ref); ok {
			if t.MarkingID() != ref {
				return fail("tlp", "TLP 1.0 marking %s: emit TLP 2.0", ref)
			}
			tlps = append(tlps, t.String())
		}
	}
	if len(tlps) != 1 {
		return fail("tlp", "%d TLP markings (%s), want exactly one", len(tlps), strings.Join(tlps, ", "))
	}
	for _, g := range objs(m, "granular_markings") {
		if _, ok := TLPOfMarking(str(g, "marking_ref")); ok {
			return fail("tlp", "TLP marking in granular_markings")
		}
	}
	return nil
}

// ValidateBundle checks a bundle's envelope and each of its objects
// (ValidateOutgoing when outgoing). The error names the first bad object.
func (v *Validator) ValidateBundle(b []byte, outgoing bool) error {
	var env struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return &ValidationError{Rule: "json", Msg: err.Error()}
	}
	if env.Type != "bundle" {
		return &ValidationError{ID: env.ID, Rule: "type", Msg: fmt.Sprintf("bundle type %q", env.Type)}
	}
	if err := checkID(env.ID, "bundle"); err != nil {
		return &ValidationError{ID: env.ID, Rule: "id", Msg: err.Error()}
	}
	check := v.Validate
	if outgoing {
		check = v.ValidateOutgoing
	}
	for i, o := range env.Objects {
		if err := check(o); err != nil {
			return fmt.Errorf("bundle %s object %d: %w", env.ID, i, err)
		}
	}
	return nil
}

// validate runs the schema and the rules and returns the decoded object.
func (v *Validator) validate(obj []byte) (map[string]any, error) {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(obj))
	if err != nil {
		return nil, &ValidationError{Rule: "json", Msg: err.Error()}
	}
	m, ok := inst.(map[string]any)
	if !ok {
		return nil, &ValidationError{Rule: "json", Msg: "not a JSON object"}
	}
	id, typ := str(m, "id"), str(m, "type")
	if err := checkID(id, typ); err != nil {
		return nil, &ValidationError{ID: id, Rule: "id", Msg: err.Error()}
	}
	sch := v.byType[typ]
	if sch == nil {
		sch = v.sdoCore
		if _, ok := m["created"]; !ok {
			sch = v.scoCore
		}
	}
	if err := sch.Validate(inst); err != nil {
		return nil, &ValidationError{ID: id, Rule: "schema", Msg: schemaMessage(err)}
	}
	if err := checkRules(m); err != nil {
		err.ID = id
		return nil, err
	}
	return m, nil
}

// schemaMessage condenses a jsonschema error to its leaf causes.
func schemaMessage(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var leaves []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, "/"+strings.Join(e.InstanceLocation, "/")+": "+strings.TrimSpace(firstLine(e.Error()))+
				" (schema "+strings.TrimPrefix(e.SchemaURL, schemaBase)+")")
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(leaves) > 5 {
		leaves = append(leaves[:5], fmt.Sprintf("and %d more", len(leaves)-5))
	}
	return strings.Join(leaves, "; ")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// checkID checks that id is typ--UUID with an RFC 4122 variant UUID.
func checkID(id, typ string) error {
	t, u, ok := strings.Cut(id, "--")
	if !ok || typ == "" || t != typ {
		return fmt.Errorf("id %q does not start with its type %q and \"--\"", id, typ)
	}
	b, ok := parseUUID(u)
	if !ok || b[8]&0xc0 != 0x80 || b[6]>>4 < 1 || b[6]>>4 > 8 {
		return fmt.Errorf("id %q: %q is not an RFC 4122 UUID", id, u)
	}
	return nil
}

// relSCOTarget are the relationship types of the specification that may
// point to an SCO (infrastructure communicates-with or consists-of an
// address; malware communicates-with, downloads or drops; the common
// types); relSCOSource those that may start from one.
var (
	relSCOTarget = set("communicates-with", "consists-of", "downloads", "drops", "related-to", "derived-from", "duplicate-of")
	relSCOSource = set("related-to", "derived-from", "duplicate-of")
)

// checkRules checks what the schemas cannot: modified ≥ created, time
// ranges in order, pattern syntax, and the types of references (the
// schemas check some of them too; these checks also hold for objects
// only the common core schema covers).
func checkRules(m map[string]any) *ValidationError {
	fail := func(rule, format string, args ...any) *ValidationError {
		return &ValidationError{Rule: rule, Msg: fmt.Sprintf(format, args...)}
	}
	for _, r := range [][2]string{{"created", "modified"}, {"valid_from", "valid_until"}, {"start_time", "stop_time"},
		{"first_seen", "last_seen"}, {"first_observed", "last_observed"}} {
		a, b := tm(m, r[0]), tm(m, r[1])
		if !a.IsZero() && !b.IsZero() && b.Before(a) {
			return fail(r[1], "%s is before %s", r[1], r[0])
		}
	}
	typ := str(m, "type")
	if ref := str(m, "created_by_ref"); ref != "" && IDType(ref) != TypeIdentity {
		return fail("created_by_ref", "%s is not an identity", ref)
	}
	for _, ref := range strs(m, "object_marking_refs") {
		if IDType(ref) != TypeMarkingDefinition {
			return fail("object_marking_refs", "%s is not a marking-definition", ref)
		}
	}
	for _, g := range objs(m, "granular_markings") {
		if ref := str(g, "marking_ref"); ref != "" && IDType(ref) != TypeMarkingDefinition {
			return fail("granular_markings", "%s is not a marking-definition", ref)
		}
	}
	switch typ {
	case TypeIndicator:
		if str(m, "pattern_type") == "stix" {
			if err := pattern.Validate(str(m, "pattern")); err != nil {
				return fail("pattern", "%v", err)
			}
		}
		if vu, vf := tm(m, "valid_until"), tm(m, "valid_from"); !vu.IsZero() && !vu.After(vf) {
			return fail("valid_until", "valid_until is not after valid_from")
		}
	case TypeRelationship:
		rt := str(m, "relationship_type")
		if src := IDType(str(m, "source_ref")); scoTypes[src] && !relSCOSource[rt] {
			return fail("source_ref", "%s relationship from an SCO (%s)", rt, src)
		}
		if dst := IDType(str(m, "target_ref")); scoTypes[dst] && !relSCOTarget[rt] {
			return fail("target_ref", "%s relationship to an SCO (%s)", rt, dst)
		}
		if st, sp := tm(m, "start_time"), tm(m, "stop_time"); !st.IsZero() && !sp.IsZero() && !sp.After(st) {
			return fail("stop_time", "stop_time is not after start_time")
		}
	case TypeSighting:
		if t := IDType(str(m, "sighting_of_ref")); !isSDOType(t) {
			return fail("sighting_of_ref", "%s is not an SDO", str(m, "sighting_of_ref"))
		}
		for _, ref := range strs(m, "where_sighted_refs") {
			if t := IDType(ref); t != TypeIdentity && t != "location" {
				return fail("where_sighted_refs", "%s is not an identity or a location", ref)
			}
		}
		for _, ref := range strs(m, "observed_data_refs") {
			if IDType(ref) != TypeObservedData {
				return fail("observed_data_refs", "%s is not an observed-data", ref)
			}
		}
	case TypeObservedData:
		for _, ref := range strs(m, "object_refs") {
			if t := IDType(ref); sdoTypes[t] || metaTypes[t] {
				return fail("object_refs", "%s is not an SCO or a relationship", ref)
			}
		}
	}
	return nil
}

// isSDOType reports whether t is an SDO type (custom types, neither SCO
// nor SRO nor meta, count as SDOs).
func isSDOType(t string) bool {
	return t != "" && t != "bundle" && !scoTypes[t] && !sroTypes[t] && !metaTypes[t]
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func strs(m map[string]any, k string) []string {
	a, _ := m[k].([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func objs(m map[string]any, k string) []map[string]any {
	a, _ := m[k].([]any)
	var out []map[string]any
	for _, x := range a {
		if o, ok := x.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

// tm reads a timestamp property (zero if absent or malformed: the schema
// has checked the form).
func tm(m map[string]any, k string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, str(m, k))
	return t
}
