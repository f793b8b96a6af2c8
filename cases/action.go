package cases

import (
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"time"

	"github.com/acd-org/acd/minimize"
)

// ActionType is what an action does. Each type documents its target and
// the scope fields it takes; any other scope field is refused.
type ActionType string

// Action types.
const (
	// ActionBlock drops traffic from the source Target (an address or
	// prefix) at the operator's firewalls. Scope: protocol, ports.
	ActionBlock ActionType = "block"
	// ActionFlowSpec drops or rate-limits traffic from the source Target
	// by BGP FlowSpec (RFC 8955/8956). Scope: destination, protocol,
	// ports, rate_bps (0 drops).
	ActionFlowSpec ActionType = "flowspec"
	// ActionRTBH blackholes a destination by BGP (RFC 7999): Target is a
	// host address (a /32 or /128 route) inside a prefix the operator
	// owns (Policy.OwnedPrefixes). No scope.
	ActionRTBH ActionType = "rtbh"
	// ActionSinkhole answers for the domain Target from the DNS RPZ.
	// Scope: subdomains.
	ActionSinkhole ActionType = "sinkhole"
	// ActionAbuseReport reports Target (an address or prefix) to its
	// network owner's abuse contact. Scope: recipient (an e-mail
	// address; empty means the contact registered for the network).
	ActionAbuseReport ActionType = "abuse-report"
	// ActionReidentify lifts the pseudonyms named in scope.pseudonyms,
	// each inside Target (an address or prefix of pseudonyms).
	ActionReidentify ActionType = "reidentify"
	// ActionPoliceRequest hands the case's evidence package to the
	// authorized police or defense channel named in scope.recipient
	// (required). acd itself never intrudes into third-party systems.
	ActionPoliceRequest ActionType = "police-request"
)

// ActionTypes returns every action type, in a stable order.
func ActionTypes() []ActionType {
	return []ActionType{ActionBlock, ActionFlowSpec, ActionRTBH, ActionSinkhole,
		ActionAbuseReport, ActionReidentify, ActionPoliceRequest}
}

// ParseActionType checks an action type name.
func ParseActionType(s string) (ActionType, error) {
	if t := ActionType(s); slices.Contains(ActionTypes(), t) {
		return t, nil
	}
	return "", fmt.Errorf("unknown action type %q (types: block, flowspec, rtbh, sinkhole, abuse-report, reidentify, police-request)", s)
}

// UnmarshalText reads an action type, refusing unknown names.
func (t *ActionType) UnmarshalText(b []byte) error {
	v, err := ParseActionType(string(b))
	if err == nil {
		*t = v
	}
	return err
}

// PortRange is an inclusive range of transport ports.
type PortRange struct {
	From uint16 `json:"from"`
	To   uint16 `json:"to"`
}

// Scope narrows an action. Which fields an action type takes is
// documented on its constant; the zero value of a field means "not
// narrowed" (all protocols, all ports, drop rather than rate-limit).
type Scope struct {
	Destination Target               `json:"destination,omitzero"` // flowspec: destination prefix
	Protocol    uint8                `json:"protocol,omitempty"`   // IP protocol number (6 TCP, 17 UDP); 0 any
	Ports       []PortRange          `json:"ports,omitempty"`      // destination ports; needs protocol 6, 17 or 132
	RateBps     uint64               `json:"rate_bps,omitempty"`   // flowspec: rate limit in bytes per second; 0 drops
	Subdomains  bool                 `json:"subdomains,omitempty"` // sinkhole: the domain's subdomains too
	Pseudonyms  []minimize.Pseudonym `json:"pseudonyms,omitempty"` // reidentify: the pseudonyms to lift
	Recipient   string               `json:"recipient,omitempty"`  // abuse-report: e-mail; police-request: channel
}

// Action is one requested measure: its type, what it is aimed at, how
// far it goes and when it may run. Nothing is open-ended: every action
// has a window [NotBefore, NotAfter) no longer than the policy allows.
// Params carries enforcer-specific settings (e.g. a comment, a table
// name); they are approved and signed like the rest.
type Action struct {
	Type      ActionType        `json:"type"`
	Target    Target            `json:"target"`
	Scope     Scope             `json:"scope"`
	NotBefore time.Time         `json:"not_before"`
	NotAfter  time.Time         `json:"not_after"`
	Params    map[string]string `json:"params,omitempty"`
}

// Clone returns a deep copy of a.
func (a Action) Clone() Action {
	a.Scope.Ports = slices.Clone(a.Scope.Ports)
	a.Scope.Pseudonyms = slices.Clone(a.Scope.Pseudonyms)
	a.Params = maps.Clone(a.Params)
	return a
}

// Validate checks a under policy p: the window, the target's kind for
// the type, the scope fields the type takes, and for rtbh that the host
// route lies in an owned prefix. Errors name the action and the field.
func (a Action) Validate(p *Policy) error {
	if err := a.validate(p); err != nil {
		return fmt.Errorf("action %s %s: %w", a.Type, a.Target, err)
	}
	return nil
}

func (a Action) validate(p *Policy) error {
	if _, err := ParseActionType(string(a.Type)); err != nil {
		return err
	}
	if a.Target.IsZero() {
		return errors.New("no target")
	}
	if err := a.validateWindow(p); err != nil {
		return err
	}
	if err := a.validateTarget(p); err != nil {
		return err
	}
	if err := a.validateScope(); err != nil {
		return err
	}
	for k := range a.Params {
		if k == "" {
			return errors.New("params: empty key")
		}
	}
	return nil
}

func (a Action) validateWindow(p *Policy) error {
	switch {
	case a.NotBefore.IsZero():
		return errors.New("no not_before: every action has a window")
	case a.NotAfter.IsZero():
		return errors.New("no not_after: nothing is open-ended")
	case !a.NotAfter.After(a.NotBefore):
		return fmt.Errorf("not_after %s is not after not_before %s", fmtTime(a.NotAfter), fmtTime(a.NotBefore))
	case a.NotAfter.Sub(a.NotBefore) > p.MaxWindow:
		return fmt.Errorf("window %s is longer than the policy maximum %s", a.NotAfter.Sub(a.NotBefore), p.MaxWindow)
	}
	return nil
}

func (a Action) validateTarget(p *Policy) error {
	k := a.Target.Kind()
	switch a.Type {
	case ActionSinkhole:
		if k != KindDomain {
			return fmt.Errorf("sinkhole needs a domain target, not %s %s", k, a.Target)
		}
	case ActionRTBH:
		if k != KindAddress {
			return fmt.Errorf("rtbh needs a host address (a /32 or /128 route), not %s %s", k, a.Target)
		}
		if !p.Owns(a.Target.Prefix()) {
			return fmt.Errorf("rtbh target %s is outside the prefixes the operator owns (policy owned_prefixes)", a.Target)
		}
	case ActionPoliceRequest:
		// Any kind: the evidence package may be about a domain.
	default:
		if k == KindDomain {
			return fmt.Errorf("%s needs an address or prefix target, not domain %s", a.Type, a.Target)
		}
		if a.Type == ActionBlock || a.Type == ActionFlowSpec {
			if err := p.checkWidth(a.Target.Prefix()); err != nil {
				return err
			}
		}
	}
	return nil
}

// allowed lists the scope fields each action type takes.
func allowed(t ActionType) []string {
	switch t {
	case ActionBlock:
		return []string{"protocol", "ports"}
	case ActionFlowSpec:
		return []string{"destination", "protocol", "ports", "rate_bps"}
	case ActionSinkhole:
		return []string{"subdomains"}
	case ActionAbuseReport, ActionPoliceRequest:
		return []string{"recipient"}
	case ActionReidentify:
		return []string{"pseudonyms"}
	}
	return nil
}

func (a Action) validateScope() error {
	s := a.Scope
	set := map[string]bool{
		"destination": !s.Destination.IsZero(), "protocol": s.Protocol != 0, "ports": len(s.Ports) > 0,
		"rate_bps": s.RateBps != 0, "subdomains": s.Subdomains, "pseudonyms": len(s.Pseudonyms) > 0,
		"recipient": s.Recipient != "",
	}
	for _, f := range slices.Sorted(maps.Keys(set)) {
		if set[f] && !slices.Contains(allowed(a.Type), f) {
			return fmt.Errorf("scope.%s is not allowed for %s", f, a.Type)
		}
	}
	if !s.Destination.IsZero() && s.Destination.Kind() == KindDomain {
		return fmt.Errorf("scope.destination %s must be an address or prefix", s.Destination)
	}
	if len(s.Ports) > 0 && s.Protocol != 6 && s.Protocol != 17 && s.Protocol != 132 {
		return fmt.Errorf("scope.ports needs scope.protocol 6 (TCP), 17 (UDP) or 132 (SCTP), not %d", s.Protocol)
	}
	for _, r := range s.Ports {
		if r.From == 0 || r.To < r.From {
			return fmt.Errorf("scope.ports: invalid range %d-%d", r.From, r.To)
		}
	}
	switch a.Type {
	case ActionReidentify:
		return a.validatePseudonyms()
	case ActionPoliceRequest:
		if s.Recipient == "" {
			return errors.New("police-request needs scope.recipient (the authorized channel)")
		}
	case ActionAbuseReport:
		if s.Recipient != "" {
			if _, err := mail.ParseAddress(s.Recipient); err != nil {
				return fmt.Errorf("scope.recipient %q is not an e-mail address", s.Recipient)
			}
		}
	}
	return nil
}

func (a Action) validatePseudonyms() error {
	if len(a.Scope.Pseudonyms) == 0 {
		return errors.New("reidentify needs scope.pseudonyms (the pseudonyms to lift)")
	}
	for _, ps := range a.Scope.Pseudonyms {
		if !ps.Addr.IsValid() || !a.Target.Prefix().Contains(ps.Addr.Unmap()) {
			return fmt.Errorf("scope.pseudonyms: %s is not inside the target %s", ps.Addr, a.Target)
		}
	}
	return nil
}

// fmtTime writes t as the payload does: RFC 3339 in UTC.
func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
