package nft

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/acd-org/acd/flow"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/nftables"
)

// maxComment is the longest element comment written (nft's limit is 128
// bytes with the terminating NUL).
const maxComment = 127

// want is one desired block: a target prefix, when its element should
// expire in the kernel (not_after plus slack) and the item key.
type want struct {
	p   netip.Prefix
	exp time.Time
	key string
}

// segment is one set element: the inclusive address range [from, to],
// its expiry and the item keys it carries (sorted).
type segment struct {
	from, to netip.Addr
	exp      time.Time
	keys     []string
}

// comment returns the element comment naming s's keys, cut to
// maxComment bytes with a "+N" suffix naming how many were left out.
func (s segment) comment() string { return joinKeys(s.keys) }

func joinKeys(keys []string) string {
	s := strings.Join(keys, " ")
	if len(s) <= maxComment {
		return s
	}
	for n := len(keys) - 1; n > 0; n-- {
		s = strings.Join(keys[:n], " ") + " +" + strconv.Itoa(len(keys)-n)
		if len(s) <= maxComment {
			return s
		}
	}
	return "+" + strconv.Itoa(len(keys))
}

// String writes s as nft does: an address, a prefix or a range.
func (s segment) String() string {
	if p, ok := asPrefix(s.from, s.to); ok {
		if p.IsSingleIP() {
			return p.Addr().String()
		}
		return p.String()
	}
	return s.from.String() + "-" + s.to.String()
}

// asPrefix reports whether [from, to] is exactly one prefix.
func asPrefix(from, to netip.Addr) (netip.Prefix, bool) {
	for bits := 0; bits <= from.BitLen(); bits++ {
		p := netip.PrefixFrom(from, bits)
		if p.Masked().Addr() == from && flow.LastAddr(p) == to {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// segments turns the desired blocks into disjoint elements, in address
// order (IPv4 first). Prefixes are either nested or disjoint: the same
// prefix wanted several times is one element with the latest expiry;
// a prefix inside another splits the outer one, and each piece gets the
// latest expiry and all the keys of the prefixes covering it.
func segments(ws []want) []segment {
	nodes := merge(ws)
	var out []segment
	type frame struct {
		node   want2
		cursor netip.Addr // first address of the node not yet emitted; invalid when none left
		exp    time.Time
		keys   []string
	}
	var stack []frame
	emit := func(f *frame, to netip.Addr) {
		if f.cursor.IsValid() && f.cursor.Compare(to) <= 0 {
			out = append(out, segment{from: f.cursor, to: to, exp: f.exp, keys: f.keys})
		}
	}
	closeTop := func() {
		f := &stack[len(stack)-1]
		last := flow.LastAddr(f.node.p)
		emit(f, last)
		stack = stack[:len(stack)-1]
		if len(stack) > 0 {
			stack[len(stack)-1].cursor = last.Next()
		}
	}
	for _, n := range nodes {
		for len(stack) > 0 && !stack[len(stack)-1].node.p.Contains(n.p.Addr()) {
			closeTop()
		}
		f := frame{node: n, cursor: n.p.Addr(), exp: n.exp, keys: n.keys}
		if len(stack) > 0 {
			parent := &stack[len(stack)-1]
			if prev := n.p.Addr().Prev(); prev.IsValid() {
				emit(parent, prev)
			}
			f.exp = later(parent.exp, n.exp)
			f.keys = union(parent.keys, n.keys)
		}
		stack = append(stack, f)
	}
	for len(stack) > 0 {
		closeTop()
	}
	return coalesce(out)
}

// coalesce merges adjacent segments with the same expiry and keys (the
// pieces of one item rebuilt from the kernel by seed), so that the
// decomposition depends only on what is wanted.
func coalesce(segs []segment) []segment {
	out := segs[:0]
	for _, s := range segs {
		if n := len(out); n > 0 && out[n-1].to.Next() == s.from && out[n-1].exp.Equal(s.exp) &&
			slices.Equal(out[n-1].keys, s.keys) {
			out[n-1].to = s.to
			continue
		}
		out = append(out, s)
	}
	return out
}

// want2 is a prefix wanted by one or more items.
type want2 struct {
	p    netip.Prefix
	exp  time.Time
	keys []string
}

// merge groups the wants by prefix (latest expiry, sorted keys) and
// sorts them by first address, wider prefixes first.
func merge(ws []want) []want2 {
	byPrefix := make(map[netip.Prefix]*want2, len(ws))
	for _, w := range ws {
		p := w.p.Masked()
		n := byPrefix[p]
		if n == nil {
			n = &want2{p: p, exp: w.exp}
			byPrefix[p] = n
		}
		n.exp = later(n.exp, w.exp)
		n.keys = append(n.keys, w.key)
	}
	out := make([]want2, 0, len(byPrefix))
	for _, n := range byPrefix {
		slices.Sort(n.keys)
		n.keys = slices.Compact(n.keys)
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b want2) int {
		return cmp.Or(a.p.Addr().Compare(b.p.Addr()), cmp.Compare(a.p.Bits(), b.p.Bits()))
	})
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// union returns the sorted union of two sorted key lists.
func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	out = append(out, a...)
	out = append(out, b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// elements encodes s as interval set elements: the start (with the
// timeout left at now and the comment) and the end marker (the address
// after the range, omitted when the range runs to the last address).
// The timeout is at least one millisecond.
func (s segment) elements(now time.Time) []nftables.SetElement {
	d := max(s.exp.Sub(now), time.Millisecond)
	els := []nftables.SetElement{{Key: s.from.AsSlice(), Timeout: d, Comment: s.comment()}}
	if next := s.to.Next(); next.IsValid() {
		els = append(els, nftables.SetElement{Key: next.AsSlice(), IntervalEnd: true})
	}
	return els
}

// deleteElements encodes s as the elements that delete it.
func (s segment) deleteElements() []nftables.SetElement {
	els := []nftables.SetElement{{Key: s.from.AsSlice()}}
	if next := s.to.Next(); next.IsValid() {
		els = append(els, nftables.SetElement{Key: next.AsSlice(), IntervalEnd: true})
	}
	return els
}

// errElements is wrapped by decodeElements for a dump it cannot read.
var errElements = errors.New("malformed set elements")

// decodeElements reads the elements of an interval set as the kernel
// dumps them (in any order; end markers flagged IntervalEnd; the
// address after a range's end as its key) into ranges, in address
// order. bytes is the key length (4 or 16). An element's expiry is now
// plus its time left; its keys are read back from its comment. A lone
// end marker (nft's anchor at 0.0.0.0, or the remains of an expired
// range) is skipped; a start without an end runs to the last address.
func decodeElements(els []nftables.SetElement, bytes int, now time.Time) ([]segment, error) {
	type el struct {
		a   netip.Addr
		end bool
		e   nftables.SetElement
	}
	sorted := make([]el, 0, len(els))
	for i, e := range els {
		if len(e.Key) != bytes {
			return nil, fmt.Errorf("%w: element %d has a %d-byte key, want %d", errElements, i, len(e.Key), bytes)
		}
		a, _ := netip.AddrFromSlice(e.Key)
		sorted = append(sorted, el{a: a, end: e.IntervalEnd, e: e})
	}
	// Ends sort before starts at the same address: a range may end
	// right where the next begins.
	slices.SortFunc(sorted, func(x, y el) int {
		if c := x.a.Compare(y.a); c != 0 {
			return c
		}
		switch {
		case x.end == y.end:
			return 0
		case x.end:
			return -1
		}
		return 1
	})
	var out []segment
	var open *el
	for i := range sorted {
		e := &sorted[i]
		switch {
		case !e.end && open != nil:
			if open.a == e.a {
				return nil, fmt.Errorf("%w: %s starts twice", errElements, e.a)
			}
			return nil, fmt.Errorf("%w: range from %s has no end before %s", errElements, open.a, e.a)
		case !e.end:
			open = e
		case open != nil:
			out = append(out, openSegment(open.a, e.a.Prev(), open.e, now))
			open = nil
		}
	}
	if open != nil {
		last := netip.IPv4Unspecified()
		if bytes == 16 {
			last = netip.IPv6Unspecified()
		}
		out = append(out, openSegment(open.a, flow.LastAddr(netip.PrefixFrom(last, 0)), open.e, now))
	}
	return out, nil
}

func openSegment(from, to netip.Addr, e nftables.SetElement, now time.Time) segment {
	s := segment{from: from, to: to, exp: now.Add(e.Expires)}
	if e.Comment != "" {
		s.keys = strings.Fields(e.Comment)
	}
	return s
}
