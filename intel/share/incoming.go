package share

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/stix/pattern"
)

// Accept decides whether acd takes o from the partner at now:
//
//   - type: o's type is in incoming.types;
//   - creator: when the agreement names the partner's identity, an SDO or
//     SRO (other than a marking definition or that identity itself) is
//     created by it;
//   - invalid: o validates (stix.Validate: OASIS schema and the rules
//     beyond it);
//   - age: o was last modified at most max_age before now (objects
//     without modified, SCOs, pass).
//
// A revocation that passes returns ReasonRevokedOK. The TLP of what
// comes in is not checked: it binds what acd does with it (Allow never
// lets RED leave again).
func (a Agreement) Accept(o stix.Object, now time.Time) (bool, Reason) {
	r := a.accept(o, now)
	return r.Allowed(), r
}

func (a Agreement) accept(o stix.Object, now time.Time) Reason {
	in := &a.Incoming
	if !slices.Contains(in.Types, o.Type) {
		return ReasonType
	}
	if a.Identity != "" && !o.Created.IsZero() && o.Type != stix.TypeMarkingDefinition &&
		o.ID != a.Identity && o.CreatedByRef != a.Identity {
		return ReasonCreator
	}
	if err := stix.Validate(o.Raw()); err != nil {
		return ReasonInvalid
	}
	if in.MaxAge > 0 && !o.Modified.IsZero() && now.Sub(o.Modified.Time) > in.MaxAge {
		return ReasonAge
	}
	if o.Revoked {
		return ReasonRevokedOK
	}
	return ReasonOK
}

// UnknownConfidence is the confidence ToSuspects assumes for an object
// that states none (the middle of the 0-100 scale).
const UnknownConfidence = 50

// Incoming is a suspect candidate from a partner: one target (an
// address, a prefix or a domain) in one role, with a score and where it
// came from. The lead turns it into a detect finding (see README).
type Incoming struct {
	Target     pattern.Target // address or prefix (Target.Prefix) or domain (Target.Domain)
	Role       detect.Role    // "" when nothing the partner sent says (see README, role mapping)
	Score      float64        // confidence × trust / 10000, in [0,1]
	Confidence int            // the object's confidence (UnknownConfidence when absent)
	FirstSeen  time.Time      // indicator valid_from (infrastructure first_seen, else created)
	LastSeen   time.Time      // the object's modified (infrastructure last_seen when later)
	ValidUntil time.Time      // indicator valid_until (zero: open)
	Revoked    bool           // the object (this version) is revoked: withdraw what it gave
	Expired    bool           // valid_until is past: withdraw likewise
	Name       string         // the object's name, as the partner wrote it
	Provenance Provenance
}

// Provenance says where an Incoming came from.
type Provenance struct {
	Partner    string    // the agreement's partner name
	ObjectID   string    // the indicator (or infrastructure) it was read from
	Version    time.Time // that object's modified
	ReceivedAt time.Time // the now passed to ToSuspects
	Via        []string  // the infrastructure (and relationship) ids the role came from
}

// Withdrawn reports whether the candidate withdraws what the object gave
// before (revoked or expired).
func (in Incoming) Withdrawn() bool { return in.Revoked || in.Expired }

// Reason is a one-line evidence reason for the candidate.
func (in Incoming) Reason() string {
	role := string(in.Role)
	if role == "" {
		role = "malicious (no role given)"
	}
	s := fmt.Sprintf("partner %s shared %s as %s (%s, confidence %d, score %.2f)",
		in.Provenance.Partner, in.Target, role, in.Provenance.ObjectID, in.Confidence, in.Score)
	switch {
	case in.Revoked:
		s += ", revoked"
	case in.Expired:
		s += ", expired"
	}
	return s
}

// ToSuspects turns what a partner sent (objs, already accepted) into
// suspect candidates, at now:
//
//   - an indicator with an actionable pattern (pattern.ExtractString: a
//     plain OR of address, prefix and domain comparisons) gives one
//     candidate per target and role; indicators typed "benign" are
//     skipped;
//   - an infrastructure that "consists-of" ipv4-addr, ipv6-addr or
//     domain-name objects in objs gives one candidate per such object.
//
// Roles come from the infrastructure an indicator "indicates" (RoleOf),
// else from the indicator's labels ("acd-role:<role>" or exactly a role
// name); ddos-victim is never a role in; with none, Role is "". Only the
// latest version of each id in objs counts. A revoked indicator or
// infrastructure gives its candidates with Revoked set; revoked
// relationships and infrastructure give no role. Candidates come in the
// order of objs.
func ToSuspects(objs []stix.Object, partner string, trust int, now time.Time) ([]Incoming, error) {
	if partner == "" {
		return nil, errors.New("unable to read partner objects: no partner name")
	}
	if trust < 0 || trust > 100 {
		return nil, fmt.Errorf("unable to read objects of %s: trust %d not in 0-100", partner, trust)
	}
	b := newBatch(objs)
	var out []Incoming
	for _, o := range b.order {
		switch o.Type {
		case stix.TypeIndicator:
			out = append(out, b.fromIndicator(o, partner, trust, now)...)
		case stix.TypeInfrastructure:
			out = append(out, b.fromInfrastructure(o, partner, trust, now)...)
		}
	}
	return out, nil
}

// batch indexes the latest version of each object of a ToSuspects call.
type batch struct {
	latest map[string]stix.Object
	order  []stix.Object        // latest versions, in first-seen order
	links  map[string][]string  // source id → "indicates"/"consists-of" targets
	via    map[[2]string]string // (source, target) → relationship id
}

func newBatch(objs []stix.Object) *batch {
	b := &batch{latest: map[string]stix.Object{}, links: map[string][]string{}, via: map[[2]string]string{}}
	var ids []string
	for _, o := range objs {
		prev, ok := b.latest[o.ID]
		if !ok {
			ids = append(ids, o.ID)
		}
		if !ok || o.Modified.After(prev.Modified.Time) || (o.Modified.Equal(prev.Modified.Time) && o.Revoked) {
			b.latest[o.ID] = o
		}
	}
	for _, id := range ids {
		o := b.latest[id]
		b.order = append(b.order, o)
		if o.Type != stix.TypeRelationship || o.Revoked {
			continue
		}
		var r stix.Relationship
		if o.Decode(&r) != nil || (r.RelationshipType != "indicates" && r.RelationshipType != "consists-of") {
			continue
		}
		b.links[r.SourceRef] = append(b.links[r.SourceRef], r.TargetRef)
		b.via[[2]string{r.SourceRef, r.TargetRef}] = r.ID
	}
	return b
}

func (b *batch) fromIndicator(o stix.Object, partner string, trust int, now time.Time) []Incoming {
	var ind stix.Indicator
	if o.Decode(&ind) != nil || ind.PatternType != "stix" || slices.Contains(ind.IndicatorTypes, "benign") {
		return nil
	}
	targets, err := pattern.ExtractString(ind.Pattern)
	if err != nil {
		return nil
	}
	roles := b.indicatorRoles(&ind)
	proto := b.candidate(o, partner, trust, now, ind.Name)
	proto.FirstSeen = ind.ValidFrom.Time
	if !ind.ValidUntil.IsZero() {
		proto.ValidUntil = ind.ValidUntil.Time
		proto.Expired = !now.Before(ind.ValidUntil.Time)
	}
	return expand(proto, targets, roles)
}

func (b *batch) fromInfrastructure(o stix.Object, partner string, trust int, now time.Time) []Incoming {
	var inf stix.Infrastructure
	if o.Decode(&inf) != nil {
		return nil
	}
	var targets []pattern.Target
	for _, id := range b.links[inf.ID] {
		sco, ok := b.latest[id]
		if !ok || (sco.Type != stix.TypeIPv4Addr && sco.Type != stix.TypeIPv6Addr && sco.Type != stix.TypeDomainName) {
			continue
		}
		var v stix.IPAddr
		if sco.Decode(&v) != nil {
			continue
		}
		if t, err := pattern.ParseTarget(v.Value); err == nil && (t.Domain != "") == (sco.Type == stix.TypeDomainName) {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	var roles []roleFrom
	if r, ok := stix.RoleOf(&inf); ok && !inf.Revoked {
		roles = []roleFrom{{role: r}}
	}
	proto := b.candidate(o, partner, trust, now, inf.Name)
	proto.FirstSeen = firstNonZero(inf.FirstSeen.Time, inf.Created.Time)
	if inf.LastSeen.After(proto.LastSeen) {
		proto.LastSeen = inf.LastSeen.Time
	}
	return expand(proto, targets, roles)
}

// candidate fills what every candidate of object o shares.
func (b *batch) candidate(o stix.Object, partner string, trust int, now time.Time, name string) Incoming {
	conf := UnknownConfidence
	if o.Confidence != nil {
		conf = min(100, max(0, *o.Confidence))
	}
	return Incoming{
		Score: float64(conf*trust) / 10000, Confidence: conf,
		LastSeen: o.Modified.Time, Revoked: o.Revoked, Name: name,
		Provenance: Provenance{Partner: partner, ObjectID: o.ID, Version: o.Modified.Time, ReceivedAt: now},
	}
}

// roleFrom is a role and the relationship and infrastructure ids it
// came from (none when from the indicator's labels).
type roleFrom struct {
	role detect.Role
	via  []string
}

// indicatorRoles returns the roles of an indicator: from the
// infrastructure it indicates, else from its labels.
func (b *batch) indicatorRoles(ind *stix.Indicator) []roleFrom {
	var roles []roleFrom
	has := func(r detect.Role) bool {
		return slices.ContainsFunc(roles, func(f roleFrom) bool { return f.role == r })
	}
	for _, id := range b.links[ind.ID] {
		o, ok := b.latest[id]
		if !ok || o.Type != stix.TypeInfrastructure || o.Revoked {
			continue
		}
		var inf stix.Infrastructure
		if o.Decode(&inf) != nil {
			continue
		}
		if r, ok := stix.RoleOf(&inf); ok && !has(r) {
			roles = append(roles, roleFrom{r, []string{b.via[[2]string{ind.ID, id}], id}})
		}
	}
	if len(roles) > 0 {
		return roles
	}
	for _, l := range ind.Labels {
		r, err := detect.ParseRole(strings.TrimPrefix(l, stix.RoleLabelPrefix))
		if err == nil && r != detect.RoleDDoSVictim && !has(r) {
			roles = append(roles, roleFrom{role: r})
		}
	}
	return roles
}

// expand makes one candidate per target and role (one with Role "" when
// there is no role).
func expand(proto Incoming, targets []pattern.Target, roles []roleFrom) []Incoming {
	if len(roles) == 0 {
		roles = []roleFrom{{}}
	}
	out := make([]Incoming, 0, len(targets)*len(roles))
	for _, t := range targets {
		for _, r := range roles {
			c := proto
			c.Target, c.Role = t, r.role
			c.Provenance.Via = slices.Clone(r.via)
			out = append(out, c)
		}
	}
	return out
}

func firstNonZero(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}
