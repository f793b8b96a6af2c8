package abuse

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/detect"
)

// Summary is what a report says about the target: the suspects of the
// case's evidence that lie inside the target and are not pseudonyms,
// each with its roles, times, counts and the detectors' reasons. Peers,
// samples and series are left out (they name the victims, domestic
// addresses among them), and any address in a reason that is not inside
// the target is replaced by "[withheld]".
type Summary struct {
	Case       string           `json:"case"`
	Version    int              `json:"version"`
	Target     string           `json:"target"`
	LegalBasis string           `json:"legal_basis"`
	FirstSeen  time.Time        `json:"first_seen"`
	LastSeen   time.Time        `json:"last_seen"`
	Roles      []detect.Role    `json:"roles"`
	Incidents  int              `json:"incidents"`
	Suspects   []SuspectSummary `json:"suspects"`
	Note       string           `json:"note"`
}

// SuspectSummary is one suspect in a Summary.
type SuspectSummary struct {
	Address   string            `json:"address"`
	Roles     []detect.Role     `json:"roles"`
	Score     float64           `json:"score"`
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
	Evidence  []EvidenceSummary `json:"evidence"`
}

// EvidenceSummary is one detector's statement, without peers or samples.
type EvidenceSummary struct {
	Detector  string             `json:"detector"`
	Role      detect.Role        `json:"role"`
	Score     float64            `json:"score"`
	FirstSeen time.Time          `json:"first_seen"`
	LastSeen  time.Time          `json:"last_seen"`
	Findings  int                `json:"findings"`
	Counts    map[string]float64 `json:"counts,omitempty"`
	Reason    string             `json:"reason"`
}

// summaryNote says what the evidence is and is not.
const summaryNote = "Flow metadata only (addresses, ports, protocols, times, volumes); no content was captured. Addresses of the affected parties are withheld."

// Summarize builds the summary of evidence doc (the case's frozen
// evidence, {"suspects":[...]}) for target. It fails when the document
// cannot be read or holds no non-pseudonymous suspect inside target: a
// report would then rest on nothing it may show.
func Summarize(c cases.Case, target cases.Target, doc []byte) (Summary, error) {
	var ev struct {
		Suspects []detect.Suspect `json:"suspects"`
	}
	if err := json.Unmarshal(doc, &ev); err != nil {
		return Summary{}, fmt.Errorf("unable to read the evidence of case %s: %w", c.ID, err)
	}
	tp := target.Prefix()
	s := Summary{Case: c.ID, Version: c.Version, Target: target.String(), LegalBasis: c.LegalBasis,
		Note: summaryNote}
	roles := map[detect.Role]bool{}
	for _, sp := range ev.Suspects {
		if sp.Pseudo || !covers(tp, sp.Key) {
			continue
		}
		ss := SuspectSummary{Address: sp.Key.String(), Roles: slices.Clone(sp.Roles), Score: sp.Score,
			FirstSeen: sp.FirstSeen.UTC(), LastSeen: sp.LastSeen.UTC()}
		for _, e := range sp.Evidence {
			ss.Evidence = append(ss.Evidence, EvidenceSummary{Detector: e.Detector, Role: e.Role, Score: e.Score,
				FirstSeen: e.First.UTC(), LastSeen: e.Last.UTC(), Findings: max(e.Findings, 1),
				Counts: maps.Clone(e.Counts), Reason: Redact(e.Reason, tp)})
			s.Incidents += max(e.Findings, 1)
		}
		for _, r := range sp.Roles {
			roles[r] = true
		}
		if s.FirstSeen.IsZero() || (!ss.FirstSeen.IsZero() && ss.FirstSeen.Before(s.FirstSeen)) {
			s.FirstSeen = ss.FirstSeen
		}
		if ss.LastSeen.After(s.LastSeen) {
			s.LastSeen = ss.LastSeen
		}
		s.Suspects = append(s.Suspects, ss)
	}
	if len(s.Suspects) == 0 {
		return Summary{}, fmt.Errorf("the evidence of case %s holds no suspect inside %s that may be reported (pseudonyms are never reported)", c.ID, target)
	}
	s.Roles = slices.Sorted(maps.Keys(roles))
	return s, nil
}

// covers reports whether every address of suspect k lies in p.
func covers(p netip.Prefix, k detect.Key) bool {
	kp, err := netip.ParsePrefix(k.String())
	if err != nil {
		a, aerr := netip.ParseAddr(k.String())
		if aerr != nil {
			return false
		}
		kp = netip.PrefixFrom(a, a.BitLen())
	}
	return p.IsValid() && p.Bits() <= kp.Bits() && p.Contains(kp.Addr())
}

// Redact replaces every IP address or prefix in s that is not inside
// keep by "[withheld]".
func Redact(s string, keep netip.Prefix) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isAddrByte(s[j]) {
			j++
		}
		if j == i {
			b.WriteByte(s[i])
			i++
			continue
		}
		tok := s[i:j]
		core := strings.TrimRight(tok, ".:/")
		if p, ok := parseAddrToken(core); ok && !(keep.IsValid() && keep.Bits() <= p.Bits() && keep.Contains(p.Addr())) {
			b.WriteString("[withheld]")
			b.WriteString(tok[len(core):])
		} else {
			b.WriteString(tok)
		}
		i = j
	}
	return b.String()
}

func isAddrByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':' || c == '/'
}

// parseAddrToken reads an address (as its host prefix), a prefix or an
// address:port.
func parseAddrToken(s string) (netip.Prefix, bool) {
	host := func(a netip.Addr) netip.Prefix { a = a.Unmap(); return netip.PrefixFrom(a, a.BitLen()) }
	if a, err := netip.ParseAddr(s); err == nil {
		return host(a), true
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96), true
		}
		return p, true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return host(ap.Addr()), true
	}
	return netip.Prefix{}, false
}
