package enforce

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/acd-org/acd/cases"
)

// ErrRail is wrapped by every safety-rail refusal.
var ErrRail = errors.New("enforce: safety rail")

// ErrUnsupported is wrapped by every adapter's refusal of an action it
// cannot carry out as approved (a CrowdSec ban narrowed by port, a prefix
// wider than an adapter may expand): the approval stands, the action did
// not run, and the operator must choose another adapter or a new case.
var ErrUnsupported = errors.New("unsupported action")

// Rails are the operator's safety rails, checked where actions run —
// before the gatekeeper hands an action to its adapter, and again on
// every reconciliation (so that a rail added later retracts the live
// actions it now covers). They hold whatever the approvals say: a
// commission cannot approve acting against the operator's own resolvers.
type Rails struct {
	// NeverAct are networks no action may touch (own infrastructure,
	// resolvers, partners' allow-lists): an action whose target overlaps
	// one (contains it or lies in it) is refused.
	NeverAct []netip.Prefix `yaml:"never_act"`
	// NeverActDomains are domains no sinkhole may name, with their
	// subdomains (the operator's own zones).
	NeverActDomains []string `yaml:"never_act_domains"`
	// ProtectRootServers adds the DNS root servers' addresses (IANA's
	// root hints) to NeverAct.
	ProtectRootServers bool `yaml:"protect_root_servers"`
	// Widest is the widest prefix each action type may name, by address
	// family; a type not listed may name host addresses only.
	Widest map[cases.ActionType]Widest `yaml:"widest"`
	// MaxActive caps the actions in effect at once; an execution beyond
	// it is refused.
	MaxActive int `yaml:"max_active"`
	// Dynamic, when set, returns more never-act networks that change at
	// run time (partners' allow-lists); it is read on every check.
	Dynamic func() []netip.Prefix `yaml:"-"`
	// DryRun lets actions through the gate and the rails, records and
	// audits them, but calls no adapter: nothing reaches any equipment.
	DryRun bool `yaml:"dry_run"`
}

// Widest is the widest prefix length allowed per address family.
type Widest struct {
	V4 int `yaml:"v4"`
	V6 int `yaml:"v6"`
}

// DefaultRails protect the root servers, allow blocks, FlowSpec rules
// and abuse reports down to /24 and /48 and RTBH to host routes only,
// and cap active actions at 20,000.
func DefaultRails() Rails {
	return Rails{
		ProtectRootServers: true,
		Widest: map[cases.ActionType]Widest{
			cases.ActionBlock:       {V4: 24, V6: 48},
			cases.ActionFlowSpec:    {V4: 24, V6: 48},
			cases.ActionAbuseReport: {V4: 24, V6: 48},
			cases.ActionReidentify:  {V4: 24, V6: 48},
			cases.ActionRTBH:        {V4: 32, V6: 128},
			cases.ActionSinkhole:    {V4: 32, V6: 128},
		},
		MaxActive: 20000,
	}
}

// Validate checks r.
func (r Rails) Validate() error {
	var errs []error
	for i, p := range r.NeverAct {
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("rails.never_act[%d]: not a prefix", i))
		}
	}
	for i, d := range r.NeverActDomains {
		if _, err := cases.ParseTarget(d); err != nil || strings.ContainsAny(d, "/:") {
			errs = append(errs, fmt.Errorf("rails.never_act_domains[%d]: %q is not a domain", i, d))
		}
	}
	for t, w := range r.Widest {
		if _, err := cases.ParseActionType(string(t)); err != nil {
			errs = append(errs, fmt.Errorf("rails.widest: %w", err))
		}
		if w.V4 < 0 || w.V4 > 32 || w.V6 < 0 || w.V6 > 128 {
			errs = append(errs, fmt.Errorf("rails.widest.%s: v4 must be 0–32 and v6 0–128 (got %d, %d)", t, w.V4, w.V6))
		}
	}
	if r.MaxActive < 0 {
		errs = append(errs, fmt.Errorf("rails.max_active must not be negative (0 means no cap)"))
	}
	return errors.Join(errs...)
}

// rootServers are the root servers' addresses (IANA root hints, a–m).
var rootServers = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"198.41.0.4", "2001:503:ba3e::2:30", "170.247.170.2", "2801:1b8:10::b", "192.33.4.12", "2001:500:2::c",
		"199.7.91.13", "2001:500:2d::d", "192.203.230.10", "2001:500:a8::e", "192.5.5.241", "2001:500:2f::f",
		"192.112.36.4", "2001:500:12::d0d", "198.97.190.53", "2001:500:1::53", "192.36.148.17", "2001:7fe::53",
		"192.58.128.30", "2001:503:c27::2:30", "193.0.14.129", "2001:7fd::1", "199.7.83.42", "2001:500:9f::42",
		"202.12.27.33", "2001:dc3::35",
	} {
		a := netip.MustParseAddr(s)
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out
}()

// Check says whether action a may run with active actions already in
// effect (pass a negative active to skip the cap, as reconciliation
// does for actions already running). A refusal wraps ErrRail and names
// the rail.
func (r *Rails) Check(a cases.Action, active int) error {
	if r == nil {
		return nil
	}
	if r.MaxActive > 0 && active >= r.MaxActive {
		return fmt.Errorf("%w: %d actions are in effect, the cap (rails.max_active) is %d", ErrRail, active, r.MaxActive)
	}
	return r.Covered(a)
}

// Covered checks a against the never-act lists and the widest prefix
// for its type, not the cap: the rails an action in effect must still
// pass.
func (r *Rails) Covered(a cases.Action) error {
	if r == nil {
		return nil
	}
	return r.covered(a, r.never())
}

// never returns the never-act networks now: configured, dynamic and the
// root servers.
func (r *Rails) never() []netip.Prefix {
	never := r.NeverAct
	if r.Dynamic != nil {
		never = slices.Concat(never, r.Dynamic())
	}
	if r.ProtectRootServers {
		never = slices.Concat(never, rootServers)
	}
	return never
}

// covered is Covered with the never-act networks given.
func (r *Rails) covered(a cases.Action, never []netip.Prefix) error {
	t := a.Target
	if t.Kind() == cases.KindDomain {
		for _, d := range r.NeverActDomains {
			d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
			if t.Domain() == d || strings.HasSuffix(t.Domain(), "."+d) {
				return fmt.Errorf("%w: %s lies in the never-act domain %s", ErrRail, t, d)
			}
			// A sinkhole of the subdomains too covers every name below.
			if a.Scope.Subdomains && strings.HasSuffix(d, "."+t.Domain()) {
				return fmt.Errorf("%w: %s with its subdomains covers the never-act domain %s", ErrRail, t, d)
			}
		}
		return nil
	}
	p := t.Prefix()
	if !p.IsValid() {
		return nil
	}
	w := r.Widest[a.Type]
	widest := w.V4
	if p.Addr().Is6() {
		widest = w.V6
	}
	if widest == 0 {
		widest = p.Addr().BitLen()
	}
	if p.Bits() < widest {
		return fmt.Errorf("%w: %s %s is wider than /%d, the widest the rails allow for %s", ErrRail, a.Type, p, widest, a.Type)
	}
	for _, n := range never {
		if n.Overlaps(p) {
			what := "a never-act network"
			if slices.Contains(rootServers, n) {
				what = "a DNS root server"
			}
			return fmt.Errorf("%w: %s %s overlaps %s (%s)", ErrRail, a.Type, p, n, what)
		}
	}
	return nil
}
