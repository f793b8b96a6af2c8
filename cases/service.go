package cases

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/acd-org/acd/detect"
)

// ErrNotFound is returned by a Service for an unknown case.
var ErrNotFound = errors.New("no such case")

// Record is a stored case with what it rests on: its approvals (of every
// version, oldest first), the frozen evidence document and the canonical
// payload of its current version (what a commissioner signs).
type Record struct {
	Case      Case            `json:"case"`
	Approvals []Approval      `json:"approvals"`
	Evidence  json.RawMessage `json:"evidence"`
	Payload   json.RawMessage `json:"payload"`
}

// Filter selects cases. Zero fields select everything.
type Filter struct {
	State  State
	Target string // this target, exactly
	Limit  int
	Offset int
}

// Service is what the API and the CLI need of the cases: the store keeps
// them (every change and its audit entry in one transaction) and the gate
// decides. Who may call which method (roles) is the API's business;
// everything else — separation of duties, signatures, quorum, windows,
// states — is checked here and again by the enforcement side.
type Service interface {
	// CreateCase stores a new draft case by requester, with the evidence
	// of the given suspects frozen and hashed (c.EvidenceHash is set from
	// it). The service assigns the id and version 1.
	CreateCase(ctx context.Context, c Case, suspects []detect.Suspect) (Case, error)
	// Case returns one case (ErrNotFound).
	Case(ctx context.Context, id string) (Record, error)
	// Cases lists cases, newest first, and how many matched.
	Cases(ctx context.Context, f Filter) ([]Case, int, error)
	// AmendCase changes a draft or requested case (Case.Update).
	AmendCase(ctx context.Context, id, by, reason string, edit func(*Case)) (Case, error)
	// ChangeCase applies a transition (request, withdraw, revoke, close,
	// review, effective, ineffective, expire). Approve and reject happen
	// through AddApproval, activate through Execute, emergency through
	// Emergency, rollback through the review timer.
	ChangeCase(ctx context.Context, id string, ch Change) (Case, error)
	// AddApproval verifies a commissioner's signed decision on the
	// current version (signature, key, policy set, separation of duties),
	// stores it, tallies, and approves or rejects the case when the
	// quorum is reached or can no longer be.
	AddApproval(ctx context.Context, id string, a Approval) (Case, error)
	// Execute runs action number i of an approved case through the
	// enforcement side, which checks the gate itself; the case becomes
	// active. Refusals are audited and returned (errors.Is with the
	// gate's errors).
	Execute(ctx context.Context, id string, i int, executor string, now time.Time) (Case, error)
	// Emergency lets an operator with the emergency right run action i of
	// an urgent requested case before approval; the review deadline
	// starts.
	Emergency(ctx context.Context, id string, i int, operator, reason string, now time.Time) (Case, error)
}
