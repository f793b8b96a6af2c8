package stix

import "encoding/json"

// Object types acd emits or reads with typed structs.
const (
	TypeIdentity          = "identity"
	TypeIndicator         = "indicator"
	TypeInfrastructure    = "infrastructure"
	TypeSighting          = "sighting"
	TypeObservedData      = "observed-data"
	TypeRelationship      = "relationship"
	TypeCourseOfAction    = "course-of-action"
	TypeNote              = "note"
	TypeOpinion           = "opinion"
	TypeReport            = "report"
	TypeMarkingDefinition = "marking-definition"
	TypeIPv4Addr          = "ipv4-addr"
	TypeIPv6Addr          = "ipv6-addr"
	TypeDomainName        = "domain-name"
	TypeNetworkTraffic    = "network-traffic"
)

// Identity is an individual, organization or group (an SDO).
type Identity struct {
	Common
	Name               string   `json:"name"`
	Description        string   `json:"description,omitempty"`
	Roles              []string `json:"roles,omitempty"`
	IdentityClass      string   `json:"identity_class,omitempty"` // identity-class-ov: individual, group, system, organization, class, unknown
	Sectors            []string `json:"sectors,omitempty"`
	ContactInformation string   `json:"contact_information,omitempty"`
}

// Indicator is a pattern that detects malicious activity (an SDO).
type Indicator struct {
	Common
	Name            string           `json:"name,omitempty"`
	Description     string           `json:"description,omitempty"`
	IndicatorTypes  []string         `json:"indicator_types,omitempty"` // indicator-type-ov
	Pattern         string           `json:"pattern"`
	PatternType     string           `json:"pattern_type"` // "stix"
	PatternVersion  string           `json:"pattern_version,omitempty"`
	ValidFrom       Timestamp        `json:"valid_from"`
	ValidUntil      Timestamp        `json:"valid_until,omitzero"`
	KillChainPhases []KillChainPhase `json:"kill_chain_phases,omitempty"`
}

// Infrastructure is a system used in attacks (an SDO).
type Infrastructure struct {
	Common
	Name                string           `json:"name"`
	Description         string           `json:"description,omitempty"`
	InfrastructureTypes []string         `json:"infrastructure_types,omitempty"` // infrastructure-type-ov
	Aliases             []string         `json:"aliases,omitempty"`
	KillChainPhases     []KillChainPhase `json:"kill_chain_phases,omitempty"`
	FirstSeen           Timestamp        `json:"first_seen,omitzero"`
	LastSeen            Timestamp        `json:"last_seen,omitzero"`
}

// Relationship links two objects (an SRO).
type Relationship struct {
	Common
	RelationshipType string    `json:"relationship_type"`
	Description      string    `json:"description,omitempty"`
	SourceRef        string    `json:"source_ref"`
	TargetRef        string    `json:"target_ref"`
	StartTime        Timestamp `json:"start_time,omitzero"`
	StopTime         Timestamp `json:"stop_time,omitzero"`
}

// Sighting says something was seen (an SRO).
type Sighting struct {
	Common
	Description      string    `json:"description,omitempty"`
	FirstSeen        Timestamp `json:"first_seen,omitzero"`
	LastSeen         Timestamp `json:"last_seen,omitzero"`
	Count            *int      `json:"count,omitempty"`
	SightingOfRef    string    `json:"sighting_of_ref"`
	ObservedDataRefs []string  `json:"observed_data_refs,omitempty"`
	WhereSightedRefs []string  `json:"where_sighted_refs,omitempty"`
	Summary          bool      `json:"summary,omitempty"`
}

// ObservedData is raw observations: SCOs seen (an SDO).
type ObservedData struct {
	Common
	FirstObserved  Timestamp `json:"first_observed"`
	LastObserved   Timestamp `json:"last_observed"`
	NumberObserved int       `json:"number_observed"`
	ObjectRefs     []string  `json:"object_refs"`
}

// CourseOfAction is an action taken to prevent or respond to an attack
// (an SDO).
type CourseOfAction struct {
	Common
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Note is a comment on objects (an SDO).
type Note struct {
	Common
	Abstract   string   `json:"abstract,omitempty"`
	Content    string   `json:"content"`
	Authors    []string `json:"authors,omitempty"`
	ObjectRefs []string `json:"object_refs"`
}

// Opinion is an assessment of objects (an SDO).
type Opinion struct {
	Common
	Explanation string   `json:"explanation,omitempty"`
	Authors     []string `json:"authors,omitempty"`
	Opinion     string   `json:"opinion"` // strongly-disagree, disagree, neutral, agree, strongly-agree
	ObjectRefs  []string `json:"object_refs"`
}

// Report is a collection of intelligence on a topic (an SDO).
type Report struct {
	Common
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	ReportTypes []string  `json:"report_types,omitempty"`
	Published   Timestamp `json:"published"`
	ObjectRefs  []string  `json:"object_refs"`
}

// MarkingDefinition is a data marking (TLP, a statement, or one defined
// by an extension, as TLP 2.0 is).
type MarkingDefinition struct {
	Common
	Name           string          `json:"name,omitempty"`
	DefinitionType string          `json:"definition_type,omitempty"`
	Definition     json.RawMessage `json:"definition,omitempty"`
}

// IPAddr is an ipv4-addr or ipv6-addr SCO (Type says which).
type IPAddr struct {
	Common
	Value          string   `json:"value"`
	ResolvesToRefs []string `json:"resolves_to_refs,omitempty"`
	BelongsToRefs  []string `json:"belongs_to_refs,omitempty"`
}

// DomainName is a domain-name SCO.
type DomainName struct {
	Common
	Value          string   `json:"value"`
	ResolvesToRefs []string `json:"resolves_to_refs,omitempty"`
}

// NetworkTraffic is a network-traffic SCO.
type NetworkTraffic struct {
	Common
	Start        Timestamp `json:"start,omitzero"`
	End          Timestamp `json:"end,omitzero"`
	IsActive     bool      `json:"is_active,omitempty"`
	SrcRef       string    `json:"src_ref,omitempty"`
	DstRef       string    `json:"dst_ref,omitempty"`
	SrcPort      *int      `json:"src_port,omitempty"`
	DstPort      *int      `json:"dst_port,omitempty"`
	Protocols    []string  `json:"protocols"`
	SrcByteCount *int64    `json:"src_byte_count,omitempty"`
	DstByteCount *int64    `json:"dst_byte_count,omitempty"`
	SrcPackets   *int64    `json:"src_packets,omitempty"`
	DstPackets   *int64    `json:"dst_packets,omitempty"`
}

// DeterministicID returns the id of the network-traffic SCO from its ID
// contributing properties (start, end, src_ref, dst_ref, src_port,
// dst_port, protocols, extensions).
func (n *NetworkTraffic) DeterministicID() (string, error) {
	p := map[string]any{}
	if !n.Start.IsZero() {
		p["start"] = n.Start.UTC().Format(TimeFormat)
	}
	if !n.End.IsZero() {
		p["end"] = n.End.UTC().Format(TimeFormat)
	}
	if n.SrcRef != "" {
		p["src_ref"] = n.SrcRef
	}
	if n.DstRef != "" {
		p["dst_ref"] = n.DstRef
	}
	if n.SrcPort != nil {
		p["src_port"] = *n.SrcPort
	}
	if n.DstPort != nil {
		p["dst_port"] = *n.DstPort
	}
	if len(n.Protocols) > 0 {
		p["protocols"] = n.Protocols
	}
	if len(n.Extensions) > 0 {
		return "", errNoExtensionsID
	}
	return SCOID(TypeNetworkTraffic, p)
}
