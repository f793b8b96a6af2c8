// Package reidentify carries out reidentify actions: it lifts the
// pseudonyms an approved case names through the screening stage's one
// door back to addresses (minimize.Screen.Reidentify, which checks the
// authorization again with its own Verifier and audits every attempt),
// and hands the addresses to Results, which keeps them for the case's
// analysts while the action is in effect. Withdrawing the action — at
// the end of its window, on revocation — erases them.
package reidentify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/minimize"
)

// Screen is the screening stage's re-identification door
// (*minimize.Screen implements it).
type Screen interface {
	Reidentify(ctx context.Context, actor string, auth minimize.Authorization, p minimize.Pseudonym) (netip.Addr, error)
}

// Result is one lifted pseudonym.
type Result struct {
	Action    int                `json:"action"`
	Pseudonym minimize.Pseudonym `json:"pseudonym"`
	Addr      netip.Addr         `json:"addr"`
	At        time.Time          `json:"at"`
}

// Results keeps the lifted addresses of a case's action (the store
// implements it, in the caller's transaction when the context carries
// one).
type Results interface {
	SaveReidentified(ctx context.Context, caseID string, action int, rs []Result) error
	DeleteReidentified(ctx context.Context, caseID string, action int) error
}

// Adapter is the enforce.Adapter for cases.ActionReidentify.
type Adapter struct {
	// Screen lifts pseudonyms; required.
	Screen Screen
	// Results keeps what was lifted; required.
	Results Results
	// Dossiers gives the approvals that go into the authorization's
	// proof; required.
	Dossiers enforce.DossierSource
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Name names the adapter for the audit log.
func (a *Adapter) Name() string { return "reidentify" }

// ErrPartial is wrapped when some pseudonyms of an action could not be
// lifted: nothing is kept, the action fails.
var ErrPartial = errors.New("reidentify: not every pseudonym could be lifted")

// Apply lifts every pseudonym of action act of case c and keeps the
// addresses. Each attempt is audited by the screening stage; if one is
// refused, nothing is kept and the action fails (all or nothing).
func (a *Adapter) Apply(ctx context.Context, c cases.Case, act cases.Action) error {
	if act.Type != cases.ActionReidentify {
		return fmt.Errorf("reidentify: cannot carry out a %s action", act.Type)
	}
	if a.Screen == nil || a.Results == nil || a.Dossiers == nil {
		return errors.New("reidentify: the adapter needs the screening stage, a result store and the dossiers")
	}
	i := IndexOf(c, act)
	if i < 0 {
		return fmt.Errorf("reidentify: case %s has no such action", c.ID)
	}
	d, err := a.Dossiers.Dossier(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("reidentify: case %s: %w", c.ID, err)
	}
	proof, err := json.Marshal(d.Approvals)
	if err != nil {
		return fmt.Errorf("reidentify: case %s: %w", c.ID, err)
	}
	auth := minimize.Authorization{CaseID: c.ID, Pseudonyms: slices.Clone(act.Scope.Pseudonyms), NotAfter: act.NotAfter, Proof: proof}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	rs := make([]Result, 0, len(act.Scope.Pseudonyms))
	var errs []error
	for _, p := range act.Scope.Pseudonyms {
		addr, err := a.Screen.Reidentify(ctx, "case:"+c.ID, auth, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		rs = append(rs, Result{Action: i, Pseudonym: p, Addr: addr, At: now().UTC()})
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w (case %s): %w", ErrPartial, c.ID, err)
	}
	return a.Results.SaveReidentified(ctx, c.ID, i, rs)
}

// Withdraw erases the addresses lifted for the action: the
// authorization to know them has ended.
func (a *Adapter) Withdraw(ctx context.Context, c cases.Case, act cases.Action) error {
	if a.Results == nil {
		return errors.New("reidentify: the adapter needs a result store")
	}
	i := IndexOf(c, act)
	if i < 0 {
		return nil
	}
	return a.Results.DeleteReidentified(ctx, c.ID, i)
}

// IndexOf returns the index of act among c's actions (the first equal
// one), or -1.
func IndexOf(c cases.Case, act cases.Action) int {
	return slices.IndexFunc(c.Actions, func(x cases.Action) bool {
		return x.Type == act.Type && x.Target == act.Target && x.NotBefore.Equal(act.NotBefore) &&
			x.NotAfter.Equal(act.NotAfter) && slices.Equal(x.Scope.Pseudonyms, act.Scope.Pseudonyms)
	})
}

var _ enforce.Adapter = (*Adapter)(nil)
