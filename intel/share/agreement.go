package share

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/conf"
	"github.com/acd-org/acd/intel/stix"
)

// Agreement is a sharing agreement with one partner: what may leave
// for it (Outgoing) and what acd takes from it (Incoming). Make one
// with DefaultAgreement or LoadAgreement, and check it with Validate.
type Agreement struct {
	// Partner names the partner ("us-cisa"); it appears in the ledger
	// and in the provenance of what it sends.
	Partner string `yaml:"partner"`
	// Identity is the partner's STIX identity id (optional). When set,
	// incoming objects must be created by it.
	Identity string `yaml:"identity"`
	// Outgoing says what may leave for the partner.
	Outgoing OutgoingTerms `yaml:"outgoing"`
	// Incoming says what acd takes from the partner.
	Incoming IncomingTerms `yaml:"incoming"`
}

// OutgoingTerms is the half of an agreement about what leaves.
type OutgoingTerms struct {
	// Collections are the partner's TAXII collection ids acd pushes to.
	Collections []string `yaml:"collections"`
	// MaxTLP is the highest TLP that may leave (default clear). red and
	// amber+strict are refused: they never leave the organisation.
	MaxTLP stix.TLP `yaml:"max_tlp"`
	// Types are the STIX object types that may leave.
	Types []string `yaml:"types"`
	// MinConfidence is the lowest confidence (0-100) of an object that
	// may leave, for objects that state one.
	MinConfidence int `yaml:"min_confidence"`
	// Delay holds an object until its created time plus Delay.
	Delay time.Duration `yaml:"delay"`
	// Domestic says whether anything derived from domestic data may
	// leave: sightings and observed data (observations in domestic
	// networks) and texts built from evidence that named domestic hosts.
	// Even when true, no domestic address ever leaves.
	Domestic bool `yaml:"domestic"`
}

// IncomingTerms is the half of an agreement about what comes in.
type IncomingTerms struct {
	// Collections are the partner's TAXII collection ids acd polls.
	Collections []string `yaml:"collections"`
	// Trust (0-100) scales the confidence of what the partner sends:
	// score = confidence × trust / 10000.
	Trust int `yaml:"trust"`
	// MaxAge refuses objects last modified longer ago (0: no limit).
	MaxAge time.Duration `yaml:"max_age"`
	// Types are the STIX object types acd takes from the partner.
	Types []string `yaml:"types"`
}

// DefaultOutgoingTypes are the types that may leave unless the
// agreement lists others: what acd emits.
var DefaultOutgoingTypes = []string{"identity", "marking-definition", "indicator", "infrastructure", "relationship", "sighting", "course-of-action"}

// DefaultIncomingTypes are the types acd takes unless the agreement
// lists others: what ToSuspects reads, and what gives it context.
var DefaultIncomingTypes = []string{"identity", "marking-definition", "indicator", "infrastructure", "relationship", "sighting", "course-of-action", "ipv4-addr", "ipv6-addr", "domain-name"}

// DefaultAgreement returns an agreement with the defaults: nothing
// leaves above TLP:CLEAR, no delay, nothing derived from domestic data,
// trust 50, incoming objects at most 90 days old.
func DefaultAgreement() Agreement {
	return Agreement{
		Outgoing: OutgoingTerms{MaxTLP: stix.TLPClear, Types: slices.Clone(DefaultOutgoingTypes)},
		Incoming: IncomingTerms{Trust: 50, MaxAge: 90 * 24 * time.Hour, Types: slices.Clone(DefaultIncomingTypes)},
	}
}

// LoadAgreement reads an agreement from YAML over the defaults
// (strictly: unknown keys are errors) and validates it.
func LoadAgreement(data []byte) (Agreement, error) {
	a := DefaultAgreement()
	if err := conf.Load(data, &a); err != nil {
		return Agreement{}, fmt.Errorf("unable to load sharing agreement: %w", err)
	}
	if err := a.Validate(); err != nil {
		return Agreement{}, err
	}
	return a, nil
}

// Validate checks the agreement and reports every problem found.
func (a Agreement) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(a.Partner) == "" {
		bad("partner: missing name")
	}
	if a.Identity != "" && (!isIdentityID(a.Identity)) {
		bad("identity: %q is not a STIX identity id (identity--<uuid>)", a.Identity)
	}
	o, in := a.Outgoing, a.Incoming
	switch {
	case !o.MaxTLP.Valid():
		bad("outgoing.max_tlp: missing (clear, green or amber)")
	case o.MaxTLP == stix.TLPRed:
		bad("outgoing.max_tlp: red never leaves (clear, green or amber)")
	case o.MaxTLP == stix.TLPAmberStrict:
		bad("outgoing.max_tlp: amber+strict never leaves the organisation (clear, green or amber)")
	}
	if o.MinConfidence < 0 || o.MinConfidence > 100 {
		bad("outgoing.min_confidence: %d not in 0-100", o.MinConfidence)
	}
	if o.Delay < 0 {
		bad("outgoing.delay: %s is negative", o.Delay)
	}
	if in.Trust < 0 || in.Trust > 100 {
		bad("incoming.trust: %d not in 0-100", in.Trust)
	}
	if in.MaxAge < 0 {
		bad("incoming.max_age: %s is negative", in.MaxAge)
	}
	errs = append(errs, checkTypes("outgoing.types", o.Types)...)
	errs = append(errs, checkTypes("incoming.types", in.Types)...)
	errs = append(errs, checkCollections("outgoing.collections", o.Collections)...)
	errs = append(errs, checkCollections("incoming.collections", in.Collections)...)
	if len(errs) > 0 {
		return fmt.Errorf("invalid sharing agreement %q: %w", a.Partner, errors.Join(errs...))
	}
	return nil
}

func checkTypes(field string, types []string) []error {
	var errs []error
	if len(types) == 0 {
		errs = append(errs, fmt.Errorf("%s: empty (list the STIX types, e.g. indicator)", field))
	}
	for _, t := range types {
		if !slices.Contains(specTypes, t) {
			errs = append(errs, fmt.Errorf("%s: %q is not a STIX 2.1 object type", field, t))
		}
	}
	return errs
}

func checkCollections(field string, ids []string) []error {
	var errs []error
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: empty collection id", field, i))
		} else if slices.Contains(ids[:i], id) {
			errs = append(errs, fmt.Errorf("%s[%d]: %q listed twice", field, i, id))
		}
	}
	return errs
}

// Pushes reports whether acd pushes to the partner's collection id.
func (a Agreement) Pushes(collection string) bool {
	return slices.Contains(a.Outgoing.Collections, collection)
}

// Polls reports whether acd polls the partner's collection id.
func (a Agreement) Polls(collection string) bool {
	return slices.Contains(a.Incoming.Collections, collection)
}

// specTypes are the object types of STIX 2.1 (SDOs, SROs, SCOs and the
// meta objects).
var specTypes = []string{
	"attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator",
	"infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data",
	"opinion", "report", "threat-actor", "tool", "vulnerability",
	"relationship", "sighting",
	"artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message", "file",
	"ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url",
	"user-account", "windows-registry-key", "x509-certificate",
	"marking-definition", "language-content", "extension-definition",
}

// isIdentityID reports whether id is "identity--" and a UUID.
func isIdentityID(id string) bool {
	u, ok := strings.CutPrefix(id, stix.TypeIdentity+"--")
	if !ok || len(u) != 36 {
		return false
	}
	for i, c := range []byte(u) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
