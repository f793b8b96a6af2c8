package crowdsec

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/acd-org/acd/enforce"
)

// maxDetails bounds Drift.Details.
const maxDetails = 50

// Sync makes the decision set hold exactly the block actions of
// desired: it installs the missing ones (Drift.Missing), replaces those
// whose end changed (Changed) and removes the rest (Extra; bouncers get
// them in "deleted" on their next pull). Items that cannot be carried
// out are left out and reported in the error (joined, each wrapping
// ErrUnsupported or naming the fault); the others are synced anyway.
// An item whose end has passed is not in effect: it is left out.
// Details also names each bouncer that has not pulled for more than
// three times Config.PullInterval ("stale bouncer …").
func (s *Decisions) Sync(_ context.Context, desired []enforce.Item) (enforce.Drift, error) {
	type want struct {
		item   enforce.Item
		scope  string
		values []string
	}
	wants := map[key]want{}
	var order []key // desired order, so that ids do not depend on map order
	var errs []error
	for _, it := range desired {
		scope, values, err := s.check(it.Case, it.Action)
		if err != nil {
			errs = append(errs, fmt.Errorf("item %s: %w", it.Key(), err))
			continue
		}
		k := key{it.Case.ID, it.Action.Target.String()}
		if _, dup := wants[k]; !dup {
			order = append(order, k)
		}
		wants[k] = want{it, scope, values}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	d := enforce.Drift{Desired: len(desired)}
	for _, k := range order {
		w := wants[k]
		a := w.item.Action
		if !a.NotAfter.After(now) {
			delete(wants, k) // ended between the caller's look and now
			continue
		}
		_, had := s.live[k]
		if !s.put(k, w.scope, w.values, a.NotAfter, now) {
			continue
		}
		if had {
			d.Changed++
			d.Details = append(d.Details, fmt.Sprintf("changed %s (%s): until %s", a.Target, w.item.Key(), a.NotAfter.UTC().Format(time.RFC3339)))
		} else {
			d.Missing++
			d.Details = append(d.Details, fmt.Sprintf("missing %s (%s)", a.Target, w.item.Key()))
		}
	}
	for k := range s.live {
		if _, ok := wants[k]; !ok {
			s.remove(k, now)
			d.Extra++
			d.Details = append(d.Details, fmt.Sprintf("extra %s (case %s)", k.target, k.caseID))
		}
	}
	slices.Sort(d.Details) // map order otherwise
	d.Details = append(d.Details, s.stale(now)...)
	if len(d.Details) > maxDetails {
		n := len(d.Details) - maxDetails + 1
		d.Details = append(d.Details[:maxDetails-1], fmt.Sprintf("… and %d more", n))
	}
	if err := errors.Join(errs...); err != nil {
		return d, fmt.Errorf("crowdsec: unable to sync %d of %d items: %w", len(errs), len(desired), err)
	}
	return d, nil
}

// stale names the bouncers that have not pulled for more than three
// pull intervals.
func (s *Decisions) stale(now time.Time) []string {
	var out []string
	for name, st := range s.bouncers {
		if since := now.Sub(st.lastPull); since > 3*s.cfg.PullInterval {
			out = append(out, fmt.Sprintf("stale bouncer %s: last pull %s ago (expected every %s)",
				name, since.Truncate(time.Second), s.cfg.PullInterval))
		}
	}
	slices.Sort(out)
	return out
}

// BouncerStatus is what acd knows of a bouncer that has pulled.
type BouncerStatus struct {
	// Name is the bouncer's name (from Keys).
	Name string `json:"name"`
	// LastPull is when it last pulled (GET of the stream).
	LastPull time.Time `json:"last_pull"`
	// Pulls counts its pulls since acd started.
	Pulls uint64 `json:"pulls"`
	// DecisionsSent counts the decisions sent to it, new and deleted.
	DecisionsSent uint64 `json:"decisions_sent"`
	// Holding is the number of decisions its last pull left it holding.
	Holding int `json:"holding"`
	// Stale is set when it has not pulled for more than three
	// Config.PullInterval.
	Stale bool `json:"stale"`
}

// Bouncers returns the status of every bouncer that has pulled since
// acd started, by name.
func (s *Decisions) Bouncers() []BouncerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]BouncerStatus, 0, len(s.bouncers))
	for name, st := range s.bouncers {
		out = append(out, BouncerStatus{Name: name, LastPull: st.lastPull, Pulls: st.pulls, DecisionsSent: st.sent,
			Holding: len(st.told), Stale: now.Sub(st.lastPull) > 3*s.cfg.PullInterval})
	}
	slices.SortFunc(out, func(a, b BouncerStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// LastPull returns when bouncer last pulled; the zero time if it has
// not since acd started.
func (s *Decisions) LastPull(bouncer string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.bouncers[bouncer]; st != nil {
		return st.lastPull
	}
	return time.Time{}
}
