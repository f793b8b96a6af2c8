package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/notify"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/enforce"
)

// ErrDisabled: the user is disabled and may not act (a disabled
// commissioner's decisions are refused).
var ErrDisabled = errors.New("store: user disabled")

// systemActor is who acts when the store acts on its own (the review timer).
const systemActor = "system"

// keyring adapts the store's signing keys to cases.Keyring.
type keyring struct{ db *DB }

// Keyring returns the commissioners' signing keys as a cases.Keyring,
// for the gate: a key's owner, public half and revocation time.
func (db *DB) Keyring() cases.Keyring { return keyring{db} }

// Key implements cases.Keyring.
func (k keyring) Key(keyID string) (string, ed25519.PublicKey, *time.Time, error) {
	sk, err := k.db.SigningKey(context.Background(), keyID)
	if err != nil {
		return "", nil, nil, err
	}
	return sk.User, sk.Public, sk.RevokedAt, nil
}

// txKey carries the write transaction in a context, for TxAudit.
type txKey struct{}

// TxAudit appends an audit entry: inside the write transaction the
// context carries (the store passes it to the enforcement side so that a
// refusal or execution commits with the case), else in its own. It is
// the enforce.AuditFunc of the store.
func (db *DB) TxAudit(ctx context.Context, action, object string, data map[string]any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	e := audit.Entry{Action: action, Object: object, Data: b}
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		_, err := db.AuditTx(ctx, tx, e)
		return err
	}
	return db.Audit(ctx, e)
}

// Cases keeps cases, their approvals and evidence in the store, and runs
// their actions through the enforcement side. Every change and its audit
// entry are written in one transaction. It implements cases.Service.
type Cases struct {
	db     *DB
	gk     enforce.Gatekeeper
	policy cases.Policy
	now    func() time.Time
	notify func(notify.Event)
}

// OnEvent has f told, after the commit, of what people must learn at
// once: an emergency activation (the commission reviews), a rollback, an
// action judged ineffective (the analysts). Set it before use.
func (s *Cases) OnEvent(f func(notify.Event)) { s.notify = f }

// tell calls the OnEvent function, if any.
func (s *Cases) tell(event string, c cases.Case, by, reason, audience string) {
	if s.notify == nil {
		return
	}
	s.notify(notify.Event{Event: event, Case: c.ID, State: string(c.State), Target: c.Target.String(), At: s.now().UTC(),
		By: by, ReviewBy: c.Flags.ReviewBy, Reason: reason, Audience: audience})
}

var _ cases.Service = (*Cases)(nil)

// NewCases returns the cases of db, executed through gk under policy,
// with now as the clock (time.Now when nil). gk's gate should use
// db.Keyring() and the same policy; when gk.Audit is nil the store's
// (TxAudit) is used, so refusals and executions commit with the case.
func NewCases(db *DB, gk *enforce.Gatekeeper, policy cases.Policy, now func() time.Time) (*Cases, error) {
	if db == nil || gk == nil || gk.Gate == nil {
		return nil, errors.New("store: cases need a store and a gatekeeper with a gate")
	}
	if err := policy.Validate(); err != nil {
		return nil, fmt.Errorf("cases policy: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	g := *gk
	if g.Audit == nil {
		g.Audit = db.TxAudit
	}
	return &Cases{db: db, gk: g, policy: policy, now: now}, nil
}

// newCaseID returns "case-" and a suffix that sorts by creation time
// (UTC, to the millisecond) and is unique (random).
func newCaseID(at time.Time) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "case-" + at.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:]), nil
}

// CreateCase stores a new draft case (see cases.Service). c supplies the
// requester, target, legal basis, route, urgency and actions; the
// suspects' evidence is frozen and hashed here, and c.Suspects defaults
// to their addresses.
func (s *Cases) CreateCase(ctx context.Context, c cases.Case, suspects []detect.Suspect) (cases.Case, error) {
	if err := ValidUserName(c.Requester); err != nil {
		return cases.Case{}, fmt.Errorf("case requester: %w", err)
	}
	ev, err := cases.FreezeEvidence(suspects)
	if err != nil {
		return cases.Case{}, err
	}
	now := s.now().UTC()
	id, err := newCaseID(now)
	if err != nil {
		return cases.Case{}, fmt.Errorf("case id: %w", err)
	}
	n := cases.New(id, c.Requester, now)
	n.Target, n.LegalBasis, n.Actions = c.Target, c.LegalBasis, slices.Clone(c.Actions)
	n.Suspects = slices.Clone(c.Suspects)
	if len(n.Suspects) == 0 {
		n.Suspects = cases.SuspectAddrs(suspects)
	}
	if c.Route != "" {
		n.Route = c.Route
	}
	if c.Urgency != "" {
		n.Urgency = c.Urgency
	}
	n.EvidenceHash = ev.Hash
	if _, err := cases.Payload(n); err != nil {
		return cases.Case{}, fmt.Errorf("case: %w", err)
	}
	err = s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := s.insert(ctx, tx, n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_evidence (case_id, doc, hash) VALUES (?, ?, ?)`, n.ID, ev.Doc, ev.Hash); err != nil {
			return s.db.wrap("write case evidence to", err)
		}
		return s.audit(ctx, tx, n.Requester, audit.ActionCaseCreate, n, "evidence_hash", ev.Hash, "target", n.Target.String())
	})
	if err != nil {
		return cases.Case{}, err
	}
	return n, nil
}

// Case returns case id with its approvals, evidence and payload.
func (s *Cases) Case(ctx context.Context, id string) (cases.Record, error) {
	var r cases.Record
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		c, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		r.Case = c
		if r.Approvals, err = s.approvals(ctx, tx, id, 0); err != nil {
			return err
		}
		var doc []byte
		err = tx.QueryRowContext(ctx, `SELECT doc FROM case_evidence WHERE case_id = ?`, id).Scan(&doc)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return s.db.wrap("read case evidence from", err)
		}
		if len(doc) > 0 {
			r.Evidence = doc
		}
		r.Payload, err = cases.Payload(c)
		return err
	})
	return r, err
}

// Cases lists the cases f selects, newest first, and how many matched.
func (s *Cases) Cases(ctx context.Context, f cases.Filter) ([]cases.Case, int, error) {
	var (
		where []string
		args  []any
	)
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.Target != "" {
		where, args = append(where, "target = ?"), append(args, f.Target)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	var (
		out   []cases.Case
		total int
	)
	err := s.db.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cases`+cond, args...).Scan(&total); err != nil {
			return s.db.wrap("read cases from", err)
		}
		var err error
		out, err = s.query(ctx, tx, `SELECT doc FROM cases`+cond+` ORDER BY created DESC, id DESC LIMIT ? OFFSET ?`,
			append(args, limit, max(f.Offset, 0))...)
		return err
	})
	return out, total, err
}

// AmendCase changes a draft or requested case (cases.Case.Update). The
// suspects and evidence are frozen at creation and cannot be amended.
func (s *Cases) AmendCase(ctx context.Context, id, by, reason string, edit func(*cases.Case)) (cases.Case, error) {
	return s.change(ctx, id, func(tx *sql.Tx, c *cases.Case) error {
		before := c.Clone()
		if err := c.Update(by, s.now().UTC(), reason, edit); err != nil {
			return err
		}
		if c.EvidenceHash != before.EvidenceHash || !slices.Equal(c.Suspects, before.Suspects) {
			return fmt.Errorf("case %s: the suspects and their evidence are frozen when the case is created; open a new case", id)
		}
		return s.audit(ctx, tx, by, "case.amend", *c, "from_version", before.Version, "reason", reason)
	})
}

// changeable are the events ChangeCase applies, with their audit actions.
var changeable = map[cases.Event]string{
	cases.EventRequest: audit.ActionCaseRequest, cases.EventWithdraw: audit.ActionCaseWithdraw,
	cases.EventRevoke: audit.ActionCaseRevoke, cases.EventClose: audit.ActionCaseClose,
	cases.EventReview: audit.ActionCaseReview, cases.EventEffective: "case.effective",
	cases.EventIneffective: "case.ineffective", cases.EventExpire: audit.ActionCaseExpire,
}

// ChangeCase applies a transition (see cases.Service). A request
// validates the case under the policy; a review needs the quorum's
// approvals of the current version; a revocation or expiry withdraws
// the actions in effect through the enforcement side, in the same
// transaction.
func (s *Cases) ChangeCase(ctx context.Context, id string, ch cases.Change) (cases.Case, error) {
	action, ok := changeable[ch.Event]
	if !ok {
		return cases.Case{}, fmt.Errorf("%w: %q is not a change to make directly (approve and reject: add an approval; activate: execute; emergency: the emergency path; rollback: the review timer)", cases.ErrState, ch.Event)
	}
	if ch.At.IsZero() {
		ch.At = s.now().UTC()
	}
	return s.change(ctx, id, func(tx *sql.Tx, c *cases.Case) error {
		from := c.State
		switch ch.Event {
		case cases.EventRequest:
			if err := c.Validate(&s.policy); err != nil {
				return err
			}
		case cases.EventReview:
			approvals, err := s.approvals(ctx, tx, id, c.Version)
			if err != nil {
				return err
			}
			t, err := s.gk.Gate.Tally(*c, approvals, ch.At)
			if err != nil {
				return err
			}
			if !t.Approved {
				return fmt.Errorf("%w: case %s v%d has %d approvals; the review needs %d", cases.ErrQuorum, id, c.Version, len(t.Approvers), s.policy.Quorum)
			}
		}
		if err := c.Apply(ch); err != nil {
			return err
		}
		if ch.Event == cases.EventRevoke || ch.Event == cases.EventExpire {
			if _, err := s.withdrawAll(ctx, tx, *c, ch.By, string(ch.Event)+": "+ch.Reason); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, ch.By, action, *c, "from", string(from), "reason", ch.Reason)
	})
}

// ActionApprovalRefuse is the audit action of a refused approval.
const ActionApprovalRefuse = "approval.refuse"

// AddApproval verifies and stores a commissioner's signed decision on the
// current version of case id, then tallies (see cases.Service): a
// requested case is approved once the quorum approved, rejected once it
// can no longer; a running emergency is reviewed once the quorum
// approved.
func (s *Cases) AddApproval(ctx context.Context, id string, a cases.Approval) (cases.Case, error) {
	now := s.now().UTC()
	var unchanged bool
	var refused error
	c, err := s.change(ctx, id, func(tx *sql.Tx, c *cases.Case) error {
		if err := s.checkApproval(ctx, *c, a, now); err != nil {
			refused = err
			return err
		}
		doc, err := json.Marshal(a)
		if err != nil {
			return err
		}
		added, err := s.db.execTx(ctx, tx, "approval", `INSERT INTO case_approvals (case_id, version, commissioner, key_id, decision, signed_at, signature, doc, added)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			id, a.Version, a.Commissioner, a.KeyID, string(a.Decision), a.SignedAt.UnixNano(), a.Signature, string(doc), now.UnixMilli())
		if err != nil {
			return err
		}
		if !added {
			unchanged = true // the same decision again (a retry): already on record
			return errUnchanged
		}
		approvals, err := s.approvals(ctx, tx, id, c.Version)
		if err != nil {
			return err
		}
		t, err := s.gk.Gate.Tally(*c, approvals, now)
		if err != nil {
			return err
		}
		from := c.State
		switch {
		case c.State == cases.StateRequested && t.Approved:
			err = c.Apply(cases.Change{Event: cases.EventApprove, By: a.Commissioner, At: now,
				Reason: "approved by " + strings.Join(t.Approvers, ", ")})
		case c.State == cases.StateRequested && t.Rejected:
			err = c.Apply(cases.Change{Event: cases.EventReject, By: a.Commissioner, At: now,
				Reason: fmt.Sprintf("the quorum of %d can no longer be reached: rejected by %s", s.policy.Quorum, strings.Join(t.Rejecters, ", "))})
		case c.Flags.Emergency && !c.Flags.Reviewed && t.Approved && now.Before(c.Flags.ReviewBy):
			err = c.Apply(cases.Change{Event: cases.EventReview, By: a.Commissioner, At: now,
				Reason: "reviewed by " + strings.Join(t.Approvers, ", ")})
			if err == nil {
				err = s.audit(ctx, tx, a.Commissioner, audit.ActionCaseReview, *c, "approvers", t.Approvers)
			}
		}
		if err != nil {
			return err
		}
		action := audit.ActionCaseApprove
		if a.Decision == cases.DecisionReject {
			action = audit.ActionCaseReject
		}
		return s.audit(ctx, tx, a.Commissioner, action, *c, "key_id", a.KeyID, "reason", a.Reason,
			"signed_at", a.SignedAt.UTC(), "from", string(from), "approvers", t.Approvers, "rejecters", t.Rejecters)
	})
	if unchanged {
		r, err := s.Case(ctx, id)
		return r.Case, err
	}
	if refused != nil {
		// The approval was refused (forged, replayed, revoked key,
		// separation of duties...): nothing changed, but the attempt is
		// on record, in its own transaction.
		aerr := s.db.Audit(ctx, audit.Entry{Action: ActionApprovalRefuse, Object: "case:" + id,
			Data: audit.Data("commissioner", a.Commissioner, "key_id", a.KeyID, "version", a.Version,
				"decision", string(a.Decision), "reason", refused.Error())})
		return c, errors.Join(err, aerr)
	}
	return c, err
}

// errUnchanged rolls back a transaction that changes nothing.
var errUnchanged = errors.New("store: unchanged")

// checkApproval refuses what can never count: another version, the
// requester, an unknown key or one of someone else, a disabled
// commissioner, a revoked key, a bad signature, a case not awaiting a
// decision.
func (s *Cases) checkApproval(ctx context.Context, c cases.Case, a cases.Approval, now time.Time) error {
	if a.Case != c.ID || a.Version != c.Version {
		return fmt.Errorf("%w: %s presented for case %s v%d", cases.ErrReplay, a, c.ID, c.Version)
	}
	if a.Commissioner == c.Requester {
		return fmt.Errorf("%w: %s requested case %s and takes no part in its decision", cases.ErrDuties, a.Commissioner, c.ID)
	}
	if c.State != cases.StateRequested && !(c.Flags.Emergency && !c.Flags.Reviewed && !c.Flags.ReviewMissed && c.State.Executable()) {
		return fmt.Errorf("%w: case %s is %s and awaits no decision", cases.ErrState, c.ID, c.State)
	}
	k, err := s.db.SigningKey(ctx, a.KeyID)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %s: unknown key", cases.ErrSignature, a)
	} else if err != nil {
		return err
	}
	if k.User != a.Commissioner {
		return fmt.Errorf("%w: %s: key %s belongs to %s", cases.ErrSignature, a, a.KeyID, k.User)
	}
	u, err := s.db.User(ctx, k.User)
	if err != nil {
		return err
	}
	if u.Disabled {
		return fmt.Errorf("%w: commissioner %s may not decide on case %s", ErrDisabled, u.Name, c.ID)
	}
	if k.RevokedAt != nil && !now.Before(*k.RevokedAt) {
		return fmt.Errorf("%w: %s: key revoked at %s", cases.ErrRevokedKey, a, k.RevokedAt.Format(time.RFC3339))
	}
	if a.SignedAt.After(now.Add(s.policy.ClockSkew)) {
		return fmt.Errorf("%w: %s is dated %s, in the future", cases.ErrSignature, a, a.SignedAt.Format(time.RFC3339))
	}
	p, err := cases.Payload(c)
	if err != nil {
		return err
	}
	return cases.Verify(p, a, k.Public)
}

// change runs fn on case id in a write transaction and saves the case
// when fn returns nil.
func (s *Cases) change(ctx context.Context, id string, fn func(tx *sql.Tx, c *cases.Case) error) (cases.Case, error) {
	var out cases.Case
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		c, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := fn(tx, &c); err != nil {
			return err
		}
		out = c
		return s.save(ctx, tx, c)
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return out, err
}

// audit appends a case entry for actor with the route and version.
func (s *Cases) audit(ctx context.Context, tx *sql.Tx, actor, action string, c cases.Case, kv ...any) error {
	kv = append(kv, audit.DataRoute, string(c.Route), "version", c.Version, "state", string(c.State))
	_, err := s.db.AuditTx(ctx, tx, audit.Entry{Actor: actor, Action: action, Object: "case:" + c.ID, Data: audit.Data(kv...)})
	return err
}

func (s *Cases) insert(ctx context.Context, tx *sql.Tx, c cases.Case) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO cases (id, version, state, target, requester, created, updated, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Version, string(c.State), c.Target.String(), c.Requester, c.Created.UnixMilli(), s.now().UnixMilli(), string(doc))
	return s.db.wrap("write case to", err)
}

func (s *Cases) save(ctx context.Context, tx *sql.Tx, c cases.Case) error {
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE cases SET version = ?, state = ?, target = ?, updated = ?, doc = ? WHERE id = ?`,
		c.Version, string(c.State), c.Target.String(), s.now().UnixMilli(), string(doc), c.ID)
	return s.db.wrap("write case to", err)
}

// querier is a transaction or a pool.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *Cases) load(ctx context.Context, q querier, id string) (cases.Case, error) {
	var doc string
	err := q.QueryRowContext(ctx, `SELECT doc FROM cases WHERE id = ?`, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return cases.Case{}, fmt.Errorf("case %q: %w", id, cases.ErrNotFound)
	} else if err != nil {
		return cases.Case{}, s.db.wrap("read case from", err)
	}
	var c cases.Case
	if err := jsonUnmarshal(doc, &c); err != nil {
		return cases.Case{}, err
	}
	return c, nil
}

// query returns the cases whose documents query (selecting doc) reads.
func (s *Cases) query(ctx context.Context, q querier, query string, args ...any) ([]cases.Case, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.db.wrap("read cases from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []cases.Case
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, s.db.wrap("read cases from", err)
		}
		var c cases.Case
		if err := jsonUnmarshal(doc, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, s.db.wrap("read cases from", rows.Err())
}

// jsonUnmarshal reads a stored case document.
func jsonUnmarshal(doc string, c *cases.Case) error {
	if err := json.Unmarshal([]byte(doc), c); err != nil {
		return fmt.Errorf("store: stored case document: %w", err)
	}
	return nil
}

// approvals returns the approvals of case id (of version v; 0: all),
// oldest first.
func (s *Cases) approvals(ctx context.Context, q querier, id string, v int) ([]cases.Approval, error) {
	rows, err := q.QueryContext(ctx, `SELECT doc FROM case_approvals WHERE case_id = ? AND (? = 0 OR version = ?) ORDER BY id`, id, v, v)
	if err != nil {
		return nil, s.db.wrap("read approvals from", err)
	}
	defer func() { _ = rows.Close() }()
	var out []cases.Approval
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, s.db.wrap("read approvals from", err)
		}
		var a cases.Approval
		if err := json.Unmarshal([]byte(doc), &a); err != nil {
			return nil, fmt.Errorf("store: approval of case %s: %w", id, err)
		}
		out = append(out, a)
	}
	return out, s.db.wrap("read approvals from", rows.Err())
}
