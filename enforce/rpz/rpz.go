package rpz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// Deps are what an RPZ needs from the rest of acd.
type Deps struct {
	// Logger logs changes and NOTIFY failures (slog.Default when nil).
	Logger *slog.Logger
	// Now reads the clock (time.Now when nil).
	Now func() time.Time
}

// RPZ is the enforce.Syncer for sinkhole actions: it keeps the response
// policy zone and serves it (Start). Use New; it is safe for concurrent
// use.
type RPZ struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	allowed []netip.Prefix
	targets []netip.AddrPort // Notify, parsed

	// Timing of NOTIFY and of the SOA probes; tests shorten them.
	notifyTimeout time.Duration
	notifyRetries int
	probeTimeout  time.Duration

	mu    sync.Mutex
	z     *zone                 // guarded by mu
	seen  map[netip.Addr]uint32 // guarded by mu: serial last sent to each transfer client
	kicks []chan struct{}       // one per target, buffered 1; set by New

	counters counters

	srvMu   sync.Mutex // guards the server fields below
	servers []*dns.Server
	addr    netip.AddrPort
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns an RPZ serving an empty zone (SOA and NS only) whose
// serial starts at the current time in seconds. It does no I/O.
func New(cfg Config, deps Deps) (*RPZ, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &RPZ{cfg: cfg, log: deps.Logger, now: deps.Now, allowed: cfg.allowed(),
		notifyTimeout: 2 * time.Second, notifyRetries: 5, probeTimeout: 2 * time.Second,
		seen: map[netip.Addr]uint32{}}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	for _, n := range cfg.Notify {
		r.targets = append(r.targets, netip.MustParseAddrPort(n))
		r.kicks = append(r.kicks, make(chan struct{}, 1))
	}
	r.z = newZone(cfg, r.clock())
	return r, nil
}

// clock is the current time as a serial.
func (r *RPZ) clock() uint32 { return uint32(r.now().Unix()) }

// Name names the adapter for the audit log.
func (r *RPZ) Name() string { return "rpz" }

// Apply puts the policy records of action a of case c into the zone
// (one serial bump, then NOTIFY). It is idempotent. It refuses what the
// zone cannot express (ErrUnsupported), an action that is not one of
// c's, and one whose window has ended.
func (r *RPZ) Apply(_ context.Context, c cases.Case, a cases.Action) error {
	i := slices.IndexFunc(c.Actions, func(b cases.Action) bool { return sameAction(a, b) })
	if c.ID == "" || i < 0 {
		return fmt.Errorf("rpz: sinkhole %s is not an action of case %q", a.Target, c.ID)
	}
	rrs, err := r.cfg.records(a)
	if err != nil {
		return fmt.Errorf("rpz: case %s: %w", c.ID, err)
	}
	if !a.NotAfter.After(r.now()) {
		return fmt.Errorf("rpz: sinkhole %s of case %s ended at %s", a.Target, c.ID, a.NotAfter.UTC().Format(time.RFC3339))
	}
	key := enforce.ItemKey(c.ID, i)
	r.mu.Lock()
	t := r.z.begin()
	t.put(key, a, rrs)
	changed := t.commit(r.clock())
	serial := r.z.soa.Serial
	r.mu.Unlock()
	if changed {
		r.counters.changes.Add(1)
		r.log.Info("rpz apply", "item", key, "target", a.Target.String(), "serial", serial)
		r.kickAll()
	}
	return nil
}

// Withdraw removes the policy records of action a of case c, keeping
// those another item still wants. Withdrawing what is absent is not an
// error.
func (r *RPZ) Withdraw(_ context.Context, c cases.Case, a cases.Action) error {
	r.mu.Lock()
	t := r.z.begin()
	var gone []string
	for _, k := range slices.Sorted(maps.Keys(r.z.owners)) {
		if o := r.z.owners[k]; caseOf(k) == c.ID && sameTrigger(o.action, a) {
			t.drop(k)
			gone = append(gone, k)
		}
	}
	changed := t.commit(r.clock())
	serial := r.z.soa.Serial
	r.mu.Unlock()
	if changed {
		r.counters.changes.Add(1)
		r.log.Info("rpz withdraw", "items", gone, "target", a.Target.String(), "serial", serial)
		r.kickAll()
	}
	return nil
}

// Sync makes the zone hold exactly the records of desired, as one serial
// bump: it counts the items it added (Missing), removed (Extra) and
// rewrote (Changed). Items it cannot express are left out and named in
// the error. It then reads each notify target's serial (SOA query, else
// the serial of its last transfer) and NOTIFYs again those that lag,
// counting them as Changed ("secondary 192.0.2.53:53 at serial 7, zone
// at 9: notified"). A secondary ahead of acd's serial (acd restarted)
// makes the serial jump past it.
func (r *RPZ) Sync(ctx context.Context, desired []enforce.Item) (enforce.Drift, error) {
	d := enforce.Drift{Desired: len(desired)}
	want := map[string]enforce.Item{}
	rrs := map[string][]dns.RR{} // records of the items not in the zone as they are
	var errs []error
	r.mu.Lock()
	held := map[string]cases.Action{}
	for k, o := range r.z.owners {
		held[k] = o.action
	}
	r.mu.Unlock()
	for _, it := range desired {
		k := it.Key()
		if a, ok := held[k]; ok && sameAction(a, it.Action) {
			want[k] = it // same action, same records: the config is fixed
			continue
		}
		x, err := r.cfg.records(it.Action)
		if err != nil {
			errs = append(errs, fmt.Errorf("item %s: %w", k, err))
			continue
		}
		want[k], rrs[k] = it, x
	}
	detail := func(format string, args ...any) {
		if len(d.Details) < 50 {
			d.Details = append(d.Details, fmt.Sprintf(format, args...))
		}
	}
	r.mu.Lock()
	t := r.z.begin()
	for _, k := range slices.Sorted(maps.Keys(r.z.owners)) {
		if _, ok := want[k]; !ok {
			detail("extra %s (%s)", r.z.owners[k].action.Target, k)
			t.drop(k)
			d.Extra++
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		o, had := r.z.owners[k]
		if had && sameAction(o.action, want[k].Action) {
			continue
		}
		x, ok := rrs[k]
		if !ok { // changed since the snapshot above: compute now
			var err error
			if x, err = r.cfg.records(want[k].Action); err != nil {
				errs = append(errs, fmt.Errorf("item %s: %w", k, err))
				continue
			}
		}
		if t.put(k, want[k].Action, x) {
			if had {
				detail("changed %s (%s)", want[k].Action.Target, k)
				d.Changed++
			} else {
				detail("missing %s (%s)", want[k].Action.Target, k)
				d.Missing++
			}
		}
	}
	changed := t.commit(r.clock())
	r.mu.Unlock()
	if changed {
		r.counters.changes.Add(1)
		r.log.Info("rpz sync", "missing", d.Missing, "extra", d.Extra, "changed", d.Changed, "serial", r.Serial())
		r.kickAll()
	}
	for _, s := range r.checkSecondaries(ctx) {
		detail("%s", s)
		d.Changed++
	}
	if err := errors.Join(errs...); err != nil {
		return d, fmt.Errorf("rpz: sync left out items: %w", err)
	}
	return d, nil
}

// Serial returns the zone's current SOA serial.
func (r *RPZ) Serial() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.z.soa.Serial
}

// ZoneText returns the zone in master-file format (SOA, NS, then the
// policy records in canonical order), as a secondary would store it.
func (r *RPZ) ZoneText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.z.text()
}

// sameAction reports whether a and b are the same sinkhole as far as the
// zone is concerned: type, target, scope and window.
func sameAction(a, b cases.Action) bool {
	return a.Type == b.Type && a.Target == b.Target && a.Scope.Subdomains == b.Scope.Subdomains &&
		a.Scope.Protocol == b.Scope.Protocol && len(a.Scope.Ports) == len(b.Scope.Ports) &&
		a.Scope.Destination == b.Scope.Destination && a.Scope.Recipient == b.Scope.Recipient &&
		a.NotBefore.Equal(b.NotBefore) && a.NotAfter.Equal(b.NotAfter)
}

// sameTrigger reports whether a and b want the same records whatever
// their windows: Withdraw matches on it, so that a case re-versioned
// with another window still withdraws what was applied.
func sameTrigger(a, b cases.Action) bool {
	return a.Type == b.Type && a.Target == b.Target && a.Scope.Subdomains == b.Scope.Subdomains
}

// caseOf returns the case id of an item key "<case>/<index>".
func caseOf(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return key
}

var _ enforce.Syncer = (*RPZ)(nil)
