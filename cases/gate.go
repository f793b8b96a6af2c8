package cases

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Keyring finds commissioners' public keys. Key returns the user a key
// belongs to, its public half, and when it was revoked (nil if it was
// not); an unknown key is an error.
type Keyring interface {
	Key(keyID string) (user string, pub ed25519.PublicKey, revokedAt *time.Time, err error)
}

// Gate decides, where actions run, whether one may: it verifies the
// approvals itself against the policy and the case, and refuses anything
// else. It holds no mutable state and is safe for concurrent use.
type Gate struct {
	policy Policy
	keys   Keyring
}

// NewGate returns a gate enforcing policy p with the keys of keys.
func NewGate(p Policy, keys Keyring) (*Gate, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(p.Commissioners) < p.Quorum {
		return nil, fmt.Errorf("cases: the policy names %d commissioner keys, fewer than the quorum %d", len(p.Commissioners), p.Quorum)
	}
	if keys == nil {
		return nil, errors.New("cases: a gate needs a keyring")
	}
	return &Gate{policy: p.clone(), keys: keys}, nil
}

// Policy returns a copy of the gate's policy.
func (g *Gate) Policy() Policy { return g.policy.clone() }

// Grant says on what grounds the gate let an action run.
type Grant struct {
	Approvers []string  // the distinct commissioners whose approvals made the quorum
	Emergency bool      // no quorum (yet): an operator with the emergency right acts first
	ReviewBy  time.Time // Emergency: the review deadline (now + policy when not yet activated)
}

// Check verifies, before anything runs, that executor may run action of
// case c at now on the strength of approvals, and says on what grounds.
// The checks, each refusal wrapping its error:
//
//   - the case's state allows execution (ErrState): approved, active,
//     effective, ineffective; an emergency also requested;
//   - the executor is neither the requester nor one of the approvers
//     (ErrDuties);
//   - the action is valid under the policy and is one of the case's
//     actions with the same type, target, scope and parameters (ErrScope),
//     its window inside that action's (ErrWindow), and now inside its
//     window (ErrWindow);
//   - every approval names this case and version (ErrReplay), is signed
//     by a known key whose owner it names over this version's payload
//     and not in the future (ErrSignature), and is not the requester's
//     (ErrDuties);
//   - at least Quorum distinct commissioners, through keys of the
//     policy's set not revoked (ErrRevokedKey), approved, each counted
//     once with their latest decision (ErrQuorum);
//   - or, lacking the quorum, an emergency: an urgent case, an executor
//     with the emergency right, an action type the policy allows in
//     emergencies, and an unreviewed emergency not past its review
//     deadline.
//
// Revocation: a key counts only while not revoked. Once revoked at R,
// from R on none of its approvals count, including those it signed
// before R: signing times are the signer's claim, and a stolen key can
// backdate, so the gate cannot tell an approval made before the
// compromise from one made after. The case then needs fresh approvals.
func (g *Gate) Check(c Case, approvals []Approval, action Action, executor string, now time.Time) (Grant, error) {
	if err := g.checkExecution(c, action, executor, now); err != nil {
		return Grant{}, err
	}
	t, err := g.tally(c, approvals, now)
	if err != nil {
		return Grant{}, err
	}
	if t.Approved {
		if c.State == StateRequested {
			return Grant{}, fmt.Errorf("%w: case %s has its quorum but is still requested; approve it first", ErrState, c.ID)
		}
		if slices.Contains(t.Approvers, executor) {
			return Grant{}, fmt.Errorf("%w: %s approved case %s and may not execute it", ErrDuties, executor, c.ID)
		}
		return Grant{Approvers: t.Approvers}, nil
	}
	quorum := fmt.Errorf("%w: case %s v%d has %d of %d approvals needed (approvers: %s)",
		ErrQuorum, c.ID, c.Version, len(t.Approvers), g.policy.Quorum, list(t.Approvers))
	if why := g.noEmergency(c, action, executor, now); why != "" {
		return Grant{}, errors.Join(append([]error{fmt.Errorf("%w; no emergency: %s", quorum, why)}, t.Ignored...)...)
	}
	if slices.Contains(t.Approvers, executor) {
		return Grant{}, fmt.Errorf("%w: %s approved case %s and may not execute it", ErrDuties, executor, c.ID)
	}
	g2 := Grant{Approvers: t.Approvers, Emergency: true, ReviewBy: c.Flags.ReviewBy}
	if !c.Flags.Emergency {
		g2.ReviewBy = now.Add(g.policy.EmergencyReview)
	}
	return g2, nil
}

// checkExecution runs the checks that need no approval: state, duties,
// scope and window.
func (g *Gate) checkExecution(c Case, action Action, executor string, now time.Time) error {
	if !c.State.Executable() && c.State != StateRequested {
		return fmt.Errorf("%w: case %s is %s; actions run only when it is approved or active", ErrState, c.ID, c.State)
	}
	if executor == "" {
		return fmt.Errorf("%w: no executor named", ErrDuties)
	}
	if executor == c.Requester {
		return fmt.Errorf("%w: %s requested case %s and may not execute it", ErrDuties, executor, c.ID)
	}
	if err := g.matchAction(c, action); err != nil {
		return err
	}
	if now.Before(action.NotBefore) || !now.Before(action.NotAfter) {
		return fmt.Errorf("%w: now (%s) is outside the window of %s %s [%s, %s)", ErrWindow, fmtTime(now),
			action.Type, action.Target, fmtTime(action.NotBefore), fmtTime(action.NotAfter))
	}
	return nil
}

// matchAction finds the case action that action is: the same type,
// target, scope and parameters, and a window inside its window.
func (g *Gate) matchAction(c Case, action Action) error {
	if err := action.validateWindow(&g.policy); err != nil {
		return fmt.Errorf("%w: action %s %s: %v", ErrWindow, action.Type, action.Target, err)
	}
	if err := action.Validate(&g.policy); err != nil {
		return fmt.Errorf("%w: %v", ErrScope, err)
	}
	key, err := actionKey(action)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrScope, err)
	}
	var sameTarget []string
	for _, a := range c.Actions {
		k, err := actionKey(a)
		if err != nil || k != key {
			if a.Type == action.Type {
				sameTarget = append(sameTarget, a.Target.String())
			}
			continue
		}
		if action.NotBefore.Before(a.NotBefore) || action.NotAfter.After(a.NotAfter) {
			return fmt.Errorf("%w: %s %s window [%s, %s) is not inside the approved [%s, %s)", ErrWindow,
				action.Type, action.Target, fmtTime(action.NotBefore), fmtTime(action.NotAfter),
				fmtTime(a.NotBefore), fmtTime(a.NotAfter))
		}
		return nil
	}
	if len(sameTarget) == 0 {
		return fmt.Errorf("%w: case %s v%d approves no %s action", ErrScope, c.ID, c.Version, action.Type)
	}
	return fmt.Errorf("%w: case %s v%d approves %s only as requested (targets %s); %s %s with this scope and parameters is not among them",
		ErrScope, c.ID, c.Version, action.Type, strings.Join(sameTarget, ", "), action.Type, action.Target)
}

// noEmergency says why the emergency path does not apply ("" if it does).
func (g *Gate) noEmergency(c Case, action Action, executor string, now time.Time) string {
	switch {
	case c.Route != RouteUrgent:
		return fmt.Sprintf("the case's route is %s, not urgent", c.Route)
	case !g.policy.hasEmergencyRight(executor):
		return fmt.Sprintf("%s holds no emergency right", executor)
	case !slices.Contains(g.policy.EmergencyActions, action.Type):
		return fmt.Sprintf("the policy allows no %s in an emergency", action.Type)
	case c.Flags.ReviewMissed || c.Flags.Reviewed:
		return "the emergency is over (reviewed or rolled back)"
	case c.State == StateRequested && c.Flags.Emergency:
		return "the case is flagged emergency but not active"
	case c.State != StateRequested && !c.Flags.Emergency:
		return fmt.Sprintf("case is %s without an emergency activation", c.State)
	case c.Flags.Emergency && !now.Before(c.Flags.ReviewBy):
		return fmt.Sprintf("the review was due at %s: roll back", fmtTime(c.Flags.ReviewBy))
	}
	return ""
}

// ReviewDue reports whether the emergency actions of c must be rolled
// back at now, and the deadline: c was activated in an emergency, the
// commission has not reviewed it, its deadline passed, and it still runs
// (active, effective or ineffective). The caller then stops the actions
// and applies EventRollback, which flags the case (Flags.ReviewMissed).
func ReviewDue(c Case, now time.Time) (deadline time.Time, due bool) {
	if !c.Flags.Emergency || c.Flags.Reviewed || c.Flags.ReviewMissed {
		return time.Time{}, false
	}
	running := c.State == StateActive || c.State == StateEffective || c.State == StateIneffective
	return c.Flags.ReviewBy, running && !now.Before(c.Flags.ReviewBy)
}

func list(us []string) string {
	if len(us) == 0 {
		return "none"
	}
	return strings.Join(us, ", ")
}
