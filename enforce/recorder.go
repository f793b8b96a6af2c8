package enforce

import (
	"context"
	"slices"
	"sync"

	"github.com/acd-org/acd/cases"
)

// Call is one request a Recorder received.
type Call struct {
	Op     string // "apply" or "withdraw"
	Case   string
	Action cases.Action
}

// Recorder is an Adapter that records what it is asked and does nothing
// else. It is for tests and demonstrations only: an action applied
// through it is not enforced anywhere. Err, when set, is returned by
// every call (after recording it).
type Recorder struct {
	// Label is the adapter's name ("recorder" when empty).
	Label string
	// Err makes every call fail, for tests.
	Err error

	mu    sync.Mutex
	calls []Call
}

// Name returns the label, or "recorder".
func (r *Recorder) Name() string {
	if r.Label == "" {
		return "recorder"
	}
	return r.Label
}

// Apply records the call.
func (r *Recorder) Apply(_ context.Context, c cases.Case, a cases.Action) error {
	return r.record("apply", c, a)
}

// Withdraw records the call.
func (r *Recorder) Withdraw(_ context.Context, c cases.Case, a cases.Action) error {
	return r.record("withdraw", c, a)
}

func (r *Recorder) record(op string, c cases.Case, a cases.Action) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Op: op, Case: c.ID, Action: a.Clone()})
	return r.Err
}

// Calls returns the calls so far, oldest first.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}
