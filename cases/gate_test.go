package cases

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// gateFixture is an approved case, approvals by alice and bob, and the
// parameters of a Check call that succeeds; each test case breaks one.
type gateFixture struct {
	keys      keyring
	policy    func(*Policy)
	c         Case
	approvals []Approval
	action    Action
	executor  string
	now       time.Time
}

func newFixture(t *testing.T) *gateFixture {
	t.Helper()
	keys := newKeyring()
	keys["k-ann"] = &testKey{user: "ann", priv: seedKey("ann")}
	c := testCase()
	f := &gateFixture{keys: keys, c: c, executor: "oscar", now: t0}
	f.approvals = []Approval{
		approve(t, keys, c, "k-alice", DecisionApprove, t0.Add(-30*time.Minute)),
		approve(t, keys, c, "k-bob", DecisionApprove, t0.Add(-20*time.Minute)),
	}
	f.c.State = StateApproved
	f.action = c.Actions[0].Clone()
	return f
}

func (f *gateFixture) run(t *testing.T) (Grant, error) {
	t.Helper()
	p := testPolicy()
	p.Commissioners = append(p.Commissioners, "k-ann")
	if f.policy != nil {
		f.policy(&p)
	}
	g, err := NewGate(p, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	return g.Check(f.c, f.approvals, f.action, f.executor, f.now)
}

func TestGateRefusals(t *testing.T) {
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	for _, tc := range []struct {
		name    string
		breakIt func(t *testing.T, f *gateFixture)
		want    []error // nil: authorized
		msg     string  // a part of the message
	}{
		{"authorized", func(*testing.T, *gateFixture) {}, nil, ""},
		{"narrower window authorized", func(_ *testing.T, f *gateFixture) {
			f.action.NotBefore, f.action.NotAfter = t0.Add(-time.Minute), t0.Add(time.Hour)
		}, nil, ""},
		{"active case authorized", func(_ *testing.T, f *gateFixture) { f.c.State = StateActive }, nil, ""},
		{"three approvals, one by a revoked key", func(t *testing.T, f *gateFixture) {
			f.approvals = append(f.approvals, approve(t, f.keys, f.c, "k-carol", DecisionApprove, t0.Add(-10*time.Minute)))
			f.keys["k-bob"].revoked = at(-time.Minute)
		}, nil, ""},
		{"key revoked only later", func(_ *testing.T, f *gateFixture) { f.keys["k-bob"].revoked = at(time.Hour) }, nil, ""},

		{"forged signature", func(_ *testing.T, f *gateFixture) {
			f.approvals[1].Signature[7] ^= 0x40
		}, []error{ErrSignature}, "does not verify"},
		{"signature by another key than the one named", func(t *testing.T, f *gateFixture) {
			a := approve(t, f.keys, f.c, "k-carol", DecisionApprove, t0.Add(-time.Minute))
			a.KeyID = "k-dave"
			a.Commissioner = "dave"
			f.approvals[1] = a
		}, []error{ErrSignature}, "does not verify"},
		{"key of someone else", func(t *testing.T, f *gateFixture) {
			f.approvals[1].Commissioner = "carol"
		}, []error{ErrSignature}, "belongs to bob"},
		{"unknown key", func(_ *testing.T, f *gateFixture) { f.approvals[1].KeyID = "k-nobody" }, []error{ErrSignature}, "unknown key"},
		{"decision altered after signing", func(_ *testing.T, f *gateFixture) {
			f.approvals[1].Reason = "added later"
		}, []error{ErrSignature}, "does not verify"},
		{"case altered without a new version", func(_ *testing.T, f *gateFixture) {
			f.c.Actions[1].Target = MustTarget("203.0.113.10")
		}, []error{ErrSignature}, "does not verify"},
		{"signed in the future", func(t *testing.T, f *gateFixture) {
			f.approvals[1] = approve(t, f.keys, f.c, "k-bob", DecisionApprove, t0.Add(time.Hour))
		}, []error{ErrSignature}, "in the future"},
		{"approval of version N replayed on N+1", func(t *testing.T, f *gateFixture) {
			f.c.State = StateRequested
			if err := f.c.Update("ann", t0.Add(-5*time.Minute), "longer", func(c *Case) {
				c.Actions[0].NotAfter = c.Actions[0].NotAfter.Add(time.Hour)
			}); err != nil {
				t.Fatal(err)
			}
			f.c.State = StateApproved
		}, []error{ErrReplay}, "(key k-alice) presented for case case-2026-0001 v2"},
		{"approval of another case", func(t *testing.T, f *gateFixture) {
			other := f.c.Clone()
			other.ID = "case-2026-0002"
			f.approvals[1] = approve(t, f.keys, other, "k-bob", DecisionApprove, t0.Add(-time.Minute))
		}, []error{ErrReplay}, "case-2026-0002"},
		{"k-1 approvals", func(_ *testing.T, f *gateFixture) { f.approvals = f.approvals[:1] }, []error{ErrQuorum}, "1 of 2"},
		{"no approval", func(_ *testing.T, f *gateFixture) { f.approvals = nil }, []error{ErrQuorum}, "0 of 2"},
		{"same commissioner twice", func(t *testing.T, f *gateFixture) {
			f.approvals[1] = approve(t, f.keys, f.c, "k-alice", DecisionApprove, t0.Add(-time.Minute))
		}, []error{ErrQuorum}, "1 of 2"},
		{"same commissioner with two keys", func(t *testing.T, f *gateFixture) {
			f.approvals[1] = approve(t, f.keys, f.c, "k-alice2", DecisionApprove, t0.Add(-time.Minute))
		}, []error{ErrQuorum}, "approvers: alice)"},
		{"approver changed their mind", func(t *testing.T, f *gateFixture) {
			f.approvals = append(f.approvals, approve(t, f.keys, f.c, "k-bob", DecisionReject, t0.Add(-time.Minute)))
		}, []error{ErrQuorum}, "1 of 2"},
		{"signature by a revoked key", func(_ *testing.T, f *gateFixture) { f.keys["k-bob"].revoked = at(-time.Hour) }, []error{ErrRevokedKey, ErrQuorum}, "revoked at"},
		{"key revoked before the action runs", func(_ *testing.T, f *gateFixture) { f.keys["k-bob"].revoked = at(0) }, []error{ErrRevokedKey, ErrQuorum}, "revoked at"},
		{"key outside the policy", func(t *testing.T, f *gateFixture) {
			f.approvals[1] = approve(t, f.keys, f.c, "k-outsider", DecisionApprove, t0.Add(-time.Minute))
		}, []error{ErrQuorum}, "not one of the policy's commissioner keys"},
		{"requester approving", func(t *testing.T, f *gateFixture) {
			f.approvals = append(f.approvals, approve(t, f.keys, f.c, "k-ann", DecisionApprove, t0.Add(-time.Minute)))
		}, []error{ErrDuties}, "ann requested"},
		{"approver executing", func(_ *testing.T, f *gateFixture) { f.executor = "alice" }, []error{ErrDuties}, "alice approved"},
		{"requester executing", func(_ *testing.T, f *gateFixture) { f.executor = "ann" }, []error{ErrDuties}, "ann requested"},
		{"no executor", func(_ *testing.T, f *gateFixture) { f.executor = "" }, []error{ErrDuties}, "no executor"},
		{"widened prefix", func(_ *testing.T, f *gateFixture) { f.action.Target = MustTarget("198.51.100.0/24") }, []error{ErrScope}, "not among them"},
		{"another target", func(_ *testing.T, f *gateFixture) { f.action.Target = MustTarget("198.51.100.8") }, []error{ErrScope}, "198.51.100.8"},
		{"another type", func(_ *testing.T, f *gateFixture) { f.action.Type = ActionFlowSpec }, []error{ErrScope}, "approves no flowspec"},
		{"wider scope: all ports", func(_ *testing.T, f *gateFixture) { f.action.Scope = Scope{} }, []error{ErrScope}, "not among them"},
		{"other parameters", func(_ *testing.T, f *gateFixture) { f.action.Params = map[string]string{"comment": "x"} }, []error{ErrScope}, "not among them"},
		{"scope invalid under the policy", func(_ *testing.T, f *gateFixture) {
			f.action.Scope.RateBps = 1000
		}, []error{ErrScope}, "scope.rate_bps is not allowed for block"},
		{"rtbh outside owned prefixes", func(_ *testing.T, f *gateFixture) {
			f.action = f.c.Actions[1].Clone()
			f.policy = func(p *Policy) { p.OwnedPrefixes = nil }
		}, []error{ErrScope}, "outside the prefixes the operator owns"},
		{"longer window", func(_ *testing.T, f *gateFixture) { f.action.NotAfter = f.action.NotAfter.Add(time.Hour) }, []error{ErrWindow}, "not inside the approved"},
		{"earlier start", func(_ *testing.T, f *gateFixture) { f.action.NotBefore = f.action.NotBefore.Add(-time.Second) }, []error{ErrWindow}, "not inside the approved"},
		{"window longer than the policy now allows", func(_ *testing.T, f *gateFixture) {
			f.policy = func(p *Policy) { p.MaxWindow = time.Hour }
		}, []error{ErrWindow}, "longer than the policy maximum"},
		{"before the window", func(_ *testing.T, f *gateFixture) { f.now = f.action.NotBefore.Add(-time.Second) }, []error{ErrWindow}, "outside the window"},
		{"expired window", func(_ *testing.T, f *gateFixture) { f.now = f.action.NotAfter }, []error{ErrWindow}, "outside the window"},
		{"requested case with quorum", func(_ *testing.T, f *gateFixture) { f.c.State = StateRequested }, []error{ErrState}, "approve it first"},
		{"draft case", func(_ *testing.T, f *gateFixture) { f.c.State = StateDraft }, []error{ErrState}, "is draft"},
		{"rejected case", func(_ *testing.T, f *gateFixture) { f.c.State = StateRejected }, []error{ErrState}, "is rejected"},
		{"revoked case", func(_ *testing.T, f *gateFixture) { f.c.State = StateRevoked }, []error{ErrState}, "is revoked"},
		{"expired case", func(_ *testing.T, f *gateFixture) { f.c.State = StateExpired }, []error{ErrState}, "is expired"},
		{"closed case", func(_ *testing.T, f *gateFixture) { f.c.State = StateClosed }, []error{ErrState}, "is closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.breakIt(t, f)
			g, err := f.run(t)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if g.Emergency || len(g.Approvers) < 2 {
					t.Errorf("grant %+v: want a quorum grant", g)
				}
				return
			}
			if err == nil {
				t.Fatalf("authorized, want %v", tc.want)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q is not %v", err, w)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

// TestGateErrorsAreDistinct checks that a refusal wraps its own error
// only (a signature failure is not also a scope failure).
func TestGateErrorsAreDistinct(t *testing.T) {
	f := newFixture(t)
	f.approvals[0].Signature[0] ^= 1
	_, err := f.run(t)
	for _, other := range []error{ErrQuorum, ErrRevokedKey, ErrReplay, ErrScope, ErrWindow, ErrState, ErrDuties} {
		if errors.Is(err, other) {
			t.Errorf("signature error %q also matches %v", err, other)
		}
	}
}

func TestEmergency(t *testing.T) {
	urgent := func(f *gateFixture) {
		f.c.Route = RouteUrgent
		f.c.State = StateRequested
		f.approvals = nil
	}
	activated := func(f *gateFixture) {
		urgent(f)
		if err := f.c.Apply(EmergencyChange(&Policy{EmergencyReview: 24 * time.Hour}, "oscar", t0.Add(-2*time.Hour), "flood ongoing")); err != nil {
			panic(err)
		}
	}
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, f *gateFixture)
		wantErr error
		msg     string
		review  time.Time
	}{
		{"activation by an operator with the right", func(_ *testing.T, f *gateFixture) { urgent(f) }, nil, "", t0.Add(24 * time.Hour)},
		{"running emergency", func(_ *testing.T, f *gateFixture) { activated(f) }, nil, "", t0.Add(22 * time.Hour)},
		{"running emergency with one approval so far", func(t *testing.T, f *gateFixture) {
			activated(f)
			f.approvals = []Approval{approve(t, f.keys, f.c, "k-carol", DecisionApprove, t0.Add(-time.Minute))}
		}, nil, "", t0.Add(22 * time.Hour)},
		{"operator without the right", func(_ *testing.T, f *gateFixture) { urgent(f); f.executor = "olga" }, ErrQuorum, "olga holds no emergency right", time.Time{}},
		{"ordinary route", func(_ *testing.T, f *gateFixture) { urgent(f); f.c.Route = RouteOrdinary }, ErrQuorum, "route is ordinary", time.Time{}},
		{"type not allowed in emergencies", func(_ *testing.T, f *gateFixture) {
			urgent(f)
			f.policy = func(p *Policy) { p.EmergencyActions = []ActionType{ActionRTBH} }
		}, ErrQuorum, "no block in an emergency", time.Time{}},
		{"review overdue", func(_ *testing.T, f *gateFixture) { activated(f); f.now = t0.Add(22 * time.Hour) }, ErrQuorum, "review was due", time.Time{}},
		{"rolled back", func(t *testing.T, f *gateFixture) {
			activated(f)
			if err := f.c.Apply(Change{Event: EventRollback, By: "system", At: t0}); err != nil {
				t.Fatal(err)
			}
		}, ErrState, "is revoked", time.Time{}},
		{"approved case is not an emergency", func(_ *testing.T, f *gateFixture) {
			urgent(f)
			f.c.State = StateApproved
		}, ErrQuorum, "without an emergency activation", time.Time{}},
		{"requester cannot act in an emergency", func(_ *testing.T, f *gateFixture) { urgent(f); f.executor = "ann" }, ErrDuties, "ann requested", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.policy = nil
			tc.setup(t, f)
			g, err := f.run(t)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !g.Emergency || !g.ReviewBy.Equal(tc.review) {
					t.Errorf("grant %+v: want an emergency grant to be reviewed by %s", g, tc.review)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want %v saying %q", err, tc.wantErr, tc.msg)
			}
		})
	}
}

// TestReviewDue walks an emergency through an injected clock: not due
// before the deadline, due from it on, and neither once reviewed nor
// once rolled back.
func TestReviewDue(t *testing.T) {
	p := testPolicy()
	c := testCase()
	c.Route = RouteUrgent
	if _, due := ReviewDue(c, t0.Add(100*time.Hour)); due {
		t.Fatal("due for a case that is no emergency")
	}
	if err := c.Apply(EmergencyChange(&p, "oscar", t0, "flood ongoing")); err != nil {
		t.Fatal(err)
	}
	deadline := t0.Add(p.EmergencyReview)
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{t0, false}, {deadline.Add(-time.Nanosecond), false}, {deadline, true}, {deadline.Add(time.Hour), true},
	} {
		d, due := ReviewDue(c, tc.now)
		if due != tc.want || !d.Equal(deadline) {
			t.Errorf("at %s: due %v deadline %s, want %v %s", tc.now, due, d, tc.want, deadline)
		}
	}
	// Still due when verification moved it to effective.
	if err := c.Apply(Change{Event: EventEffective, By: "verify", At: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, due := ReviewDue(c, deadline); !due {
		t.Error("effective emergency: not due at the deadline")
	}
	reviewed := c.Clone()
	if err := reviewed.Apply(Change{Event: EventReview, By: "commission", At: deadline.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, due := ReviewDue(reviewed, deadline.Add(time.Hour)); due {
		t.Error("reviewed emergency is still due")
	}
	if err := c.Apply(Change{Event: EventRollback, By: "system", At: deadline, Reason: "review missed"}); err != nil {
		t.Fatal(err)
	}
	if c.State != StateRevoked || !c.Flags.ReviewMissed {
		t.Errorf("after rollback: state %s flags %+v, want revoked and flagged", c.State, c.Flags)
	}
	if _, due := ReviewDue(c, deadline.Add(time.Hour)); due {
		t.Error("rolled-back emergency is still due")
	}
}

func TestTally(t *testing.T) {
	keys := newKeyring()
	g := newGate(t, keys)
	c := testCase()
	a := func(k string, d Decision, m int) Approval {
		return approve(t, keys, c, k, d, t0.Add(time.Duration(m)*time.Minute))
	}
	for _, tc := range []struct {
		name      string
		as        []Approval
		approvers []string
		rejecters []string
		approved  bool
		rejected  bool
	}{
		{"none", nil, nil, nil, false, false},
		{"one", []Approval{a("k-alice", DecisionApprove, -5)}, []string{"alice"}, nil, false, false},
		{"quorum", []Approval{a("k-alice", DecisionApprove, -5), a("k-carol", DecisionApprove, -4)}, []string{"alice", "carol"}, nil, true, false},
		// 4 eligible commissioners, quorum 2: 3 rejections make it unreachable.
		{"two rejections leave it reachable", []Approval{a("k-alice", DecisionReject, -5), a("k-bob", DecisionReject, -4)},
			nil, []string{"alice", "bob"}, false, false},
		{"three rejections", []Approval{a("k-alice", DecisionReject, -5), a("k-bob", DecisionReject, -4), a("k-dave", DecisionReject, -3)},
			nil, []string{"alice", "bob", "dave"}, false, true},
		{"latest decision counts", []Approval{a("k-alice", DecisionReject, -5), a("k-alice2", DecisionApprove, -1), a("k-bob", DecisionApprove, -2)},
			[]string{"alice", "bob"}, nil, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := g.Tally(c, tc.as, t0)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Approvers, ",") != strings.Join(tc.approvers, ",") ||
				strings.Join(got.Rejecters, ",") != strings.Join(tc.rejecters, ",") ||
				got.Approved != tc.approved || got.Rejected != tc.rejected || got.Eligible != 4 {
				t.Errorf("got %+v, want approvers %v rejecters %v approved %v rejected %v eligible 4",
					got, tc.approvers, tc.rejecters, tc.approved, tc.rejected)
			}
		})
	}
}

func TestNewGateRefuses(t *testing.T) {
	p := testPolicy()
	p.Quorum = 6
	if _, err := NewGate(p, newKeyring()); err == nil {
		t.Error("quorum above n accepted")
	}
	if _, err := NewGate(DefaultPolicy(), newKeyring()); err == nil {
		t.Error("policy without commissioners accepted")
	}
	if _, err := NewGate(testPolicy(), nil); err == nil {
		t.Error("nil keyring accepted")
	}
}
