package cases

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Tally is the count of a case version's decisions.
type Tally struct {
	Approvers []string // distinct commissioners whose latest valid decision is approve, sorted
	Rejecters []string // distinct commissioners whose latest valid decision is reject, sorted
	Eligible  int      // distinct commissioners who may still decide (unrevoked policy keys, not the requester)
	Approved  bool     // len(Approvers) reached the quorum
	Rejected  bool     // the quorum can no longer be reached: Eligible - len(Rejecters) < Quorum
	Ignored   []error  // approvals that do not count, and why (revoked key, key outside the policy)
}

// Tally verifies approvals for case c (its current version) at now and
// counts them: the store calls it to know when a requested case is
// approved or rejected, Check to decide. Each commissioner counts once,
// with their latest decision, however many keys they hold. It refuses
// the whole set (the error wraps ErrReplay, ErrSignature or ErrDuties)
// if one approval is of another case or version, does not verify, or is
// the requester's: those are tampering or misuse, not opinions to
// outvote. Approvals by revoked keys or keys outside the policy's set
// are listed in Ignored (wrapping ErrRevokedKey or ErrQuorum) and not
// counted.
func (g *Gate) Tally(c Case, approvals []Approval, now time.Time) (Tally, error) {
	return g.tally(c, approvals, now)
}

type decided struct {
	user string
	a    Approval
}

func (g *Gate) tally(c Case, approvals []Approval, now time.Time) (Tally, error) {
	payload, err := Payload(c)
	if err != nil {
		return Tally{}, err
	}
	var t Tally
	var valid []decided
	for _, a := range approvals {
		user, counts, err := g.verifyOne(c, payload, a, now)
		if err != nil {
			return Tally{}, err
		}
		if counts != nil {
			t.Ignored = append(t.Ignored, counts)
			continue
		}
		valid = append(valid, decided{user, a})
	}
	// Latest decision per commissioner; at equal times a rejection wins.
	slices.SortStableFunc(valid, func(x, y decided) int {
		return cmp.Or(x.a.SignedAt.Compare(y.a.SignedAt), cmp.Compare(rank(x.a.Decision), rank(y.a.Decision)))
	})
	latest := map[string]Decision{}
	for _, d := range valid {
		latest[d.user] = d.a.Decision
	}
	for u, d := range latest {
		if d == DecisionApprove {
			t.Approvers = append(t.Approvers, u)
		} else {
			t.Rejecters = append(t.Rejecters, u)
		}
	}
	slices.Sort(t.Approvers)
	slices.Sort(t.Rejecters)
	t.Eligible = g.eligible(c, now)
	t.Approved = len(t.Approvers) >= g.policy.Quorum
	t.Rejected = !t.Approved && t.Eligible-len(t.Rejecters) < g.policy.Quorum
	return t, nil
}

func rank(d Decision) int {
	if d == DecisionReject {
		return 1
	}
	return 0
}

// verifyOne checks one approval. A hard error refuses the set; a non-nil
// ignored error means it is genuine but does not count.
func (g *Gate) verifyOne(c Case, payload []byte, a Approval, now time.Time) (user string, ignored, err error) {
	if a.Case != c.ID || a.Version != c.Version {
		return "", nil, fmt.Errorf("%w: %s presented for case %s v%d", ErrReplay, a, c.ID, c.Version)
	}
	if a.Commissioner == c.Requester {
		return "", nil, fmt.Errorf("%w: %s requested case %s and takes no part in its decision", ErrDuties, a.Commissioner, c.ID)
	}
	user, pub, revokedAt, err := g.keys.Key(a.KeyID)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: unknown key: %v", ErrSignature, a, err)
	}
	if user != a.Commissioner {
		return "", nil, fmt.Errorf("%w: %s: key %s belongs to %s", ErrSignature, a, a.KeyID, user)
	}
	if a.SignedAt.After(now.Add(g.policy.ClockSkew)) {
		return "", nil, fmt.Errorf("%w: %s is dated %s, in the future", ErrSignature, a, fmtTime(a.SignedAt))
	}
	if err := Verify(payload, a, pub); err != nil {
		return "", nil, err
	}
	if revokedAt != nil && !now.Before(*revokedAt) {
		return user, fmt.Errorf("%w: %s: key revoked at %s", ErrRevokedKey, a, fmtTime(*revokedAt)), nil
	}
	if !g.policy.isCommissionerKey(a.KeyID) {
		return user, fmt.Errorf("%w: %s: key %s is not one of the policy's commissioner keys", ErrQuorum, a, a.KeyID), nil
	}
	return user, nil, nil
}

// eligible counts the distinct users of the policy's unrevoked keys,
// the requester excepted.
func (g *Gate) eligible(c Case, now time.Time) int {
	users := map[string]bool{}
	for _, k := range g.policy.Commissioners {
		u, _, revokedAt, err := g.keys.Key(k)
		if err != nil || u == c.Requester || (revokedAt != nil && !now.Before(*revokedAt)) {
			continue
		}
		users[u] = true
	}
	return len(users)
}
