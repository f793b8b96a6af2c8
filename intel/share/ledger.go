package share

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/acd-org/acd/intel/stix"
)

// Direction says whether an object went out to a partner or came in.
type Direction string

// Directions.
const (
	Out Direction = "out"
	In  Direction = "in"
)

// Entry is one line of provenance: partner, object version, direction,
// when, and the decision.
type Entry struct {
	Partner   string    `json:"partner"`
	ObjectID  string    `json:"object_id"`
	Version   time.Time `json:"version"` // the object's modified (zero for SCOs)
	Direction Direction `json:"direction"`
	At        time.Time `json:"at"`
	Allowed   bool      `json:"allowed"`
	Reason    Reason    `json:"reason"`
	// TLP is the object's TLP level as stix.TLP marshals it ("green",
	// "amber+strict"), ""
	// when it has no TLP marking.
	TLP string `json:"tlp,omitempty"`
}

// Query selects ledger entries; zero fields select everything.
type Query struct {
	Partner   string
	ObjectID  string
	Direction Direction
	Since     time.Time // At at or after
	Limit     int       // at most this many, the latest (0: all)
}

func (q *Query) match(e *Entry) bool {
	return (q.Partner == "" || e.Partner == q.Partner) && (q.ObjectID == "" || e.ObjectID == q.ObjectID) &&
		(q.Direction == "" || e.Direction == q.Direction) && (q.Since.IsZero() || !e.At.Before(q.Since))
}

// Ledger records who sent what when. Implementations are safe for
// concurrent use; the lead backs one with the store.
type Ledger interface {
	// Record appends an entry.
	Record(ctx context.Context, e Entry) error
	// LastAllowed returns the latest allowed entry for the partner,
	// object and direction, and whether there is one.
	LastAllowed(ctx context.Context, partner, objectID string, dir Direction) (Entry, bool, error)
	// Entries returns the entries q selects, oldest first.
	Entries(ctx context.Context, q Query) ([]Entry, error)
}

// MemLedger is an in-memory Ledger. The zero MemLedger is ready.
type MemLedger struct {
	mu      sync.Mutex
	entries []Entry             // guarded by mu, in recording order
	allowed map[ledgerKey]Entry // guarded by mu: the latest allowed entry per key
}

type ledgerKey struct {
	partner, object string
	dir             Direction
}

// Record implements Ledger.
func (l *MemLedger) Record(_ context.Context, e Entry) error {
	if e.Partner == "" || e.ObjectID == "" || (e.Direction != In && e.Direction != Out) {
		return fmt.Errorf("unable to record provenance of %q for %q: partner, object and direction (in|out) are required", e.ObjectID, e.Partner)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	if e.Allowed {
		if l.allowed == nil {
			l.allowed = map[ledgerKey]Entry{}
		}
		k := ledgerKey{e.Partner, e.ObjectID, e.Direction}
		if prev, ok := l.allowed[k]; !ok || !e.Version.Before(prev.Version) {
			l.allowed[k] = e
		}
	}
	return nil
}

// LastAllowed implements Ledger.
func (l *MemLedger) LastAllowed(_ context.Context, partner, objectID string, dir Direction) (Entry, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.allowed[ledgerKey{partner, objectID, dir}]
	return e, ok, nil
}

// Entries implements Ledger.
func (l *MemLedger) Entries(_ context.Context, q Query) ([]Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Entry
	for i := range l.entries {
		if q.match(&l.entries[i]) {
			out = append(out, l.entries[i])
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return slices.Clip(out), nil
}

// Gate applies an agreement with memory: it records every decision in
// the ledger, and lets a new version or a revocation of an object
// already sent to the partner pass the confidence and delay rules
// (ReasonUpdateOK, ReasonRevokedOK), so that updates and revocations
// follow what was shared. The TLP, type, pattern, scrub and derived
// rules still apply to every version: a version raised to RED, or one
// naming a domestic address, never leaves.
type Gate struct {
	Agreement Agreement
	Ledger    Ledger
	Domestic  func(netip.Addr) bool // the domestic space (see Agreement.Allow)
}

// Outgoing decides whether o may leave for the partner at now, and
// records the decision.
func (g *Gate) Outgoing(ctx context.Context, o stix.Object, now time.Time) (bool, Reason, error) {
	a := &g.Agreement
	r := a.allow(o, now, g.Domestic)
	if r == ReasonConfidence || r == ReasonDelay {
		_, shared, err := g.Ledger.LastAllowed(ctx, a.Partner, o.ID, Out)
		if err != nil {
			return false, r, fmt.Errorf("unable to look up what was shared with %s: %w", a.Partner, err)
		}
		if shared {
			r = ReasonUpdateOK
			if o.Revoked {
				r = ReasonRevokedOK
			}
		}
	}
	return r.Allowed(), r, g.record(ctx, o, Out, now, r)
}

// Incoming decides whether acd takes o from the partner at now, and
// records the decision.
func (g *Gate) Incoming(ctx context.Context, o stix.Object, now time.Time) (bool, Reason, error) {
	r := g.Agreement.accept(o, now)
	return r.Allowed(), r, g.record(ctx, o, In, now, r)
}

func (g *Gate) record(ctx context.Context, o stix.Object, dir Direction, now time.Time, r Reason) error {
	e := Entry{Partner: g.Agreement.Partner, ObjectID: o.ID, Version: o.Modified.Time, Direction: dir, At: now, Allowed: r.Allowed(), Reason: r}
	if t, err := stix.TLPOf(o); err == nil {
		if b, err := t.MarshalText(); err == nil {
			e.TLP = string(b)
		}
	}
	if err := g.Ledger.Record(ctx, e); err != nil {
		return fmt.Errorf("unable to record %s %s for %s: %w", dir, o.ID, g.Agreement.Partner, err)
	}
	return nil
}
