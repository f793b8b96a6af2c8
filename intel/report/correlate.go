package report

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/acd-org/acd/detect"
)

// Slack widens a report's time range when Correlate looks for evidence
// of an attack on its affected systems: operators' clocks and acd's event
// time differ, and an operator notices an attack after it starts.
const Slack = 5 * time.Minute

// MatchKind says how a suspect matches a report.
type MatchKind string

// Kinds of match.
const (
	MatchExact     MatchKind = "indicator-exact"    // an indicator is the suspect's address
	MatchInPrefix  MatchKind = "indicator-prefix"   // the suspect lies in an indicator's prefix
	MatchSuspectIn MatchKind = "suspect-prefix"     // an indicator lies in the suspect's prefix
	MatchVictim    MatchKind = "victim"             // the suspect is an affected system, victim of a flood in the range
	MatchAttacker  MatchKind = "attacker-of-victim" // the suspect's evidence names an affected system as its victim in the range
)

// Match is a suspect that correlates with a report, and why.
type Match struct {
	Suspect string        // the suspect's address or prefix
	Roles   []detect.Role // its roles
	Score   float64       // its score
	Kind    MatchKind
	On      string // the report's indicator or affected system matched
	Why     string // one readable sentence
}

// Correlate returns the suspects that match the report, in the order of
// suspects, then of the report's indicators and affected systems:
//
//   - indicators that are suspects: the same address (MatchExact), a
//     suspect inside an indicator's prefix (MatchInPrefix), an indicator
//     address or prefix inside a suspect's prefix (MatchSuspectIn);
//   - for a DDoS report, suspects whose evidence names an affected system
//     (an address or prefix) as the victim of a flood between Start − Slack
//     and End + Slack (open-ended when End is zero): the victim itself
//     (ddos-victim evidence, MatchVictim) and the sources and reflectors
//     whose evidence peer "victim" is an affected system (MatchAttacker).
//
// Pseudonymous suspects and pseudonymous peers match nothing: a pseudonym
// is not the operator's address (re-identification is minimize's door, not
// this package's). Domain indicators match no suspect (suspects are
// addresses).
func Correlate(r Report, suspects []detect.Suspect) []Match {
	var inds []Indicator
	var raw []string
	for _, s := range r.Indicators {
		if ind, err := ParseIndicator(s); err == nil && ind.Domain == "" {
			inds, raw = append(inds, ind), append(raw, s)
		}
	}
	systems := affected(r.AffectedSystems)
	var out []Match
	for i := range suspects {
		s := &suspects[i]
		if s.Pseudo {
			continue
		}
		sp := suspectPrefix(s)
		for j, ind := range inds {
			if kind, why := indicatorMatch(ind, sp); kind != "" {
				out = append(out, Match{Suspect: s.Key.String(), Roles: s.Roles, Score: s.Score, Kind: kind, On: raw[j], Why: why})
			}
		}
		if r.Type == TypeDDoS {
			out = append(out, victimMatches(&r, s, sp, systems)...)
		}
	}
	return out
}

func suspectPrefix(s *detect.Suspect) netip.Prefix {
	p, err := netip.ParsePrefix(s.Key.String())
	if err != nil {
		a, _ := netip.ParseAddr(s.Key.String())
		return netip.PrefixFrom(a, a.BitLen())
	}
	return p.Masked()
}

func indicatorPrefix(ind Indicator) netip.Prefix {
	if ind.Addr.IsValid() {
		return netip.PrefixFrom(ind.Addr, ind.Addr.BitLen())
	}
	return ind.Prefix
}

// indicatorMatch compares an indicator and a suspect's prefix (a host
// prefix for an address).
func indicatorMatch(ind Indicator, sp netip.Prefix) (MatchKind, string) {
	ip := indicatorPrefix(ind)
	switch {
	case !ip.IsValid() || !sp.IsValid():
		return "", ""
	case ip == sp:
		return MatchExact, fmt.Sprintf("indicator %s is suspect %s", ind, sp.Addr())
	case ip.Bits() < sp.Bits() && ip.Contains(sp.Addr()):
		return MatchInPrefix, fmt.Sprintf("suspect %s lies in indicator prefix %s", suspectName(sp), ip)
	case sp.Bits() < ip.Bits() && sp.Contains(ip.Addr()):
		return MatchSuspectIn, fmt.Sprintf("indicator %s lies in suspect prefix %s", ind, sp)
	}
	return "", ""
}

func suspectName(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

type system struct {
	name   string
	prefix netip.Prefix
}

// affected parses the affected systems that are addresses or prefixes.
func affected(list []string) []system {
	var out []system
	for _, s := range list {
		ind, err := ParseIndicator(s)
		if err != nil || ind.Domain != "" {
			continue
		}
		out = append(out, system{name: s, prefix: indicatorPrefix(ind)})
	}
	return out
}

// victimMatches finds the evidence of s naming an affected system as the
// victim of a flood in the report's time range.
func victimMatches(r *Report, s *detect.Suspect, sp netip.Prefix, systems []system) []Match {
	from := r.Start.Add(-Slack)
	until := time.Time{}
	if !r.End.IsZero() {
		until = r.End.Add(Slack)
	}
	inRange := func(e *detect.Evidence) bool {
		return !e.Last.Before(from) && (until.IsZero() || !e.First.After(until))
	}
	var out []Match
	for i := range s.Evidence {
		e := &s.Evidence[i]
		if !inRange(e) {
			continue
		}
		for _, sys := range systems {
			if e.Role == detect.RoleDDoSVictim && sys.prefix.Contains(sp.Addr()) && sys.prefix.Bits() <= sp.Bits() {
				out = append(out, Match{Suspect: s.Key.String(), Roles: s.Roles, Score: s.Score, Kind: MatchVictim, On: sys.name,
					Why: fmt.Sprintf("%s evidence: affected system %s received a flood from %s to %s", e.Detector, sys.name,
						stamp(e.First), stamp(e.Last))})
				continue
			}
			if e.Role != detect.RoleDDoSSource && e.Role != detect.RoleReflector {
				continue
			}
			if peer, ok := victimPeer(e, sys.prefix); ok {
				out = append(out, Match{Suspect: s.Key.String(), Roles: s.Roles, Score: s.Score, Kind: MatchAttacker, On: sys.name,
					Why: fmt.Sprintf("%s evidence: %s (%s) sent flood traffic to affected system %s (%s) from %s to %s", e.Detector,
						suspectName(sp), e.Role, sys.name, peer, stamp(e.First), stamp(e.Last))})
			}
		}
	}
	return out
}

// victimPeer returns the evidence's victim peer (in the clear) lying in p.
func victimPeer(e *detect.Evidence, p netip.Prefix) (string, bool) {
	for _, peer := range e.Peers {
		if peer.Role != "victim" || peer.Pseudo {
			continue
		}
		if a, err := netip.ParseAddr(peer.Address); err == nil && p.Contains(a.Unmap()) {
			return peer.Address, true
		}
	}
	return "", false
}
