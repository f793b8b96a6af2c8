package bgp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"reflect"
	"slices"
	"strings"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/enforce"
)

// maxDetails bounds Drift.Details.
const maxDetails = 40

// Apply announces the route that carries out action a of case c (an
// rtbh host route or a flowspec rule). It is idempotent; when another
// item already wants the same FlowSpec rule at another rate, the lowest
// rate (drop before any limit) is announced.
func (s *Speaker) Apply(ctx context.Context, c cases.Case, a cases.Action) error {
	r, err := s.b.build(a)
	if err != nil {
		return fmt.Errorf("bgp: case %s: %w", c.ID, err)
	}
	item, err := itemKey(c, a)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ErrNotRunning
	}
	rk := r.key()
	if old, ok := s.items[item]; ok && old != rk {
		// The same item asked for another route (e.g. a new rate): drop
		// its claim on the old one first.
		if err := s.release(ctx, item); err != nil {
			return err
		}
	}
	own := s.owners[rk]
	if own == nil {
		own = map[string]route{}
	}
	prev, had := own[item]
	own[item] = r
	if err := s.announce(ctx, effective(own)); err != nil {
		if had {
			own[item] = prev
		} else {
			delete(own, item)
		}
		return fmt.Errorf("bgp: case %s: unable to announce %s: %w", c.ID, r, err)
	}
	s.owners[rk], s.items[item] = own, rk
	return nil
}

// Withdraw removes the claim of action a of case c on its route and
// withdraws the route when no other item wants it. Withdrawing what is
// not there is not an error.
func (s *Speaker) Withdraw(ctx context.Context, c cases.Case, a cases.Action) error {
	if _, err := itemKey(c, a); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ErrNotRunning
	}
	// A case may list the same action twice: Withdraw cannot tell
	// which is meant and releases both (they have the same window).
	for i, x := range c.Actions {
		if sameAction(x, a) {
			if err := s.release(ctx, enforce.ItemKey(c.ID, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// release drops item's claim and withdraws or re-announces its route.
func (s *Speaker) release(ctx context.Context, item string) error {
	rk, ok := s.items[item]
	if !ok {
		return nil
	}
	own := s.owners[rk]
	r := own[item]
	delete(own, item)
	delete(s.items, item)
	if len(own) == 0 {
		delete(s.owners, rk)
		if err := s.withdraw(ctx, r); err != nil {
			own[item], s.owners[rk], s.items[item] = r, own, rk
			return fmt.Errorf("bgp: unable to withdraw %s (%s): %w", r, item, err)
		}
		return nil
	}
	if err := s.announce(ctx, effective(own)); err != nil {
		return fmt.Errorf("bgp: unable to announce %s for its other items: %w", effective(own), err)
	}
	return nil
}

// itemKey finds action a among c's actions: its enforce.ItemKey.
func itemKey(c cases.Case, a cases.Action) (string, error) {
	if i := slices.IndexFunc(c.Actions, func(x cases.Action) bool { return sameAction(x, a) }); i >= 0 {
		return enforce.ItemKey(c.ID, i), nil
	}
	return "", fmt.Errorf("bgp: action %s %s is not one of case %s's actions", a.Type, a.Target, c.ID)
}

func sameAction(x, y cases.Action) bool {
	return x.Type == y.Type && x.Target == y.Target && x.NotBefore.Equal(y.NotBefore) && x.NotAfter.Equal(y.NotAfter) &&
		reflect.DeepEqual(x.Scope, y.Scope) && maps.Equal(x.Params, y.Params)
}

// effective is the route announced for the items wanting one NLRI: the
// lowest rate, ties broken by item key.
func effective(own map[string]route) route {
	keys := slices.Sorted(maps.Keys(own))
	best := own[keys[0]]
	for _, k := range keys[1:] {
		if own[k].rate < best.rate {
			best = own[k]
		}
	}
	return best
}

func (s *Speaker) announce(ctx context.Context, r route) error {
	p, err := apiutil.NewPath(r.nlri, false, r.attrs, time.Now())
	if err != nil {
		return fmt.Errorf("unable to encode the path: %w", err)
	}
	_, err = s.srv.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: p})
	return err
}

func (s *Speaker) withdraw(ctx context.Context, r route) error {
	p, err := apiutil.NewPath(r.nlri, true, r.attrs, time.Now())
	if err != nil {
		return fmt.Errorf("unable to encode the path: %w", err)
	}
	return s.srv.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Family: p.Family, Path: p})
}

// ribPath is one of acd's paths found in the RIB.
type ribPath struct {
	r   route
	sig string
}

// listOurs returns acd's paths in the global RIB (locally originated,
// with acd's marker), by route key.
func (s *Speaker) listOurs(ctx context.Context) (map[string]ribPath, error) {
	out := map[string]ribPath{}
	var errs []error
	for _, f := range Families() {
		rf := familyRF(f)
		afi, safi := bgp.RouteFamilyToAfiSafi(rf)
		req := &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: &api.Family{Afi: api.Family_Afi(afi), Safi: api.Family_Safi(safi)},
			EnableOnlyBinary: true}
		err := s.srv.ListPath(ctx, req, func(d *api.Destination) {
			for _, p := range d.Paths {
				if rp, ok, err := s.ourPath(rf, p); err != nil {
					errs = append(errs, err)
				} else if ok {
					out[rp.r.key()] = rp
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("unable to list the %s paths: %w", f, err)
		}
	}
	return out, errors.Join(errs...)
}

// ourPath decodes p (listed with binary NLRI and attributes) and
// reports whether it is acd's. It decodes only the attributes Sync
// compares, and leaves the NLRI encoded (route.decoded decodes it).
// GoBGP's decoders panic on some malformed input (FuzzRIBPath found one
// in the FlowSpec NLRI decoder); a panic is returned as an error.
func (s *Speaker) ourPath(rf bgp.RouteFamily, p *api.Path) (rp ribPath, ok bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			rp, ok, err = ribPath{}, false, fmt.Errorf("unable to decode a %s path from the RIB: %v", rf, v)
		}
	}()
	if p.IsWithdraw || !isLocal(p) {
		return ribPath{}, false, nil
	}
	if len(p.NlriBinary) == 0 {
		return ribPath{}, false, fmt.Errorf("a %s path from the RIB has no binary NLRI", rf)
	}
	attrs, err := decodeAttrs(rf, p.PattrsBinary)
	if err != nil {
		return ribPath{}, false, fmt.Errorf("unable to decode the attributes of a %s path from the RIB: %w", rf, err)
	}
	if !isOurs(s.cfg.ASN, attrs) {
		return ribPath{}, false, nil
	}
	return ribPath{r: route{family: rf, wire: p.NlriBinary, attrs: attrs}, sig: signature(rf, attrs)}, true, nil
}

// decodeAttrs decodes the attributes signature looks at (next hop,
// communities, extended and large communities, and MP_REACH_NLRI for
// the IPv6 next hop) from their wire encodings.
func decodeAttrs(rf bgp.RouteFamily, raw [][]byte) ([]bgp.PathAttributeInterface, error) {
	var out []bgp.PathAttributeInterface
	for _, b := range raw {
		if len(b) < 2 {
			return nil, fmt.Errorf("attribute of %d bytes", len(b))
		}
		switch bgp.BGPAttrType(b[1]) {
		case bgp.BGP_ATTR_TYPE_NEXT_HOP, bgp.BGP_ATTR_TYPE_COMMUNITIES, bgp.BGP_ATTR_TYPE_EXTENDED_COMMUNITIES, bgp.BGP_ATTR_TYPE_LARGE_COMMUNITY:
		case bgp.BGP_ATTR_TYPE_MP_REACH_NLRI:
			if rf == bgp.RF_IPv6_UC {
				nh, err := mpReachNextHop(b)
				if err != nil {
					return nil, err
				}
				out = append(out, &bgp.PathAttributeMpReachNLRI{Nexthop: nh})
			}
			continue
		default:
			continue
		}
		a, err := bgp.GetPathAttribute(b)
		if err != nil {
			return nil, err
		}
		if err := a.DecodeFromBytes(b); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// mpReachNextHop reads the (first) next hop of an MP_REACH_NLRI
// attribute (RFC 4760: flags, type, length, AFI, SAFI, next hop length,
// next hop) without decoding its NLRI.
func mpReachNextHop(b []byte) (net.IP, error) {
	hdr := 3
	if b[0]&0x10 != 0 { // extended length
		hdr = 4
	}
	if len(b) < hdr+4 {
		return nil, fmt.Errorf("MP_REACH_NLRI of %d bytes", len(b))
	}
	n := int(b[hdr+3])
	nh := b[hdr+4:]
	if n > len(nh) {
		return nil, fmt.Errorf("MP_REACH_NLRI next hop of %d bytes in %d", n, len(nh))
	}
	switch {
	case n == 4 || n == 16:
		return net.IP(slices.Clone(nh[:n])), nil
	case n == 32: // global and link-local
		return net.IP(slices.Clone(nh[:16])), nil
	}
	return nil, fmt.Errorf("MP_REACH_NLRI next hop of %d bytes", n)
}

// decoded returns r with its NLRI decoded from r.wire.
func (r route) decoded() (_ route, err error) {
	if r.nlri != nil {
		return r, nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("unable to decode a %s NLRI: %v", r.family, v)
		}
	}()
	afi, safi := bgp.RouteFamilyToAfiSafi(r.family)
	nlri, err := bgp.NewPrefixFromRouteFamily(afi, safi)
	if err != nil {
		return r, err
	}
	if err := nlri.DecodeFromBytes(r.wire); err != nil {
		return r, fmt.Errorf("unable to decode a %s NLRI: %w", r.family, err)
	}
	r.nlri = nlri
	return r, nil
}

// isLocal reports whether p was originated by this speaker rather than
// received (the import policy rejects received routes anyway).
func isLocal(p *api.Path) bool {
	switch p.NeighborIp {
	case "", "<nil>", "0.0.0.0", "::":
		return true
	}
	return false
}

// Sync makes the RIB hold exactly the routes desired asks for: it
// announces the missing ones and those whose attributes differ, and
// withdraws acd's paths (those with its marker) that no item wants.
// Missing and Changed count items, Extra counts paths. An item that
// cannot be built (refused) is reported in the error and left out; the
// rest is still repaired. Session resets since the previous Sync are
// named in Details (GoBGP announced the routes again when each session
// came back).
func (s *Speaker) Sync(ctx context.Context, desired []enforce.Item) (enforce.Drift, error) {
	d := enforce.Drift{Desired: len(desired)}
	want, items, errs := s.desired(desired)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return d, ErrNotRunning
	}
	rib, err := s.listOurs(ctx)
	if err != nil {
		return d, fmt.Errorf("bgp: unable to read the RIB: %w", err)
	}
	for _, rk := range sortedKeys(want) {
		e := effective(want[rk])
		got, ok := rib[rk]
		if ok && got.sig == signature(e.family, e.attrs) {
			continue
		}
		if err := s.announce(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("unable to announce %s: %w", e, err))
			continue
		}
		if ok {
			d.Changed += len(want[rk])
			addDetail(&d, "changed", e, want[rk])
		} else {
			d.Missing += len(want[rk])
			addDetail(&d, "missing", e, want[rk])
		}
	}
	for _, rk := range sortedKeys(rib) {
		if _, ok := want[rk]; ok {
			continue
		}
		r, err := rib[rk].r.decoded()
		if err == nil {
			err = s.withdraw(ctx, r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("unable to withdraw %s: %w", r, err))
			continue
		}
		d.Extra++
		addDetail(&d, "extra", r, nil)
	}
	s.owners, s.items = want, items
	if n := s.takeResets(); n > 0 {
		if len(d.Details) < maxDetails {
			d.Details = append(d.Details, fmt.Sprintf("%d BGP session reset(s) since the last sync; routes re-announced on re-establishment", n))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return d, fmt.Errorf("bgp: sync: %w", err)
	}
	return d, nil
}

// desired builds the routes of items: route key → item key → route,
// item key → route key, and the refusals.
func (s *Speaker) desired(desired []enforce.Item) (map[string]map[string]route, map[string]string, []error) {
	want, items := map[string]map[string]route{}, map[string]string{}
	var errs []error
	for _, it := range desired {
		r, err := s.b.build(it.Action)
		if err != nil {
			errs = append(errs, fmt.Errorf("item %s: %w", it.Key(), err))
			continue
		}
		rk := r.key()
		if want[rk] == nil {
			want[rk] = map[string]route{}
		}
		want[rk][it.Key()] = r
		items[it.Key()] = rk
	}
	return want, items, errs
}

func (s *Speaker) takeResets() int {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	n := s.resets
	s.resets = 0
	return n
}

// addDetail names a repair: "missing ipv4-unicast 203.0.113.7/32
// (c1/0,c2/0)".
func addDetail(d *enforce.Drift, what string, r route, own map[string]route) {
	if len(d.Details) >= maxDetails {
		return
	}
	s := what + " " + r.String()
	if len(own) > 0 {
		s += " (" + strings.Join(sortedKeys(own), ",") + ")"
	}
	d.Details = append(d.Details, s)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
