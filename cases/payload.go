package cases

import (
	"fmt"

	"github.com/acd-org/acd/cases/jcs"
)

// payload is exactly what a commissioner approves. Its canonical JSON
// (RFC 8785) is documented in README.md; changing a field or its JSON
// name changes every signature, so it is versioned by Purpose.
type payload struct {
	Case         string          `json:"case"`
	Version      int             `json:"version"`
	Target       string          `json:"target"`
	Suspects     []string        `json:"suspects"`
	EvidenceHash string          `json:"evidence_hash"`
	LegalBasis   string          `json:"legal_basis"`
	Route        Route           `json:"route"`
	Urgency      Urgency         `json:"urgency"`
	Requester    string          `json:"requester"`
	Actions      []payloadAction `json:"actions"`
}

type payloadAction struct {
	Type      ActionType        `json:"type"`
	Target    string            `json:"target"`
	Scope     Scope             `json:"scope"`
	NotBefore string            `json:"not_before"` // RFC 3339, UTC
	NotAfter  string            `json:"not_after"`  // RFC 3339, UTC
	Params    map[string]string `json:"params"`
}

// Purpose separates acd's approval signatures from any other use of a
// commissioner's key; it is part of every signed message.
const Purpose = "acd case approval v1"

func actionPayload(a Action) payloadAction {
	pa := payloadAction{Type: a.Type, Target: a.Target.String(), Scope: a.Scope,
		NotBefore: fmtTime(a.NotBefore), NotAfter: fmtTime(a.NotAfter), Params: a.Params}
	if pa.Params == nil {
		pa.Params = map[string]string{}
	}
	return pa
}

// Payload returns the canonical JSON (RFC 8785) of what approving c
// means: its id and version, target, suspects, evidence hash, legal
// basis, route, urgency, requester, and each action with its type,
// target, scope, window (RFC 3339 in UTC) and parameters. Two cases with
// the same payload are the same request; approvals bind to it.
func Payload(c Case) ([]byte, error) {
	p := payload{Case: c.ID, Version: c.Version, Target: c.Target.String(), Suspects: c.Suspects,
		EvidenceHash: c.EvidenceHash, LegalBasis: c.LegalBasis, Route: c.Route, Urgency: c.Urgency,
		Requester: c.Requester, Actions: make([]payloadAction, 0, len(c.Actions))}
	if p.Suspects == nil {
		p.Suspects = []string{}
	}
	for _, a := range c.Actions {
		p.Actions = append(p.Actions, actionPayload(a))
	}
	b, err := jcs.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("unable to build the approval payload of case %s: %w", c.ID, err)
	}
	return b, nil
}

// actionKey returns the canonical JSON of an action without its window:
// two actions with the same key do the same thing to the same target.
func actionKey(a Action) (string, error) {
	pa := actionPayload(a)
	pa.NotBefore, pa.NotAfter = "", ""
	b, err := jcs.Marshal(pa)
	return string(b), err
}
