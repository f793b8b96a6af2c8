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
// out faithfully: another type than block, a block narrowed by protocol
// or ports (a CrowdSec ban covers all traffic, so it would go further
// than what was approved), or a prefix the ranges mode cannot send.
var ErrUnsupported = fmt.Errorf("crowdsec: %w", enforce.ErrUnsupported)

// Decisions is the enforce.Syncer for block actions: it keeps the
// desired CrowdSec decisions, one set per (case, target), and per
// bouncer what that bouncer was last told, so that each pull returns
// the difference. Use NewDecisions; it is safe for concurrent use.
//
// Bouncers key their state by value (the firewall bouncer keeps one set
// element per address), not by decision id. So a bouncer is told one
// decision per (scope, value): of the live decisions for a value, the
// one lasting longest. When that changes (a longer ban of the same
// address by another case, or the longest withdrawn while a shorter
// remains) the pull carries the old id in "deleted" and the new one in
// "new", and withdrawing one case never lifts another case's ban of the
// same address.
type Decisions struct {
	cfg Config
	now func() time.Time

	mu       sync.Mutex               // guards the fields below
	nextID   int64                    // last decision id
	live     map[key]*entry           // active actions
	nextEnd  time.Time                // earliest end in live; zero when empty
	gen      uint64                   // bumped by every change to live
	eff      effMap                   // effective decisions at effGen; read-only once built
	effGen   uint64                   // gen eff was built at
	gone     []goneBan                // withdrawn or expired, for startup pulls
	bouncers map[string]*bouncerState // by bouncer name
}

// key identifies an action: its case and its target.
type key struct{ caseID, target string }

// entry is one action's decisions.
type entry struct {
	bans  []Decision
	until time.Time
}

type goneBan struct {
	d  Decision
	at time.Time
}

// bouncerState is what a bouncer was told and how often it pulls.
type bouncerState struct {
	told     effMap // what its last pull left it holding (shared, read-only)
	gen      uint64 // Decisions.gen of told
	lastPull time.Time
	pulls    uint64
	sent     uint64
}

// valueKey is what bouncers key their state by.
type valueKey struct{ scope, value string }

// effMap is the decision a bouncer should hold per value.
type effMap map[valueKey]liveBan

func valueOf(d Decision) valueKey { return valueKey{d.Scope, d.Value} }

// NewDecisions returns an empty decision set configured by cfg, reading
// the time from now (time.Now when nil).
func NewDecisions(cfg Config, now func() time.Time) (*Decisions, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Decisions{cfg: cfg, now: now, live: map[key]*entry{}, bouncers: map[string]*bouncerState{}}, nil
}

// Name names the adapter for the audit log.
func (s *Decisions) Name() string { return "crowdsec" }

// Apply makes a block action of case c ban decisions. It is idempotent:
// applying the same action again changes nothing; applying it with
// another end replaces its decisions (new ids).
func (s *Decisions) Apply(_ context.Context, c cases.Case, a cases.Action) error {
	scope, values, err := s.check(c, a)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	if !a.NotAfter.After(now) {
		return fmt.Errorf("crowdsec: block %s of case %s ended at %s", a.Target, c.ID, a.NotAfter.UTC().Format(time.RFC3339))
	}
	s.put(key{c.ID, a.Target.String()}, scope, values, a.NotAfter, now)
	return nil
}

// check refuses what the adapter cannot carry out and returns the scope
// and values of the decisions of a.
func (s *Decisions) check(c cases.Case, a cases.Action) (string, []string, error) {
	if c.ID == "" {
		return "", nil, errors.New("crowdsec: a case without an id")
	}
	if a.Type != cases.ActionBlock {
		return "", nil, fmt.Errorf("%w: %s (only block) in case %s", ErrUnsupported, a.Type, c.ID)
	}
	if a.Scope.Protocol != 0 || len(a.Scope.Ports) > 0 {
		return "", nil, fmt.Errorf("%w: block %s of case %s is narrowed by protocol or ports, which a CrowdSec ban cannot express", ErrUnsupported, a.Target, c.ID)
	}
	scope, values, err := scopeValues(a.Target, s.cfg)
	if err != nil {
		return "", nil, fmt.Errorf("crowdsec: case %s: %w", c.ID, err)
	}
	return scope, values, nil
}

// put installs the decisions of action k unless they are there with the
// same end, and reports whether it changed anything.
func (s *Decisions) put(k key, scope string, values []string, until, now time.Time) bool {
	if e := s.live[k]; e != nil {
		if e.until.Equal(until) {
			return false
		}
		s.remove(k, now)
	}
	e := &entry{until: until, bans: make([]Decision, len(values))}
	for i, v := range values {
		s.nextID++
		e.bans[i] = Decision{ID: s.nextID, Origin: Origin, Type: TypeBan, Scope: scope, Value: v,
			Scenario: Scenario(k.caseID), Until: until.UTC().Format(time.RFC3339)}
	}
	s.live[k] = e
	s.gen++
	if s.nextEnd.IsZero() || until.Before(s.nextEnd) {
		s.nextEnd = until
	}
	return true
}

// Withdraw removes the decisions of a block action of case c;
// withdrawing one that is not there (or has expired) is not an error.
func (s *Decisions) Withdraw(_ context.Context, c cases.Case, a cases.Action) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	s.remove(key{c.ID, a.Target.String()}, now)
	return nil
}

// remove drops action k, keeping its decisions for startup pulls.
func (s *Decisions) remove(k key, now time.Time) {
	e := s.live[k]
	if e == nil {
		return
	}
	delete(s.live, k)
	s.gen++
	for _, d := range e.bans {
		s.gone = append(s.gone, goneBan{d, now})
	}
}

// expire removes the actions whose end has come and forgets gone
// decisions older than the retention.
func (s *Decisions) expire(now time.Time) {
	if !s.nextEnd.IsZero() && !s.nextEnd.After(now) {
		s.nextEnd = time.Time{}
		for k, e := range s.live {
			switch {
			case !e.until.After(now):
				s.remove(k, now)
			case s.nextEnd.IsZero() || e.until.Before(s.nextEnd):
				s.nextEnd = e.until
			}
		}
	}
	i := 0
	for i < len(s.gone) && now.Sub(s.gone[i].at) > s.cfg.Retention {
		i++
	}
	s.gone = s.gone[i:]
}

// effective returns the decision a bouncer should hold per value: of
// the live ones, the one ending last (the lowest id among equals). The
// map is cached until live changes and must not be modified.
func (s *Decisions) effective() effMap {
	if s.eff != nil && s.effGen == s.gen {
		return s.eff
	}
	eff := make(effMap, len(s.live))
	for _, e := range s.live {
		for i := range e.bans {
			d := &e.bans[i]
			k := valueOf(*d)
			if cur, ok := eff[k]; !ok || e.until.After(cur.until) || e.until.Equal(cur.until) && d.ID < cur.d.ID {
				eff[k] = liveBan{d, e.until}
			}
		}
	}
	s.eff, s.effGen = eff, s.gen
	return eff
}

// liveBan points to a decision of a live entry (never modified once
// made) and its end.
type liveBan struct {
	d     *Decision
	until time.Time
}

// Stream returns bouncer's pull. On startup (or its first pull) new
// holds every effective decision and deleted, with startup, every
// decision withdrawn or expired within the retention for a value no
// longer banned (so that a bouncer restarting with stale state cleans
// it up). Otherwise new holds the decisions the bouncer was not told
// yet and deleted those it was told that are no longer effective (with
// the id, scope and value it was told, duration "0s"). Stream records
// the pull: what the bouncer now holds, when it pulled.
func (s *Decisions) Stream(bouncer string, startup bool) (added, deleted []Decision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	added, deleted = []Decision{}, []Decision{}
	st := s.bouncers[bouncer]
	if st != nil && !startup && st.gen == s.gen {
		s.record(bouncer, st.told, now, 0) // nothing changed since its last pull
		return added, deleted
	}
	eff := s.effective()
	var told effMap
	if st != nil && !startup {
		told = st.told
	}
	for k, b := range eff {
		if t, ok := told[k]; !ok || t.d.ID != b.d.ID {
			v := *b.d
			v.Duration = FormatDuration(b.until.Sub(now))
			added = append(added, v)
		}
	}
	for k, t := range told {
		if b, ok := eff[k]; !ok || b.d.ID != t.d.ID {
			v := *t.d
			v.Duration = "0s"
			deleted = append(deleted, v)
		}
	}
	if startup {
		deleted = append(deleted, s.goneFor(eff)...)
	}
	sortByID(added)
	sortByID(deleted)
	s.record(bouncer, eff, now, len(added)+len(deleted))
	return added, deleted
}

// goneFor returns the latest gone decision of each value not in eff.
func (s *Decisions) goneFor(eff effMap) []Decision {
	seen := map[valueKey]bool{}
	var out []Decision
	for i := len(s.gone) - 1; i >= 0; i-- {
		d := s.gone[i].d
		k := valueOf(d)
		if _, live := eff[k]; live || seen[k] {
			continue
		}
		seen[k] = true
		d.Duration = "0s"
		out = append(out, d)
	}
	return out
}

// record notes that bouncer now holds eff.
func (s *Decisions) record(bouncer string, eff effMap, now time.Time, sent int) {
	st := s.bouncers[bouncer]
	if st == nil {
		st = &bouncerState{}
		s.bouncers[bouncer] = st
	}
	st.told, st.gen = eff, s.gen
	st.lastPull = now
	st.pulls++
	st.sent += uint64(sent)
}

// Active returns the active decisions for which match is true, by id.
func (s *Decisions) Active(match func(Decision) bool) []Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	var out []Decision
	for _, e := range s.live {
		for _, d := range e.bans {
			if match(d) {
				d.Duration = FormatDuration(e.until.Sub(now))
				out = append(out, d)
			}
		}
	}
	sortByID(out)
	return out
}

// Len returns the number of active actions.
func (s *Decisions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	return len(s.live)
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

var _ enforce.Syncer = (*Decisions)(nil)
