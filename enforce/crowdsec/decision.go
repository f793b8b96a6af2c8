package crowdsec

import (
	"fmt"
	"time"

	"github.com/acd-org/acd/cases"
)

// Decision is one CrowdSec decision as the Local API writes it (the
// fields of the LAPI "Decision" model that bouncers read).
type Decision struct {
	// ID identifies the decision; a "deleted" entry repeats it.
	ID int64 `json:"id"`
	// Origin is who made the decision: always Origin ("acd").
	Origin string `json:"origin"`
	// Type is the remediation: always "ban".
	Type string `json:"type"`
	// Scope is "Ip" for one address, "Range" for a prefix.
	Scope string `json:"scope"`
	// Value is the address or the prefix (CIDR).
	Value string `json:"value"`
	// Duration is the time left, in Go duration format ("3h59m58s").
	Duration string `json:"duration"`
	// Scenario names the case: "acd/case/<id>".
	Scenario string `json:"scenario"`
	// Until is when the decision ends (RFC 3339, UTC).
	Until string `json:"until,omitempty"`
	// Simulated is always false: acd's decisions are real.
	Simulated bool `json:"simulated"`
}

// Values acd writes into decisions.
const (
	Origin     = "acd"
	TypeBan    = "ban"
	ScopeIP    = "Ip"
	ScopeRange = "Range"
)

// Scenario returns the scenario naming case id.
func Scenario(caseID string) string { return "acd/case/" + caseID }

// FormatDuration writes the time left d as CrowdSec does, in whole
// seconds rounded up so that a live decision never reads "0s".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return ((d + time.Second - 1) / time.Second * time.Second).String()
}

// scopeValues returns the CrowdSec scope and values of a block target
// under the ranges mode of cfg: an address as one Ip value; a prefix as
// one Range value (RangesNative) or one Ip value per address
// (RangesExpand, at most cfg.MaxExpand).
func scopeValues(t cases.Target, cfg Config) (string, []string, error) {
	switch t.Kind() {
	case cases.KindAddress:
		return ScopeIP, []string{t.Prefix().Addr().String()}, nil
	case cases.KindPrefix:
	default:
		return "", nil, fmt.Errorf("target %q is not an address or a prefix", t)
	}
	p := t.Prefix()
	switch cfg.Ranges {
	case RangesNative:
		return ScopeRange, []string{p.String()}, nil
	case RangesExpand:
		host := p.Addr().BitLen() - p.Bits()
		if host >= 31 || 1<<host > cfg.MaxExpand {
			return "", nil, fmt.Errorf("%w: prefix %s has more than %d addresses (max_expand) and ranges is expand", ErrUnsupported, p, cfg.MaxExpand)
		}
		vals := make([]string, 0, 1<<host)
		for a := p.Addr(); p.Contains(a); a = a.Next() {
			vals = append(vals, a.String())
		}
		return ScopeIP, vals, nil
	}
	return "", nil, fmt.Errorf("%w: prefix %s (ranges is %s)", ErrUnsupported, p, cfg.Ranges)
}
