package taxii

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Object is a STIX object as the server sees it: the few fields it
// filters on, and the raw JSON it stores and serves unchanged.
type Object struct {
	ID          string    // "type--uuid"
	Type        string    // STIX type
	SpecVersion string    // "2.1"
	Created     time.Time // zero when absent (SCOs)
	Modified    time.Time // zero when absent
	// Version is modified, else created, else DateAdded (set by the
	// store for objects that carry neither).
	Version time.Time
	// DateAdded is set by the Store when it adds the object.
	DateAdded time.Time
	// Raw is the object's JSON; callers must not modify it.
	Raw json.RawMessage
}

// Validator checks one object's JSON before it is stored; a non-nil
// error puts the object in the status resource's failures with the
// error as message. ValidateObject is the default; the lead plugs in
// intel/stix's full validation.
type Validator func(raw []byte) error

// head is the part of an object the server decodes.
type head struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	SpecVersion string `json:"spec_version"`
	Created     string `json:"created"`
	Modified    string `json:"modified"`
}

// ParseObject decodes the fields the server needs from one object's
// JSON. It checks that they are well formed, not that the object is
// valid STIX (that is the Validator's job).
func ParseObject(raw []byte) (Object, error) {
	var h head
	if err := json.Unmarshal(raw, &h); err != nil {
		return Object{}, fmt.Errorf("unable to decode object: %w", err)
	}
	o := Object{ID: h.ID, Type: h.Type, SpecVersion: h.SpecVersion, Raw: raw}
	if o.SpecVersion == "" && scoTypes[o.Type] {
		o.SpecVersion = "2.1" // optional in SCOs, 2.1 when absent
	}
	if err := checkID(h.ID, h.Type); err != nil {
		return Object{}, err
	}
	var err error
	if h.Created != "" {
		if o.Created, err = ParseTimestamp(h.Created); err != nil {
			return Object{}, fmt.Errorf("invalid created: %w", err)
		}
	}
	if h.Modified != "" {
		if o.Modified, err = ParseTimestamp(h.Modified); err != nil {
			return Object{}, fmt.Errorf("invalid modified: %w", err)
		}
	}
	switch {
	case !o.Modified.IsZero():
		o.Version = o.Modified
	case !o.Created.IsZero():
		o.Version = o.Created
	}
	return o, nil
}

// checkID checks that id is "type--uuid" with the given type.
func checkID(id, typ string) error {
	if typ == "" {
		return errors.New("missing type")
	}
	t, u, ok := strings.Cut(id, "--")
	if !ok || t != typ {
		return fmt.Errorf("id %q does not start with type %q and \"--\"", id, typ)
	}
	if !isUUID(u) {
		return fmt.Errorf("id %q does not end with a UUID", id)
	}
	return nil
}

// isUUID reports whether s is a UUID in its 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// scoTypes are the STIX 2.1 cyber-observable types, which carry no
// created or modified.
var scoTypes = map[string]bool{
	"artifact": true, "autonomous-system": true, "directory": true,
	"domain-name": true, "email-addr": true, "email-message": true,
	"file": true, "ipv4-addr": true, "ipv6-addr": true, "mac-addr": true,
	"mutex": true, "network-traffic": true, "process": true,
	"software": true, "url": true, "user-account": true,
	"windows-registry-key": true, "x509-certificate": true,
}

// ValidateObject is the default Validator, a minimal check: the id is
// "type--uuid" of the object's type, spec_version is "2.1", and objects
// other than cyber-observables and marking definitions carry created
// and modified, with modified not before created.
func ValidateObject(raw []byte) error {
	o, err := ParseObject(raw)
	if err != nil {
		return err
	}
	return checkObject(o)
}

// checkObject is ValidateObject on a parsed object.
func checkObject(o Object) error {
	if o.SpecVersion != "2.1" {
		return fmt.Errorf("spec_version %q is not \"2.1\"", o.SpecVersion)
	}
	if scoTypes[o.Type] || strings.HasPrefix(o.Type, "x-") && o.Created.IsZero() {
		return nil
	}
	if o.Created.IsZero() {
		return errors.New("missing created")
	}
	if o.Type == "marking-definition" {
		return nil
	}
	if o.Modified.IsZero() {
		return errors.New("missing modified")
	}
	if o.Modified.Before(o.Created) {
		return errors.New("modified is before created")
	}
	return nil
}

// TimestampFormat is how the server writes timestamps: RFC 3339 in UTC
// with microseconds, the precision of date_added.
const TimestampFormat = "2006-01-02T15:04:05.000000Z"

// ParseTimestamp parses a STIX/TAXII timestamp: RFC 3339, in UTC ("Z"),
// with any number of fractional digits.
func ParseTimestamp(s string) (time.Time, error) {
	if !strings.HasSuffix(s, "Z") {
		return time.Time{}, fmt.Errorf("timestamp %q is not in UTC (Z)", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("unable to parse timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}

// FormatTimestamp writes t as TimestampFormat.
func FormatTimestamp(t time.Time) string { return t.UTC().Format(TimestampFormat) }
