package crowdsec

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// ErrUnsupported is returned by Apply for an action CrowdSec cannot carry
// out faithfully: another type than block, or a block narrowed by
// protocol or ports (a CrowdSec ban covers all traffic, so it would go
// further than what was approved).
var ErrUnsupported = errors.New("crowdsec: unsupported action")

// Decisions is the enforce.Adapter for block actions: it keeps the
// desired CrowdSec decisions, one per (case, target), and a per-bouncer
// cursor so that each bouncer's pull returns what changed since its
// previous one. Use NewDecisions; it is safe for concurrent use.
type Decisions struct {
	now func() time.Time

	mu      sync.Mutex
	seq     uint64            // last change number
	nextID  int64             // last decision id
	live    map[key]*entry    // active decisions
	gone    []*entry          // withdrawn or expired, in removal order
	cursors map[string]uint64 // bouncer name → seq of its last pull
}

type key struct{ caseID, target string }

type entry struct {
	d       Decision
	until   time.Time
	added   uint64 // seq when added
	removed uint64 // seq when withdrawn or expired; 0 while active
	goneAt  time.Time
}

// DefaultRetention is how long withdrawn and expired decisions are kept
// to be reported in "deleted" to bouncers that have not pulled since. A
// bouncer whose last pull is older misses those deletions (its own
// timeout on the set element still removes them: acd sends durations).
const DefaultRetention = 24 * time.Hour

// NewDecisions returns an empty decision set reading the time from now
// (time.Now when nil).
func NewDecisions(now func() time.Time) *Decisions {
	if now == nil {
		now = time.Now
	}
	return &Decisions{now: now, live: map[key]*entry{}, cursors: map[string]uint64{}}
}

// Name names the adapter for the audit log.
func (s *Decisions) Name() string { return "crowdsec" }

// Apply makes a block action of case c a ban decision. It is idempotent:
// applying the same action again changes nothing; applying it with
// another end replaces the decision (the old one is announced deleted,
// the new one new, in the same pull).
func (s *Decisions) Apply(_ context.Context, c cases.Case, a cases.Action) error {
	if a.Type != cases.ActionBlock {
		return fmt.Errorf("%w: %s (only block) in case %s", ErrUnsupported, a.Type, c.ID)
	}
	if a.Scope.Protocol != 0 || len(a.Scope.Ports) > 0 {
		return fmt.Errorf("%w: block %s of case %s is narrowed by protocol or ports, which a CrowdSec ban cannot express", ErrUnsupported, a.Target, c.ID)
	}
	scope, value, err := scopeValue(a.Target)
	if err != nil {
		return fmt.Errorf("crowdsec: case %s: %w", c.ID, err)
	}
	if c.ID == "" {
		return errors.New("crowdsec: a case without an id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	if !a.NotAfter.After(now) {
		return fmt.Errorf("crowdsec: block %s of case %s ended at %s", a.Target, c.ID, a.NotAfter.UTC().Format(time.RFC3339))
	}
	k := key{c.ID, a.Target.String()}
	if e := s.live[k]; e != nil {
		if e.until.Equal(a.NotAfter) {
			return nil
		}
		s.remove(k, e, now)
	}
	s.seq++
	s.nextID++
	s.live[k] = &entry{
		d: Decision{ID: s.nextID, Origin: Origin, Type: TypeBan, Scope: scope, Value: value,
			Scenario: Scenario(c.ID), Until: a.NotAfter.UTC().Format(time.RFC3339)},
		until: a.NotAfter, added: s.seq,
	}
	return nil
}

// Withdraw removes the decision of a block action of case c; withdrawing
// one that is not there (or has expired) is not an error.
func (s *Decisions) Withdraw(_ context.Context, c cases.Case, a cases.Action) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	k := key{c.ID, a.Target.String()}
	if e := s.live[k]; e != nil {
		s.remove(k, e, now)
	}
	return nil
}

// remove moves e to the gone list with a new change number.
func (s *Decisions) remove(k key, e *entry, now time.Time) {
	s.seq++
	e.removed, e.goneAt = s.seq, now
	delete(s.live, k)
	s.gone = append(s.gone, e)
}

// expire removes the decisions whose end has come and forgets gone
// entries older than the retention.
func (s *Decisions) expire(now time.Time) {
	var ended []key
	for k, e := range s.live {
		if !e.until.After(now) {
			ended = append(ended, k)
		}
	}
	// Stable ids order, so change numbers do not depend on map order.
	slices.SortFunc(ended, func(a, b key) int { return cmp.Compare(s.live[a].d.ID, s.live[b].d.ID) })
	for _, k := range ended {
		s.remove(k, s.live[k], now)
	}
	i := 0
	for i < len(s.gone) && now.Sub(s.gone[i].goneAt) > DefaultRetention {
		i++
	}
	s.gone = s.gone[i:]
}

// Stream returns bouncer's pull: with startup (or on its first pull)
// every active decision in new; otherwise the decisions added since its
// last pull in new and those withdrawn or expired since in deleted. It
// moves the bouncer's cursor unless peek is set (HEAD requests).
func (s *Decisions) Stream(bouncer string, startup, peek bool) (added, deleted []Decision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	cur, seen := s.cursors[bouncer]
	if startup || !seen {
		cur = 0
	}
	added, deleted = []Decision{}, []Decision{}
	for _, e := range s.live {
		if e.added > cur {
			added = append(added, e.view(now))
		}
	}
	if cur > 0 {
		for _, e := range s.gone {
			if e.removed > cur && e.added <= cur {
				v := e.d
				v.Duration = "0s"
				deleted = append(deleted, v)
			}
		}
	}
	if !peek {
		s.cursors[bouncer] = s.seq
	}
	sortByID(added)
	sortByID(deleted)
	return added, deleted
}

// Active returns the active decisions for which match is true, by id.
func (s *Decisions) Active(match func(Decision) bool) []Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	var out []Decision
	for _, e := range s.live {
		if match(e.d) {
			out = append(out, e.view(now))
		}
	}
	sortByID(out)
	return out
}

// Len returns the number of active decisions.
func (s *Decisions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	return len(s.live)
}

func (e *entry) view(now time.Time) Decision {
	v := e.d
	v.Duration = FormatDuration(e.until.Sub(now))
	return v
}

func sortByID(ds []Decision) {
	slices.SortFunc(ds, func(a, b Decision) int { return cmp.Compare(a.ID, b.ID) })
}

// prefixOf reads a decision's value as a prefix (an Ip as its host
// prefix).
func prefixOf(d Decision) (netip.Prefix, bool) {
	if d.Scope == ScopeIP {
		a, err := netip.ParseAddr(d.Value)
		if err != nil {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(d.Value)
	return p, err == nil
}

var _ enforce.Adapter = (*Decisions)(nil)
