package nft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// ErrUnsupported is returned for an action the adapter cannot carry out
// faithfully: another type than block, a domain target, or a block
// narrowed by protocol or ports (the sets match source addresses only,
// so the block would go further than approved).
var ErrUnsupported = fmt.Errorf("nft: %w", enforce.ErrUnsupported)

// expiryTolerance is how far an element's kernel expiry may be from the
// desired one before Sync rewrites it.
const expiryTolerance = 2 * time.Second

// sndbuf is the netlink send buffer asked for: a Sync sends its whole
// batch (10,000 ranges are about 1 MiB) in one write.
const sndbuf = 64 << 20

// Deps are the adapter's dependencies.
type Deps struct {
	// Logger receives the adapter's logs; required.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Registerer, when set, receives the adapter's metrics
	// (acd_enforce_nft_*).
	Registerer prometheus.Registerer
}

// Adapter is the enforce.Syncer for block actions in nftables. New
// does no I/O; Start (or the first Apply, Withdraw or Sync) opens the
// netlink connection and installs or repairs the table; Stop closes the
// connection and leaves the table (blocks stay until withdrawn or timed
// out); Remove deletes the table. Safe for concurrent use: calls are
// serialized.
type Adapter struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	rs  *ruleset
	m   *metrics

	mu      sync.Mutex        // guards the fields below; serializes every change to the kernel
	conn    *nftables.Conn    // nil until started
	nsFile  *os.File          // the namespace opened, when cfg.NetNS is set
	items   map[string][]want // item key → what it blocks (one want; several for items seeded from the kernel)
	known   map[int][]segment // the sets' ranges after the last committed change, by key length; nil when unknown
	started bool
}

// New returns an adapter for cfg (validated here); it does no I/O.
func New(cfg Config, deps Deps) (*Adapter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		return nil, errors.New("nft: a logger is required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Adapter{cfg: cfg, log: deps.Logger, now: deps.Now, rs: newRuleset(cfg),
		m: newMetrics(deps.Registerer), items: map[string][]want{}}, nil
}

// Name names the adapter for the audit log.
func (a *Adapter) Name() string { return "nft" }

// Start opens the netlink connection (in cfg.NetNS when set), learns the
// blocks already in the table from their comments (so that Apply and
// Withdraw before the first Sync keep them), and creates or repairs the
// table.
func (a *Adapter) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.start(ctx)
}

func (a *Adapter) start(ctx context.Context) error {
	if a.started {
		return nil
	}
	if err := a.open(ctx); err != nil {
		a.m.errors.WithLabelValues("start").Inc()
		return err
	}
	return nil
}

func (a *Adapter) open(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	opts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(setSndbuf)}
	if a.cfg.NetNS != "" {
		f, err := os.Open(a.cfg.NetNS)
		if err != nil {
			return fmt.Errorf("nft: unable to open network namespace: %w", err)
		}
		a.nsFile = f
		opts = append(opts, nftables.WithNetNSFd(int(f.Fd())))
	}
	conn, err := nftables.New(opts...)
	if err != nil {
		a.closeNS()
		return fmt.Errorf("nft: unable to open a netlink connection: %w", err)
	}
	a.conn = conn
	a.known = nil
	st, err := a.inspect()
	if err != nil {
		a.close()
		return fmt.Errorf("nft: %w", err)
	}
	a.items = seed(st.segs)
	a.started = true
	d, err := a.apply(st)
	if err != nil {
		a.close()
		a.started = false
		return err
	}
	a.log.Info("nft adapter started", "table", a.cfg.Table, "netns", a.cfg.NetNS,
		"known_items", len(a.items), "repairs", d.Total())
	return nil
}

// setSndbuf raises the netlink socket's send buffer (forced: acd runs
// with CAP_NET_ADMIN), falling back to the unprivileged limit.
func setSndbuf(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return c.SetWriteBuffer(sndbuf)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sndbuf)
	}); err != nil || serr != nil {
		return c.SetWriteBuffer(sndbuf)
	}
	return nil
}

// Stop closes the connection. The table stays: the blocks remain until
// acd withdraws them or their timeouts lift them.
func (a *Adapter) Stop(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.close()
	a.started = false
	return nil
}

func (a *Adapter) close() {
	if a.conn != nil {
		_ = a.conn.CloseLasting()
		a.conn = nil
	}
	a.closeNS()
}

func (a *Adapter) closeNS() {
	if a.nsFile != nil {
		_ = a.nsFile.Close()
		a.nsFile = nil
	}
}

// Remove deletes acd's table (every block with it) and forgets every
// item; for tests and acd's uninstall. Removing an absent table is not
// an error.
func (a *Adapter) Remove(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.remove(ctx); err != nil {
		a.m.errors.WithLabelValues("remove").Inc()
		return err
	}
	a.m.ranges.Reset()
	return nil
}

func (a *Adapter) remove(ctx context.Context) error {
	if err := a.start(ctx); err != nil {
		return err
	}
	tables, err := a.conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("nft: unable to list tables: %w", err)
	}
	a.items = map[string][]want{}
	a.known = nil
	for _, t := range tables {
		if t.Name == a.rs.table.Name {
			a.conn.DelTable(a.rs.table)
			if err := a.conn.Flush(); err != nil {
				return fmt.Errorf("nft: unable to delete table inet %s: %w", a.rs.table.Name, err)
			}
		}
	}
	return nil
}

// Apply blocks the source target of block action act of case c until
// its not_after. Idempotent: applying it again changes nothing, and a
// new not_after moves the element's timeout.
func (a *Adapter) Apply(ctx context.Context, c cases.Case, act cases.Action) error {
	start := time.Now()
	if err := a.applyOne(ctx, c, act); err != nil {
		a.m.errors.WithLabelValues("apply").Inc()
		return err
	}
	a.m.applied.Observe(time.Since(start).Seconds())
	return nil
}

func (a *Adapter) applyOne(ctx context.Context, c cases.Case, act cases.Action) error {
	w, err := a.wantOf(c.ID, act)
	if err != nil {
		return err
	}
	now := a.now()
	if !now.Before(act.NotAfter) || now.Before(act.NotBefore) {
		return fmt.Errorf("nft: block %s of case %s: outside its window %s..%s", act.Target, c.ID,
			act.NotBefore.UTC().Format(time.RFC3339), act.NotAfter.UTC().Format(time.RFC3339))
	}
	w.key = itemKey(c, act)
	return a.change(ctx, w.key, []want{w})
}

// Withdraw lifts the block of action act of case c; the element stays
// while another item wants it. Withdrawing what is absent is not an
// error.
func (a *Adapter) Withdraw(ctx context.Context, c cases.Case, act cases.Action) error {
	if err := a.change(ctx, itemKey(c, act), nil); err != nil {
		a.m.errors.WithLabelValues("withdraw").Inc()
		return err
	}
	return nil
}

// change sets item key's wants (nil removes it) and brings the kernel
// in line; on failure the kernel is unchanged (the batch is atomic) and
// so is the adapter's memory.
func (a *Adapter) change(ctx context.Context, key string, ws []want) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.start(ctx); err != nil {
		return err
	}
	old, had := a.items[key]
	if ws == nil {
		delete(a.items, key)
	} else {
		a.items[key] = ws
	}
	var ps []netip.Prefix
	for _, w := range slices.Concat(old, ws) {
		ps = append(ps, w.p)
	}
	if err := a.fastChange(ps); err == nil {
		return nil
	}
	if _, err := a.reconcile(); err != nil {
		if had {
			a.items[key] = old
		} else {
			delete(a.items, key)
		}
		return err
	}
	return nil
}

// Sync makes the table hold exactly the blocks of desired (items whose
// window is open), repairing the table, its sets and chains if they
// were deleted or changed. Items it cannot carry out are skipped and
// reported in the error, after the others are synced.
func (a *Adapter) Sync(ctx context.Context, desired []enforce.Item) (enforce.Drift, error) {
	now := a.now()
	items := make(map[string][]want, len(desired))
	var refused []error
	for _, it := range desired {
		w, err := a.wantOf(it.Case.ID, it.Action)
		if err != nil {
			refused = append(refused, fmt.Errorf("item %s: %w", it.Key(), err))
			continue
		}
		if !now.Before(it.Action.NotAfter) || now.Before(it.Action.NotBefore) {
			continue
		}
		w.key = it.Key()
		items[w.key] = append(items[w.key], w)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.start(ctx); err != nil {
		a.m.errors.WithLabelValues("sync").Inc()
		return enforce.Drift{Desired: len(desired)}, err
	}
	old := a.items
	a.items = items
	d, err := a.reconcile()
	d.Desired = len(desired)
	if err != nil {
		a.items = old
		a.m.errors.WithLabelValues("sync").Inc()
		return d, err
	}
	if d.Total() > 0 {
		a.log.Warn("nft drift repaired", "missing", d.Missing, "extra", d.Extra, "changed", d.Changed)
	}
	return d, errors.Join(refused...)
}

// wantOf checks that act can be carried out faithfully and returns what
// it blocks (without its key).
func (a *Adapter) wantOf(caseID string, act cases.Action) (want, error) {
	switch {
	case act.Type != cases.ActionBlock:
		return want{}, fmt.Errorf("%w: %s (only block) in case %s", ErrUnsupported, act.Type, caseID)
	case act.Scope.Protocol != 0 || len(act.Scope.Ports) > 0:
		return want{}, fmt.Errorf("%w: block %s of case %s is narrowed by protocol or ports, which this adapter's source-address sets cannot express", ErrUnsupported, act.Target, caseID)
	case act.Target.Kind() != cases.KindAddress && act.Target.Kind() != cases.KindPrefix:
		return want{}, fmt.Errorf("%w: block of case %s needs an address or prefix target, not %q", ErrUnsupported, caseID, act.Target)
	case caseID == "":
		return want{}, errors.New("nft: a case without an id")
	}
	return want{p: act.Target.Prefix(), exp: act.NotAfter.Add(a.cfg.TimeoutSlack)}, nil
}

// itemKey names action act of case c as enforce.Item.Key does: by its
// index in c.Actions (the same action, or failing that the same type,
// target and window), else "<case>/<target>".
func itemKey(c cases.Case, act cases.Action) string {
	for i, x := range c.Actions {
		if reflect.DeepEqual(x, act) {
			return enforce.ItemKey(c.ID, i)
		}
	}
	for i, x := range c.Actions {
		if x.Type == act.Type && x.Target == act.Target && x.NotBefore.Equal(act.NotBefore) && x.NotAfter.Equal(act.NotAfter) {
			return enforce.ItemKey(c.ID, i)
		}
	}
	return c.ID + "/" + act.Target.String()
}

var (
	_ enforce.Syncer = (*Adapter)(nil)
)
