package cases

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Policy is what the commission and the operator agreed on: who approves
// (the commissioners' key ids, n), how many must (the quorum, k), who may
// act first in an emergency and how soon the commission must review it,
// how long an action may last, which prefixes the operator owns (the
// only ones rtbh may blackhole) and how wide a block may be.
type Policy struct {
	// Quorum is k: the number of distinct commissioners whose valid
	// approvals a case needs.
	Quorum int `yaml:"quorum"`
	// Commissioners are the key ids (n of them) whose signatures count.
	// Several keys may belong to one commissioner, who still counts once.
	Commissioners []string `yaml:"commissioners"`
	// EmergencyOperators hold the emergency right: they may activate an
	// urgent case before it is approved.
	EmergencyOperators []string `yaml:"emergency_operators"`
	// EmergencyActions are the action types an emergency may run.
	EmergencyActions []ActionType `yaml:"emergency_actions"`
	// EmergencyReview is how long after an emergency activation the
	// commission's review (a quorum of approvals) may take before the
	// actions are rolled back and the case flagged.
	EmergencyReview time.Duration `yaml:"emergency_review"`
	// MaxWindow bounds every action's window (not_after - not_before).
	MaxWindow time.Duration `yaml:"max_window"`
	// OwnedPrefixes are the operator's own networks: rtbh targets must
	// lie inside one.
	OwnedPrefixes []netip.Prefix `yaml:"owned_prefixes"`
	// MinPrefix4 and MinPrefix6 are the widest prefixes a block or
	// flowspec may name (e.g. 24 refuses a /16).
	MinPrefix4 int `yaml:"min_prefix4"`
	MinPrefix6 int `yaml:"min_prefix6"`
	// ClockSkew is how far in the future an approval's signing time may
	// lie, for clocks that disagree.
	ClockSkew time.Duration `yaml:"clock_skew"`
}

// DefaultPolicy returns the defaults: 2 of n, a 24-hour emergency review,
// 7-day windows, blocks no wider than /24 and /48, a 5-minute skew. The
// commissioners, operators and owned prefixes are the deployment's.
func DefaultPolicy() Policy {
	return Policy{
		Quorum:           2,
		EmergencyActions: []ActionType{ActionBlock, ActionFlowSpec, ActionRTBH, ActionSinkhole},
		EmergencyReview:  24 * time.Hour,
		MaxWindow:        7 * 24 * time.Hour,
		MinPrefix4:       24,
		MinPrefix6:       48,
		ClockSkew:        5 * time.Minute,
	}
}

// Validate checks p: a quorum that n can reach, positive durations,
// valid prefixes and action types. A policy without commissioners (the
// defaults) validates, so that a deployment without cases does; NewGate
// refuses it.
func (p *Policy) Validate() error {
	var errs []error
	if p.Quorum < 1 {
		errs = append(errs, fmt.Errorf("quorum %d: at least one approval is needed", p.Quorum))
	}
	if n := len(p.Commissioners); n > 0 && p.Quorum > n {
		errs = append(errs, fmt.Errorf("quorum %d is more than the %d commissioner keys", p.Quorum, n))
	}
	for i, k := range p.Commissioners {
		if k == "" || slices.Contains(p.Commissioners[:i], k) {
			errs = append(errs, fmt.Errorf("commissioners: key id %q is empty or repeated", k))
		}
	}
	if p.EmergencyReview <= 0 {
		errs = append(errs, fmt.Errorf("emergency_review %s must be positive", p.EmergencyReview))
	}
	if p.MaxWindow <= 0 {
		errs = append(errs, fmt.Errorf("max_window %s must be positive", p.MaxWindow))
	}
	if p.ClockSkew < 0 {
		errs = append(errs, fmt.Errorf("clock_skew %s must not be negative", p.ClockSkew))
	}
	for _, t := range p.EmergencyActions {
		if _, err := ParseActionType(string(t)); err != nil {
			errs = append(errs, fmt.Errorf("emergency_actions: %w", err))
		}
	}
	for _, pr := range p.OwnedPrefixes {
		if !pr.IsValid() {
			errs = append(errs, errors.New("owned_prefixes: invalid prefix"))
		}
	}
	if p.MinPrefix4 < 0 || p.MinPrefix4 > 32 || p.MinPrefix6 < 0 || p.MinPrefix6 > 128 {
		errs = append(errs, fmt.Errorf("min_prefix4 %d / min_prefix6 %d out of range", p.MinPrefix4, p.MinPrefix6))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid case policy: %w", err)
	}
	return nil
}

// Owns reports whether the prefix lies inside one of the operator's own.
func (p *Policy) Owns(pr netip.Prefix) bool {
	for _, o := range p.OwnedPrefixes {
		o = netip.PrefixFrom(o.Addr().Unmap(), o.Bits()-unmapBits(o.Addr()))
		if o.Bits() <= pr.Bits() && o.Contains(pr.Addr()) {
			return true
		}
	}
	return false
}

func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

// checkWidth refuses a block or flowspec wider than the policy allows.
func (p *Policy) checkWidth(pr netip.Prefix) error {
	min := p.MinPrefix6
	if pr.Addr().Is4() {
		min = p.MinPrefix4
	}
	if pr.Bits() < min {
		return fmt.Errorf("prefix %s is wider than the policy allows (/%d at most)", pr, min)
	}
	return nil
}

// isCommissionerKey reports whether keyID is one of the policy's n.
// clone returns a copy of p that shares no slice with it.
func (p *Policy) clone() Policy {
	c := *p
	c.Commissioners = slices.Clone(p.Commissioners)
	c.EmergencyOperators = slices.Clone(p.EmergencyOperators)
	c.EmergencyActions = slices.Clone(p.EmergencyActions)
	c.OwnedPrefixes = slices.Clone(p.OwnedPrefixes)
	return c
}

func (p *Policy) isCommissionerKey(keyID string) bool { return slices.Contains(p.Commissioners, keyID) }

// hasEmergencyRight reports whether user may act before approval.
func (p *Policy) hasEmergencyRight(user string) bool {
	return user != "" && slices.Contains(p.EmergencyOperators, user)
}
