package taxii

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MemStore is the in-memory Store. Per collection it keeps the object
// versions in a slice ordered by date added (binary search for
// added_after and next) and a map from id to versions ordered by
// version, so that GET stays fast with millions of objects. Use
// NewMemStore; it is safe for concurrent use.
type MemStore struct {
	now func() time.Time

	mu       sync.RWMutex            // guards the fields below
	cols     map[string]*memCol      // by collection id
	status   map[string]StatusRecord // by status id
	statusQ  []string                // status ids, oldest first
	maxStats int                     // status resources kept
	names    map[string]string       // interned types and spec versions
}

// MaxStatuses is how many status resources a MemStore keeps; older ones
// are forgotten (404).
const MaxStatuses = 100_000

// memCol is one collection.
type memCol struct {
	entries []*entry            // ordered by added (strictly increasing)
	byID    map[string][]*entry // versions of an object, by ver then spec version
	last    int64               // last date added, µs since the epoch
}

// entry is one stored object version.
type entry struct {
	obj   Object
	added int64 // date added, µs since the epoch
	ver   int64 // version, ns since the epoch
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore reading the time from now
// (time.Now when nil).
func NewMemStore(now func() time.Time) *MemStore {
	if now == nil {
		now = time.Now
	}
	return &MemStore{now: now, cols: map[string]*memCol{}, status: map[string]StatusRecord{}, maxStats: MaxStatuses,
		names: map[string]string{}}
}

// AddObjects implements Store.
func (m *MemStore) AddObjects(_ context.Context, collection string, objs []Object) ([]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cols[collection]
	if c == nil {
		c = &memCol{byID: map[string][]*entry{}}
		m.cols[collection] = c
	}
	out := make([]time.Time, len(objs))
	now := m.now().UnixMicro()
	for i, o := range objs {
		if e := c.find(o); e != nil {
			out[i] = e.obj.DateAdded
			continue
		}
		// Few distinct types and spec versions: share their strings
		// (fewer objects for the garbage collector to mark).
		o.Type, o.SpecVersion = m.intern(o.Type), m.intern(o.SpecVersion)
		added := max(now, c.last+1)
		c.last = added
		o.DateAdded = time.UnixMicro(added).UTC()
		if o.Version.IsZero() {
			o.Version = o.DateAdded
		}
		e := &entry{obj: o, added: added, ver: o.Version.UnixNano()}
		c.entries = append(c.entries, e)
		vs := c.byID[o.ID]
		at := sort.Search(len(vs), func(j int) bool {
			return vs[j].ver > e.ver || vs[j].ver == e.ver && vs[j].obj.SpecVersion > o.SpecVersion
		})
		c.byID[o.ID] = slices.Insert(vs, at, e)
		out[i] = o.DateAdded
	}
	return out, nil
}

// intern returns the shared copy of s (a type or spec version).
func (m *MemStore) intern(s string) string {
	if v, ok := m.names[s]; ok {
		return v
	}
	if len(m.names) < 10_000 {
		m.names[s] = s
	}
	return s
}

// find returns the stored version of o (same id, version and spec
// version), or nil. Objects without a version are never duplicates.
func (c *memCol) find(o Object) *entry {
	if o.Version.IsZero() {
		return nil
	}
	ver := o.Version.UnixNano()
	for _, e := range c.byID[o.ID] {
		if e.ver == ver && e.obj.SpecVersion == o.SpecVersion {
			return e
		}
	}
	return nil
}

// Objects implements Store.
func (m *MemStore) Objects(_ context.Context, collection string, q Query) (Page, error) {
	return m.query(collection, q, true)
}

// Manifest implements Store.
func (m *MemStore) Manifest(_ context.Context, collection string, q Query) (Page, error) {
	return m.query(collection, q, false)
}

func (m *MemStore) query(collection string, q Query, raw bool) (Page, error) {
	from, err := decodeToken(q.Next)
	if err != nil {
		return Page{}, err
	}
	if !q.AddedAfter.IsZero() {
		// Date added has µs precision: after t means from the next µs.
		from = max(from, q.AddedAfter.Truncate(time.Microsecond).UnixMicro())
	}
	limit := max(q.Limit, 1)
	m.mu.RLock()
	defer m.mu.RUnlock()
	c := m.cols[collection]
	if c == nil {
		return Page{}, nil
	}
	size := min(limit+1, 128)
	if len(q.IDs) > 0 {
		size = min(size, 4*len(q.IDs)) // a few versions each
	}
	p := Page{Objects: make([]Object, 0, size)}
	add := func(e *entry) bool {
		if len(p.Objects) == limit {
			p.More = true
			return false
		}
		o := e.obj
		if !raw {
			o.Raw = nil
		}
		p.Objects = append(p.Objects, o)
		return true
	}
	if len(q.IDs) > 0 {
		c.scanIDs(q.Filter, from, add)
	} else {
		c.scan(q.Filter, from, add)
	}
	if p.More {
		p.Next = encodeToken(p.Objects[len(p.Objects)-1].DateAdded.UnixMicro())
	}
	return p, nil
}

// scan calls add for each entry added after from that matches f, in
// date added order, until add returns false.
func (c *memCol) scan(f Filter, from int64, add func(*entry) bool) {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].added > from })
	for _, e := range c.entries[i:] {
		if c.match(f, e) && !add(e) {
			return
		}
	}
}

// scanIDs is scan through the id index.
func (c *memCol) scanIDs(f Filter, from int64, add func(*entry) bool) {
	var es []*entry
	for _, id := range f.IDs {
		for _, e := range c.byID[id] {
			if e.added > from && c.match(f, e) {
				es = append(es, e)
			}
		}
	}
	slices.SortFunc(es, func(a, b *entry) int { return int(a.added - b.added) })
	es = slices.CompactFunc(es, func(a, b *entry) bool { return a == b })
	for _, e := range es {
		if !add(e) {
			return
		}
	}
}

// match reports whether e passes f's type, spec version and version
// selectors (ids and added_after are handled by the scans).
func (c *memCol) match(f Filter, e *entry) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, e.obj.Type) {
		return false
	}
	vs := c.byID[e.obj.ID]
	return eligible(vs, f.SpecVersions, e) && selected(vs, f, e)
}

// eligible reports whether e passes the spec version filter: one of
// specs, or when specs is empty, the latest spec version stored for
// e's version (TAXII's default).
func eligible(vs []*entry, specs []string, e *entry) bool {
	if len(specs) > 0 {
		return slices.Contains(specs, e.obj.SpecVersion)
	}
	for _, v := range vs {
		if v.ver == e.ver && v.obj.SpecVersion > e.obj.SpecVersion {
			return false
		}
	}
	return true
}

// selected reports whether e is among the versions f.Versions selects
// from vs (the versions of e's object, ordered by version then spec
// version), restricted to the eligible ones.
func selected(vs []*entry, f Filter, e *entry) bool {
	if len(f.Versions) == 0 {
		return isLast(vs, f.SpecVersions, e)
	}
	for _, v := range f.Versions {
		switch v.Kind {
		case VersionAll:
			return true
		case VersionLast:
			if isLast(vs, f.SpecVersions, e) {
				return true
			}
		case VersionFirst:
			if isFirst(vs, f.SpecVersions, e) {
				return true
			}
		case VersionAt:
			if e.ver == v.At.UnixNano() {
				return true
			}
		}
	}
	return false
}

func isLast(vs []*entry, specs []string, e *entry) bool {
	for i := len(vs) - 1; i >= 0; i-- {
		if eligible(vs, specs, vs[i]) {
			return vs[i] == e
		}
	}
	return false
}

func isFirst(vs []*entry, specs []string, e *entry) bool {
	for _, v := range vs {
		if eligible(vs, specs, v) {
			return v == e
		}
	}
	return false
}

// Delete implements Store.
func (m *MemStore) Delete(_ context.Context, collection, id string, f Filter) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cols[collection]
	if c == nil {
		return 0, nil
	}
	if len(f.Versions) == 0 {
		f.Versions = []VersionMatch{{Kind: VersionAll}}
	}
	vs := c.byID[id]
	var gone []*entry
	for _, e := range vs {
		if (len(f.SpecVersions) == 0 || slices.Contains(f.SpecVersions, e.obj.SpecVersion)) && deletable(vs, f, e) {
			gone = append(gone, e)
		}
	}
	for _, e := range gone {
		i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].added >= e.added })
		c.entries = slices.Delete(c.entries, i, i+1)
	}
	kept := slices.DeleteFunc(vs, func(e *entry) bool { return slices.Contains(gone, e) })
	if len(kept) == 0 {
		delete(c.byID, id)
	} else {
		c.byID[id] = kept
	}
	return len(gone), nil
}

// deletable is selected for Delete: without a spec version filter,
// first and last pick a version in every spec version.
func deletable(vs []*entry, f Filter, e *entry) bool {
	if len(f.SpecVersions) > 0 {
		return selected(vs, f, e)
	}
	for _, v := range vs {
		if v.ver == e.ver && selected(vs, f, v) {
			return true
		}
	}
	return false
}

// PutStatus implements Store.
func (m *MemStore) PutStatus(_ context.Context, s StatusRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.status[s.ID]; !ok {
		m.statusQ = append(m.statusQ, s.ID)
	}
	m.status[s.ID] = s
	for len(m.statusQ) > m.maxStats {
		delete(m.status, m.statusQ[0])
		m.statusQ = m.statusQ[1:]
	}
	return nil
}

// Status implements Store.
func (m *MemStore) Status(_ context.Context, id string) (StatusRecord, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.status[id]
	if !ok {
		return StatusRecord{}, fmt.Errorf("status %q: %w", id, ErrNotFound)
	}
	return s, nil
}

// Len returns the number of object versions in a collection.
func (m *MemStore) Len(collection string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if c := m.cols[collection]; c != nil {
		return len(c.entries)
	}
	return 0
}

// encodeToken makes the opaque next token: the date added of the last
// object returned.
func encodeToken(added int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("m1:" + strconv.FormatInt(added, 10)))
}

func decodeToken(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadToken, err)
	}
	rest, ok := strings.CutPrefix(string(b), "m1:")
	if !ok {
		return 0, ErrBadToken
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 0 {
		return 0, ErrBadToken
	}
	return n, nil
}
