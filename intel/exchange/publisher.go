package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/stix/pattern"
	"github.com/acd-org/acd/intel/taxii"
	"github.com/prometheus/client_golang/prometheus"
)

// PartnerDetectorPrefix starts the detector name of evidence a partner
// sent ("partner:jp"); acd never publishes such evidence again.
const PartnerDetectorPrefix = "partner:"

// DefaultPublishEvery is how often Start runs the Publisher by default.
const DefaultPublishEvery = 30 * time.Second

// lookupChunk is how many ids one store lookup asks for.
const lookupChunk = 500

// Publisher publishes acd's own suspects as STIX into the TAXII
// collections its partners read (see the package doc for the steps).
// Set the fields, then call Run, or Start and Stop; the fields must not
// change after the first call. Runs are serialized.
type Publisher struct {
	Identity stix.Identity                                       // acd's identity (created_by_ref of everything)
	TLP      stix.TLP                                            // the marking of what is published
	Store    taxii.Store                                         // the store of acd's TAXII server
	Partners []*share.Gate                                       // one per partner, with its agreement
	Source   func(ctx context.Context) ([]detect.Suspect, error) // acd's suspects
	MinScore float64                                             // suspects scored below (own evidence) are not published
	// Extra, when set, returns more objects to publish as they are
	// (incident reports as STIX, each with its own TLP): through the same
	// gates, versioned the same way.
	Extra      func(ctx context.Context) ([]stix.Object, error)
	Every      time.Duration         // Start's interval (default 30 s)
	Now        func() time.Time      // nil: time.Now
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: metrics not registered

	once    sync.Once
	initErr error
	m       *pubMetrics
	run     sync.Mutex // serializes Run and Revoke
	loop    loop
}

// PublishStats counts what one Publisher.Run did.
type PublishStats struct {
	Suspects  int // suspects from Source
	Skipped   int // suspects not turned into objects (partner-only, pseudonym, no role, score)
	Unchanged int // objects already in a collection as they are (per collection)
	Revoked   int // objects not republished because revoked in a collection
	Published int // objects added to collections (identity and markings included)
	Context   int // of which identity and marking definitions
	Refused   int // objects a gate refused
}

func (p *Publisher) init() error {
	p.once.Do(func() {
		if p.Store == nil || p.Source == nil {
			p.initErr = errors.New("unable to publish: Store and Source are required")
			return
		}
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
		if p.Now == nil {
			p.Now = time.Now
		}
		m, err := newPubMetrics(p.Registerer)
		if err != nil {
			p.initErr = fmt.Errorf("unable to register the publisher metrics: %w", err)
		}
		p.m = m
	})
	return p.initErr
}

// Run publishes once: every suspect from Source to every partner the
// gates allow. It returns what it did; an error of one collection does
// not stop the others (the errors are joined).
func (p *Publisher) Run(ctx context.Context) (PublishStats, error) {
	if err := p.init(); err != nil {
		return PublishStats{}, err
	}
	p.run.Lock()
	defer p.run.Unlock()
	st, err := p.publish(ctx)
	result := "ok"
	if err != nil {
		result = "error"
	}
	p.m.runs.WithLabelValues(result).Inc()
	return st, err
}

func (p *Publisher) publish(ctx context.Context) (PublishStats, error) {
	var st PublishStats
	now := p.Now()
	suspects, err := p.Source(ctx)
	if err != nil {
		return st, fmt.Errorf("unable to read the suspects to publish: %w", err)
	}
	st.Suspects = len(suspects)
	var objs []stix.Object
	for i := range suspects {
		os, reason := p.emit(&suspects[i], now)
		if reason != "" {
			st.Skipped++
			p.m.skipped.WithLabelValues(reason).Inc()
			continue
		}
		objs = append(objs, os...)
	}
	if p.Extra != nil {
		more, err := p.Extra(ctx)
		if err != nil {
			return st, fmt.Errorf("unable to read the extra objects to publish: %w", err)
		}
		objs = append(objs, more...)
	}
	var errs []error
	for _, g := range p.Partners {
		for _, col := range g.Agreement.Outgoing.Collections {
			if err := p.toCollection(ctx, g, col, objs, now, &st); err != nil {
				errs = append(errs, fmt.Errorf("unable to publish to %s collection %s: %w", g.Agreement.Partner, col, err))
			}
		}
	}
	return st, errors.Join(errs...)
}

// emit returns the objects of a suspect, or why it is skipped.
func (p *Publisher) emit(s *detect.Suspect, now time.Time) ([]stix.Object, string) {
	own, ok := ownEvidence(s)
	switch {
	case len(s.Evidence) == 0:
		return nil, "norole"
	case !ok:
		return nil, "partner"
	case own.Score < p.MinScore:
		return nil, "score"
	}
	objs, err := stix.FromSuspect(own, p.Identity, p.TLP, now)
	switch {
	case errors.Is(err, stix.ErrPseudonym):
		return nil, "pseudonym"
	case errors.Is(err, stix.ErrNoRole):
		return nil, "norole"
	case err != nil:
		p.Logger.Warn("unable to make stix of a suspect", "suspect", s.Key.String(), "error", err)
		return nil, "error"
	}
	return objs, ""
}

// ownEvidence returns s with the evidence of partners removed, its roles,
// score and times recomputed from what is left; false when nothing is.
func ownEvidence(s *detect.Suspect) (detect.Suspect, bool) {
	out := *s
	out.Evidence, out.Roles = nil, nil
	best := map[detect.Role]float64{}
	for _, e := range s.Evidence {
		if strings.HasPrefix(e.Detector, PartnerDetectorPrefix) {
			continue
		}
		out.Evidence = append(out.Evidence, e)
		if _, seen := best[e.Role]; !seen {
			out.Roles = append(out.Roles, e.Role)
		}
		best[e.Role] = max(best[e.Role], e.Score)
	}
	if len(out.Evidence) == len(s.Evidence) {
		return *s, len(s.Evidence) > 0
	}
	if len(out.Evidence) == 0 {
		return out, false
	}
	miss := 1.0
	for _, v := range best {
		miss *= 1 - v
	}
	out.Score = 1 - miss
	out.FirstSeen, out.LastSeen = time.Time{}, time.Time{}
	for _, e := range out.Evidence {
		if !e.First.IsZero() && (out.FirstSeen.IsZero() || e.First.Before(out.FirstSeen)) {
			out.FirstSeen = e.First
		}
		if e.Last.After(out.LastSeen) {
			out.LastSeen = e.Last
		}
	}
	return out, true
}

// toCollection publishes objs into one collection of g's partner.
func (p *Publisher) toCollection(ctx context.Context, g *share.Gate, col string, objs []stix.Object, now time.Time, st *PublishStats) error {
	prev, err := p.lookup(ctx, col, ids(objs))
	if err != nil {
		return err
	}
	var next []stix.Object
	for _, o := range objs {
		old, ok := prev[o.ID]
		if !ok {
			next = append(next, o)
			continue
		}
		if old.Revoked {
			st.Revoked++
			continue
		}
		c, err := stix.Carry(old, o)
		if err != nil {
			return fmt.Errorf("unable to version %s: %w", o.ID, err)
		}
		if same, err := sameButModified(old, c); err != nil {
			return err
		} else if same {
			st.Unchanged++
			continue
		}
		next = append(next, c)
	}
	return p.add(ctx, g, col, next, now, st)
}

// add passes objs through the gate and adds what passes to col, with
// the identity and marking definitions first if col lacks them.
func (p *Publisher) add(ctx context.Context, g *share.Gate, col string, objs []stix.Object, now time.Time, st *PublishStats) error {
	allowed, err := p.decide(ctx, g, objs, now, st)
	if err != nil || len(allowed) == 0 {
		return err
	}
	head, err := p.context(ctx, col, allowed)
	if err != nil {
		return err
	}
	head, err = p.decide(ctx, g, head, now, st)
	if err != nil {
		return err
	}
	all := append(head, allowed...)
	tos := make([]taxii.Object, 0, len(all))
	for _, o := range all {
		to, err := taxii.ParseObject(o.Raw())
		if err != nil {
			return fmt.Errorf("unable to store %s: %w", o.ID, err)
		}
		tos = append(tos, to)
	}
	if _, err := p.Store.AddObjects(ctx, col, tos); err != nil {
		return fmt.Errorf("unable to add %d objects: %w", len(tos), err)
	}
	st.Published += len(tos)
	st.Context += len(head)
	p.m.published.WithLabelValues(g.Agreement.Partner).Add(float64(len(tos)))
	return nil
}

// decide returns the objects g lets leave, counting the decisions.
func (p *Publisher) decide(ctx context.Context, g *share.Gate, objs []stix.Object, now time.Time, st *PublishStats) ([]stix.Object, error) {
	var out []stix.Object
	for _, o := range objs {
		ok, reason, err := g.Outgoing(ctx, o, now)
		if err != nil {
			return nil, fmt.Errorf("unable to decide on %s: %w", o.ID, err)
		}
		p.m.decisions.WithLabelValues(g.Agreement.Partner, string(reason)).Inc()
		if !ok {
			st.Refused++
			p.Logger.Debug("object refused", "partner", g.Agreement.Partner, "id", o.ID, "reason", string(reason))
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

// context returns acd's identity and the TLP marking definitions that
// the identity and objs refer to, those that col does not hold yet.
func (p *Publisher) context(ctx context.Context, col string, objs []stix.Object) ([]stix.Object, error) {
	ident, err := stix.NewObject(&p.Identity)
	if err != nil {
		return nil, fmt.Errorf("unable to make the identity object: %w", err)
	}
	out := []stix.Object{ident}
	seen := map[stix.TLP]bool{}
	for _, o := range append([]stix.Object{ident}, objs...) {
		for _, ref := range o.ObjectMarkingRefs {
			t, ok := stix.TLPOfMarking(ref)
			if !ok || seen[t] {
				continue
			}
			seen[t] = true
			md, err := t.MarkingDefinition()
			if err != nil {
				return nil, fmt.Errorf("unable to make the %s marking definition: %w", t, err)
			}
			out = append(out, md)
		}
	}
	have, err := p.lookup(ctx, col, ids(out))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(o stix.Object) bool { _, ok := have[o.ID]; return ok }), nil
}

// lookup returns the last version in col of each of ids it holds.
func (p *Publisher) lookup(ctx context.Context, col string, ids []string) (map[string]stix.Object, error) {
	out := make(map[string]stix.Object, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(lookupChunk, len(ids))]
		ids = ids[len(chunk):]
		q := taxii.Query{Filter: taxii.Filter{IDs: chunk}, Limit: len(chunk)}
		for {
			page, err := p.Store.Objects(ctx, col, q)
			if err != nil {
				return nil, fmt.Errorf("unable to look up %d objects in collection %s: %w", len(chunk), col, err)
			}
			for _, to := range page.Objects {
				o, err := stix.Parse(to.Raw)
				if err != nil {
					return nil, fmt.Errorf("unable to read stored %s: %w", to.ID, err)
				}
				out[o.ID] = o
			}
			if !page.More {
				break
			}
			q.Next = page.Next
		}
	}
	return out, nil
}

// Revoke publishes the revoked version of every acd object about target
// (an address or prefix: its indicator, infrastructure and indicates
// relationships) in every partner collection that holds it, through the
// gates, and returns how many revocations it added. reason is logged
// (STIX revocations carry none).
func (p *Publisher) Revoke(ctx context.Context, target, reason string) (int, error) {
	if err := p.init(); err != nil {
		return 0, err
	}
	t, err := pattern.ParseTarget(target)
	if err != nil {
		return 0, fmt.Errorf("unable to revoke %q: %w", target, err)
	}
	p.run.Lock()
	defer p.run.Unlock()
	now := p.Now()
	want := revocable(p.Identity.ID, t.String())
	n := 0
	var errs []error
	for _, g := range p.Partners {
		for _, col := range g.Agreement.Outgoing.Collections {
			k, err := p.revokeIn(ctx, g, col, want, now)
			n += k
			if err != nil {
				errs = append(errs, fmt.Errorf("unable to revoke %s in %s collection %s: %w", target, g.Agreement.Partner, col, err))
			}
		}
	}
	p.Logger.Info("revoked", "target", t.String(), "reason", reason, "objects", n)
	return n, errors.Join(errs...)
}

// revocable returns the ids of every object acd (by) emits about addr.
func revocable(by, addr string) []string {
	ind := stix.IndicatorID(by, addr)
	out := []string{ind}
	for _, r := range detect.Roles() {
		if _, ok := stix.InfrastructureType(r); !ok {
			continue
		}
		inf := stix.ACDID(stix.TypeInfrastructure, by, addr, string(r))
		out = append(out, inf, stix.ACDID(stix.TypeRelationship, by, ind, "indicates", inf))
	}
	return out
}

func (p *Publisher) revokeIn(ctx context.Context, g *share.Gate, col string, want []string, now time.Time) (int, error) {
	have, err := p.lookup(ctx, col, want)
	if err != nil {
		return 0, err
	}
	var revs []stix.Object
	for _, id := range want {
		o, ok := have[id]
		if !ok || o.Revoked {
			continue
		}
		at := now
		if !at.After(o.Modified.Time) {
			at = o.Modified.Add(time.Millisecond)
		}
		r, err := o.Revoke(at)
		if err != nil {
			return 0, fmt.Errorf("unable to revoke %s: %w", id, err)
		}
		revs = append(revs, r)
	}
	var st PublishStats
	err = p.add(ctx, g, col, revs, now, &st)
	return st.Published - st.Context, err
}

// sameButModified reports whether a and b are equal but for modified.
func sameButModified(a, b stix.Object) (bool, error) {
	var ma, mb map[string]any
	if err := json.Unmarshal(a.Raw(), &ma); err != nil {
		return false, fmt.Errorf("unable to compare %s: %w", a.ID, err)
	}
	if err := json.Unmarshal(b.Raw(), &mb); err != nil {
		return false, fmt.Errorf("unable to compare %s: %w", b.ID, err)
	}
	delete(ma, "modified")
	delete(mb, "modified")
	return reflect.DeepEqual(ma, mb), nil
}

func ids(objs []stix.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

// Start runs Run now and every Every (default 30 s) until Stop or ctx
// ends; errors are logged and counted.
func (p *Publisher) Start(ctx context.Context) error {
	if err := p.init(); err != nil {
		return err
	}
	every := p.Every
	if every <= 0 {
		every = DefaultPublishEvery
	}
	return p.loop.start(ctx, every, func(ctx context.Context) {
		st, err := p.Run(ctx)
		if err != nil && ctx.Err() == nil {
			p.Logger.Warn("unable to publish", "error", err)
			return
		}
		p.Logger.Debug("published", "suspects", st.Suspects, "objects", st.Published, "refused", st.Refused)
	})
}

// Stop ends what Start started and waits for a running Run to return.
func (p *Publisher) Stop() { p.loop.stop() }
