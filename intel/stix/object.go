package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SpecVersion is the STIX version acd emits.
const SpecVersion = "2.1"

// TimeFormat is how acd writes timestamps: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Timestamp is a STIX timestamp. It reads any RFC 3339 time and writes
// UTC with millisecond precision ("2026-11-26T13:44:26.123Z").
type Timestamp struct{ time.Time }

// TS makes a Timestamp of t, in UTC and truncated to the millisecond.
func TS(t time.Time) Timestamp { return Timestamp{t.UTC().Truncate(time.Millisecond)} }

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimeFormat) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("unable to read timestamp: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("unable to read timestamp %q: %w", s, err)
	}
	t.Time = v.UTC()
	return nil
}

// ExternalReference points to non-STIX information.
type ExternalReference struct {
	SourceName  string            `json:"source_name"`
	Description string            `json:"description,omitempty"`
	URL         string            `json:"url,omitempty"`
	Hashes      map[string]string `json:"hashes,omitempty"`
	ExternalID  string            `json:"external_id,omitempty"`
}

// GranularMarking applies a marking (or a language) to parts of an object.
type GranularMarking struct {
	Lang       string   `json:"lang,omitempty"`
	MarkingRef string   `json:"marking_ref,omitempty"`
	Selectors  []string `json:"selectors"`
}

// KillChainPhase is a phase of a kill chain.
type KillChainPhase struct {
	KillChainName string `json:"kill_chain_name"`
	PhaseName     string `json:"phase_name"`
}

// Common holds the properties common to STIX objects (SDOs, SROs, SCOs
// and marking definitions); those an object type does not have stay
// zero and are omitted.
type Common struct {
	Type               string                     `json:"type"`
	SpecVersion        string                     `json:"spec_version,omitempty"`
	ID                 string                     `json:"id"`
	CreatedByRef       string                     `json:"created_by_ref,omitempty"`
	Created            Timestamp                  `json:"created,omitzero"`
	Modified           Timestamp                  `json:"modified,omitzero"`
	Revoked            bool                       `json:"revoked,omitempty"`
	Labels             []string                   `json:"labels,omitempty"`
	Confidence         *int                       `json:"confidence,omitempty"`
	Lang               string                     `json:"lang,omitempty"`
	ExternalReferences []ExternalReference        `json:"external_references,omitempty"`
	ObjectMarkingRefs  []string                   `json:"object_marking_refs,omitempty"`
	GranularMarkings   []GranularMarking          `json:"granular_markings,omitempty"`
	Extensions         map[string]json.RawMessage `json:"extensions,omitempty"`
	Defanged           bool                       `json:"defanged,omitempty"`
}

// Object is any STIX object: its common properties parsed, and its JSON
// kept whole, so that properties acd does not know survive a round trip.
// The zero Object is empty; make one with Parse or NewObject.
type Object struct {
	Common
	raw json.RawMessage
}

// Parse reads one STIX object. It checks only that the JSON is an object
// with the common properties in their types; Validate checks the rest.
func Parse(b []byte) (Object, error) {
	var o Object
	if err := o.UnmarshalJSON(b); err != nil {
		return Object{}, err
	}
	return o, nil
}

// NewObject makes an Object of a typed object (an *Indicator, ...).
func NewObject(v any) (Object, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Object{}, fmt.Errorf("unable to encode STIX object: %w", err)
	}
	return Parse(b)
}

// UnmarshalJSON implements json.Unmarshaler; it keeps a copy of b.
func (o *Object) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return errors.New("unable to read STIX object: not a JSON object")
	}
	var c Common
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("unable to read STIX object: %w", err)
	}
	if c.Type == "" || c.ID == "" {
		return errors.New("unable to read STIX object: no type or id")
	}
	o.Common, o.raw = c, append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON implements json.Marshaler: the object as read (or made).
func (o Object) MarshalJSON() ([]byte, error) {
	if o.raw == nil {
		return nil, errors.New("unable to encode STIX object: empty Object")
	}
	return o.raw, nil
}

// Raw returns the object's JSON (not a copy: do not modify it).
func (o Object) Raw() json.RawMessage { return o.raw }

// Decode reads the object into a typed struct (an *Indicator, ...).
func (o Object) Decode(v any) error {
	if err := json.Unmarshal(o.raw, v); err != nil {
		return fmt.Errorf("unable to decode %s: %w", o.ID, err)
	}
	return nil
}

// Property returns the raw JSON of a top-level property.
func (o Object) Property(name string) (json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(o.raw, &m) != nil {
		return nil, false
	}
	v, ok := m[name]
	return v, ok
}

// IDType returns the type part of a STIX identifier ("indicator" for
// "indicator--…"), or "" if id has no "--".
func IDType(id string) string {
	t, _, ok := strings.Cut(id, "--")
	if !ok {
		return ""
	}
	return t
}

// Versioning errors.
var (
	ErrRevoked     = errors.New("stix: object is revoked")
	ErrNotVersion  = errors.New("stix: not a versioned object (no created and modified)")
	ErrOldModified = errors.New("stix: modified not after the previous version's")
	ErrImmutable   = errors.New("stix: property cannot change between versions")

	errNoExtensionsID = errors.New("stix: network-traffic ids with extensions are not supported")
)

// immutable are the properties a new version must keep.
var immutable = map[string]bool{"type": true, "id": true, "created": true, "created_by_ref": true, "spec_version": true, "modified": true}

// NewVersion returns a new version of o, as its creator makes it: the
// same id, created and created_by_ref, modified set to modified (which
// must be after o's), and the properties in set replaced (a nil value
// removes the property). A revoked object has no new versions.
func (o Object) NewVersion(modified time.Time, set map[string]any) (Object, error) {
	if o.Revoked {
		return Object{}, fmt.Errorf("unable to version %s: %w", o.ID, ErrRevoked)
	}
	if o.Created.IsZero() || o.Modified.IsZero() {
		return Object{}, fmt.Errorf("unable to version %s: %w", o.ID, ErrNotVersion)
	}
	m := TS(modified)
	if !m.After(o.Modified.Time) {
		return Object{}, fmt.Errorf("unable to version %s: %s: %w", o.ID, m.Format(TimeFormat), ErrOldModified)
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(o.raw, &props); err != nil {
		return Object{}, fmt.Errorf("unable to version %s: %w", o.ID, err)
	}
	for k, v := range set {
		if immutable[k] {
			return Object{}, fmt.Errorf("unable to version %s: %s: %w", o.ID, k, ErrImmutable)
		}
		if v == nil {
			delete(props, k)
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return Object{}, fmt.Errorf("unable to version %s: property %s: %w", o.ID, k, err)
		}
		props[k] = b
	}
	props["modified"], _ = m.MarshalJSON()
	return NewObject(props)
}

// Revoke returns the revoked version of o (revoked true, modified set).
func (o Object) Revoke(modified time.Time) (Object, error) {
	return o.NewVersion(modified, map[string]any{"revoked": true})
}

// Bundle is a STIX bundle: a container of objects, not itself versioned.
type Bundle struct {
	Type    string   `json:"type"`
	ID      string   `json:"id"`
	Objects []Object `json:"objects,omitempty"`
}

// NewBundle wraps objects in a bundle with a random id.
func NewBundle(objects ...Object) Bundle {
	return Bundle{Type: "bundle", ID: RandomID("bundle"), Objects: objects}
}

// ParseBundle reads a bundle and its objects (keeping their JSON).
func ParseBundle(b []byte) (Bundle, error) {
	var bu Bundle
	if err := json.Unmarshal(b, &bu); err != nil {
		return Bundle{}, fmt.Errorf("unable to read STIX bundle: %w", err)
	}
	if bu.Type != "bundle" {
		return Bundle{}, fmt.Errorf("unable to read STIX bundle: type %q", bu.Type)
	}
	return bu, nil
}
