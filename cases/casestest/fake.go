// Package casestest provides an in-memory cases.Service for the tests of
// the API and the CLI: the real state machine, payloads and signature
// checks, a quorum of one, no store.
package casestest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/detect"
)

// Fake is an in-memory cases.Service with the real state machine,
// payloads and signature checks, a quorum of one and no store. err, when
// set, is returned by every call (to test the error mapping).
type Fake struct {
	mu        sync.Mutex
	cases     map[string]cases.Case
	approvals map[string][]cases.Approval
	evidence  map[string][]byte
	keys      map[string]ed25519.PublicKey // key id → key
	next      int
	// Err, when set, is returned by every call (to test error mappings).
	Err error
	// Calls lists each call, method and arguments, for assertions.
	Calls []string
}

// New returns an empty Fake.
func New() *Fake {
	return &Fake{cases: map[string]cases.Case{}, approvals: map[string][]cases.Approval{},
		evidence: map[string][]byte{}, keys: map[string]ed25519.PublicKey{}}
}

var _ cases.Service = (*Fake)(nil)

func (f *Fake) record(format string, args ...any) error {
	f.Calls = append(f.Calls, fmt.Sprintf(format, args...))
	return f.Err
}

// Put stores a case as it is (for tests that need a given state).
func (f *Fake) Put(c cases.Case) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cases[c.ID] = c
}

func (f *Fake) CreateCase(_ context.Context, c cases.Case, suspects []detect.Suspect) (cases.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("create %s by %s (%d suspects)", c.Target, c.Requester, len(suspects)); err != nil {
		return cases.Case{}, err
	}
	ev, err := cases.FreezeEvidence(suspects)
	if err != nil {
		return cases.Case{}, err
	}
	f.next++
	n := cases.New(fmt.Sprintf("c-%d", f.next), c.Requester, time.Now().UTC())
	n.Target, n.Suspects, n.LegalBasis, n.Route, n.Urgency, n.Actions = c.Target, c.Suspects, c.LegalBasis, c.Route, c.Urgency, c.Actions
	n.EvidenceHash = ev.Hash
	f.cases[n.ID], f.evidence[n.ID] = n, ev.Doc
	return n, nil
}

func (f *Fake) Case(_ context.Context, id string) (cases.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("case %s", id); err != nil {
		return cases.Record{}, err
	}
	c, ok := f.cases[id]
	if !ok {
		return cases.Record{}, fmt.Errorf("case %s: %w", id, cases.ErrNotFound)
	}
	p, err := cases.Payload(c)
	if err != nil {
		return cases.Record{}, err
	}
	ev := f.evidence[id]
	if ev == nil {
		ev = []byte(`{"suspects":[]}`)
	}
	return cases.Record{Case: c.Clone(), Approvals: slices.Clone(f.approvals[id]), Evidence: ev, Payload: p}, nil
}

func (f *Fake) Cases(_ context.Context, flt cases.Filter) ([]cases.Case, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("cases state=%s target=%s limit=%d offset=%d", flt.State, flt.Target, flt.Limit, flt.Offset); err != nil {
		return nil, 0, err
	}
	var out []cases.Case
	for _, c := range f.cases {
		if (flt.State == "" || c.State == flt.State) && (flt.Target == "" || c.Target.String() == flt.Target) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b cases.Case) int { return b.Created.Compare(a.Created) })
	total := len(out)
	out = out[min(flt.Offset, len(out)):]
	if flt.Limit > 0 && len(out) > flt.Limit {
		out = out[:flt.Limit]
	}
	return out, total, nil
}

// get returns a case or ErrNotFound; f.mu is held.
func (f *Fake) get(id string) (cases.Case, error) {
	c, ok := f.cases[id]
	if !ok {
		return c, fmt.Errorf("case %s: %w", id, cases.ErrNotFound)
	}
	return c, nil
}

func (f *Fake) AmendCase(_ context.Context, id, by, reason string, edit func(*cases.Case)) (cases.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("amend %s by %s: %s", id, by, reason); err != nil {
		return cases.Case{}, err
	}
	c, err := f.get(id)
	if err != nil {
		return c, err
	}
	if err := c.Update(by, time.Now().UTC(), reason, edit); err != nil {
		return cases.Case{}, err
	}
	f.cases[id] = c
	return c, nil
}

func (f *Fake) ChangeCase(_ context.Context, id string, ch cases.Change) (cases.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("%s %s by %s: %s", ch.Event, id, ch.By, ch.Reason); err != nil {
		return cases.Case{}, err
	}
	c, err := f.get(id)
	if err != nil {
		return c, err
	}
	if err := c.Apply(ch); err != nil {
		return cases.Case{}, err
	}
	f.cases[id] = c
	return c, nil
}

func (f *Fake) AddApproval(_ context.Context, id string, a cases.Approval) (cases.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("approval %s by %s: %s", id, a.Commissioner, a.Decision); err != nil {
		return cases.Case{}, err
	}
	c, err := f.get(id)
	if err != nil {
		return c, err
	}
	if a.Commissioner == c.Requester {
		return cases.Case{}, fmt.Errorf("%w: %s requested case %s and cannot decide on it", cases.ErrDuties, a.Commissioner, id)
	}
	pub, ok := f.keys[a.KeyID]
	if !ok {
		return cases.Case{}, fmt.Errorf("%w: unknown key %s", cases.ErrSignature, a.KeyID)
	}
	p, err := cases.Payload(c)
	if err != nil {
		return cases.Case{}, err
	}
	if err := cases.Verify(p, a, pub); err != nil {
		return cases.Case{}, err
	}
	ev := cases.EventApprove
	if a.Decision == cases.DecisionReject {
		ev = cases.EventReject
	}
	if err := c.Apply(cases.Change{Event: ev, By: a.Commissioner, At: time.Now().UTC(), Reason: a.Reason}); err != nil {
		return cases.Case{}, err
	}
	f.approvals[id] = append(f.approvals[id], a)
	f.cases[id] = c
	return c, nil
}

func (f *Fake) Execute(_ context.Context, id string, i int, executor string, now time.Time) (cases.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("execute %s[%d] by %s", id, i, executor); err != nil {
		return cases.Case{}, err
	}
	c, err := f.get(id)
	if err != nil {
		return c, err
	}
	if i >= len(c.Actions) {
		return cases.Case{}, fmt.Errorf("%w: case %s has no action %d", cases.ErrScope, id, i)
	}
	for _, a := range f.approvals[id] {
		if a.Commissioner == executor {
			return cases.Case{}, fmt.Errorf("%w: %s approved case %s", cases.ErrDuties, executor, id)
		}
	}
	if c.State == cases.StateApproved {
		if err := c.Apply(cases.Change{Event: cases.EventActivate, By: executor, At: now}); err != nil {
			return cases.Case{}, err
		}
	} else if !c.State.Executable() {
		return cases.Case{}, fmt.Errorf("%w: case %s is %s", cases.ErrState, id, c.State)
	}
	f.cases[id] = c
	return c, nil
}

func (f *Fake) Emergency(_ context.Context, id string, i int, operator, reason string, now time.Time) (cases.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("emergency %s[%d] by %s: %s", id, i, operator, reason); err != nil {
		return cases.Case{}, err
	}
	c, err := f.get(id)
	if err != nil {
		return c, err
	}
	p := cases.DefaultPolicy()
	if err := c.Apply(cases.EmergencyChange(&p, operator, now, reason)); err != nil {
		return cases.Case{}, err
	}
	f.cases[id] = c
	return c, nil
}

// AddKey registers a commissioner's public key under id.
func (f *Fake) AddKey(id string, pub ed25519.PublicKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[id] = pub
}

// Approvals returns the approvals stored for case id.
func (f *Fake) Approvals(id string) []cases.Approval {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cases.Approval(nil), f.approvals[id]...)
}
