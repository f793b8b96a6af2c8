package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/detect"
)

// maxCaseBody bounds a request body on the case endpoints.
const maxCaseBody = 1 << 20

// caseInput is the body of POST /api/v1/cases and PATCH
// /api/v1/cases/{id}: what a case asks for. On PATCH, absent fields are
// left as they are.
type caseInput struct {
	Target     *string        `json:"target"`
	Suspects   []string       `json:"suspects"` // addresses of suspects in the Book (create only)
	LegalBasis *string        `json:"legal_basis"`
	Route      *string        `json:"route"`
	Urgency    *string        `json:"urgency"`
	Actions    []actionInput  `json:"actions"`
	Reason     string         `json:"reason"` // PATCH: why, for the history
	hasActions bool           // actions was given (PATCH)
	raw        map[string]any // the fields given
}

// actionInput is one action as a client writes it.
type actionInput struct {
	Type      string            `json:"type"`
	Target    string            `json:"target"`
	Scope     json.RawMessage   `json:"scope"`
	NotBefore string            `json:"not_before"`
	NotAfter  string            `json:"not_after"`
	Params    map[string]string `json:"params"`
}

// decodeBody reads a JSON object body into v, refusing unknown fields,
// trailing data and bodies over maxCaseBody. An empty body is {} when
// optional. Errors name the field when JSON says which.
func decodeBody(r *http.Request, v any, optional bool) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxCaseBody+1))
	if err != nil {
		return fmt.Errorf("body: unable to read: %w", err)
	}
	if len(data) > maxCaseBody {
		return fmt.Errorf("body: over %d bytes", maxCaseBody)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return errors.New("body: empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return fmt.Errorf("%s: a JSON %s where %s is expected", te.Field, te.Value, te.Type)
		case errors.As(err, &se):
			return fmt.Errorf("body: not JSON: %v (at byte %d)", se, se.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
		}
		return fmt.Errorf("body: %v", err)
	}
	if dec.More() {
		return errors.New("body: data after the JSON object")
	}
	return nil
}

// decodeCaseInput reads a caseInput and remembers which fields were given.
func decodeCaseInput(r *http.Request) (caseInput, error) {
	var in caseInput
	data, err := io.ReadAll(io.LimitReader(r.Body, maxCaseBody+1))
	if err != nil {
		return in, fmt.Errorf("body: unable to read: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	if err := decodeBody(r, &in, false); err != nil {
		return in, err
	}
	if err := json.Unmarshal(data, &in.raw); err != nil {
		return in, fmt.Errorf("body: %v", err)
	}
	_, in.hasActions = in.raw["actions"]
	return in, nil
}

// apply sets the fields given in in on c; errors name the field.
func (in caseInput) apply(c *cases.Case) error {
	var errs []error
	if in.Target != nil {
		t, err := cases.ParseTarget(*in.Target)
		if err != nil {
			errs = append(errs, fmt.Errorf("target: %w", err))
		}
		c.Target = t
	}
	if in.LegalBasis != nil {
		if strings.TrimSpace(*in.LegalBasis) == "" {
			errs = append(errs, errors.New("legal_basis: empty"))
		}
		c.LegalBasis = strings.TrimSpace(*in.LegalBasis)
	}
	if in.Route != nil {
		switch rt := cases.Route(*in.Route); rt {
		case cases.RouteOrdinary, cases.RouteUrgent:
			c.Route = rt
		default:
			errs = append(errs, fmt.Errorf("route: %q is not ordinary or urgent", *in.Route))
		}
	}
	if in.Urgency != nil {
		switch u := cases.Urgency(*in.Urgency); u {
		case cases.UrgencyLow, cases.UrgencyNormal, cases.UrgencyHigh, cases.UrgencyCritical:
			c.Urgency = u
		default:
			errs = append(errs, fmt.Errorf("urgency: %q is not low, normal, high or critical", *in.Urgency))
		}
	}
	if in.hasActions {
		if len(in.Actions) == 0 {
			errs = append(errs, errors.New("actions: none given; a case asks for at least one"))
		}
		c.Actions = make([]cases.Action, 0, len(in.Actions))
		for i, ai := range in.Actions {
			a, err := ai.action()
			if err != nil {
				errs = append(errs, fmt.Errorf("actions[%d].%w", i, err))
			}
			c.Actions = append(c.Actions, a)
		}
	}
	return errors.Join(errs...)
}

// action checks and converts one action; errors name the field.
func (ai actionInput) action() (cases.Action, error) {
	var a cases.Action
	t, err := cases.ParseActionType(ai.Type)
	if err != nil {
		return a, fmt.Errorf("type: %w", err)
	}
	a.Type = t
	if a.Target, err = cases.ParseTarget(ai.Target); err != nil {
		return a, fmt.Errorf("target: %w", err)
	}
	if len(ai.Scope) > 0 && string(ai.Scope) != "null" {
		dec := json.NewDecoder(bytes.NewReader(ai.Scope))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a.Scope); err != nil {
			return a, fmt.Errorf("scope: %v", err)
		}
	}
	if a.NotBefore, err = parseWindowTime("not_before", ai.NotBefore); err != nil {
		return a, err
	}
	if a.NotAfter, err = parseWindowTime("not_after", ai.NotAfter); err != nil {
		return a, err
	}
	if !a.NotAfter.After(a.NotBefore) {
		return a, fmt.Errorf("not_after: %s is not after not_before %s (nothing is open-ended: every action has a window)",
			ai.NotAfter, ai.NotBefore)
	}
	a.Params = ai.Params
	return a, nil
}

func parseWindowTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%s: required (an RFC 3339 time)", name)
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time (2006-01-02T15:04:05Z)", name, v)
	}
	return t.UTC(), nil
}

// resolveSuspects looks the suspects' addresses up in the Book; errors
// name the entry.
func resolveSuspects(b *detect.Book, addrs []string) ([]detect.Suspect, error) {
	if len(addrs) == 0 {
		return nil, errors.New("suspects: none given; a case rests on at least one suspect")
	}
	out := make([]detect.Suspect, 0, len(addrs))
	seen := map[detect.Key]bool{}
	for i, addr := range addrs {
		k, err := detect.ParseKey(addr)
		if err != nil {
			return nil, fmt.Errorf("suspects[%d]: %w", i, err)
		}
		s, found := b.Get(k)
		if !found {
			s, found = latestEpoch(b, k.String())
		}
		if !found {
			return nil, fmt.Errorf("suspects[%d]: no suspect %s (GET /api/v1/suspects lists them)", i, k)
		}
		if seen[s.Key] {
			return nil, fmt.Errorf("suspects[%d]: %s given twice", i, k)
		}
		seen[s.Key] = true
		out = append(out, s)
	}
	return out, nil
}

// changeInput is the body of the transitions (request, withdraw, close,
// revoke, review).
type changeInput struct {
	Reason string `json:"reason"`
}

// actionRun is the body of execute and emergency.
type actionRun struct {
	Action *int   `json:"action"`
	Reason string `json:"reason"` // emergency: required
}
