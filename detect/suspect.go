package detect

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/acd-org/acd/flow"
)

// Key identifies a suspect: an address or prefix, and for a pseudonym its
// key epoch (the same pseudonym in another epoch is another address).
type Key struct {
	Addr     flow.Addr
	Bits     uint8
	Pseudo   bool
	KeyEpoch uint32
}

// String renders the address ("192.0.2.1", "2001:db8::/48").
func (k Key) String() string {
	if k.Bits == 0 {
		return k.Addr.String()
	}
	bits := int(k.Bits)
	if k.Addr.Is4() {
		bits -= 96
	}
	return netip.PrefixFrom(k.Addr.Netip(), bits).String()
}

// Suspect is an address that detectors found taking part in attacks:
// its roles, a score in [0,1] and the evidence, one entry per detector
// and role, merged across windows.
type Suspect struct {
	Key
	Roles     []Role     // sorted
	Score     float64    // 1 - Π(1 - best score per role)
	FirstSeen time.Time  // event time
	LastSeen  time.Time  // event time
	Updated   time.Time  // wall time of the last change
	Evidence  []Evidence // sorted by detector, then role
}

type suspectJSON struct {
	Address   string     `json:"address"`
	Pseudo    bool       `json:"pseudonym,omitempty"`
	KeyEpoch  uint32     `json:"key_epoch,omitempty"`
	Roles     []Role     `json:"roles"`
	Score     float64    `json:"score"`
	FirstSeen time.Time  `json:"first_seen"`
	LastSeen  time.Time  `json:"last_seen"`
	Updated   time.Time  `json:"updated"`
	Evidence  []Evidence `json:"evidence"`
}

// MarshalJSON renders the suspect as the API and acd analyze show it.
func (s Suspect) MarshalJSON() ([]byte, error) {
	j := suspectJSON{Address: s.Key.String(), Pseudo: s.Pseudo, KeyEpoch: s.KeyEpoch, Roles: s.Roles,
		Score: math.Round(s.Score*1e4) / 1e4, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, Updated: s.Updated, Evidence: s.Evidence}
	if j.Roles == nil {
		j.Roles = []Role{}
	}
	if j.Evidence == nil {
		j.Evidence = []Evidence{}
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote (the store keeps suspects so).
func (s *Suspect) UnmarshalJSON(b []byte) error {
	var j suspectJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	k, err := ParseKey(j.Address)
	if err != nil {
		return err
	}
	k.Pseudo, k.KeyEpoch = j.Pseudo, j.KeyEpoch
	*s = Suspect{Key: k, Roles: j.Roles, Score: j.Score, FirstSeen: j.FirstSeen, LastSeen: j.LastSeen, Updated: j.Updated, Evidence: j.Evidence}
	return nil
}

// ParseKey reads an address or prefix as Key.String writes it.
func ParseKey(s string) (Key, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		bits := p.Bits()
		if p.Addr().Is4() {
			bits += 96
		}
		return Key{Addr: flow.AddrFromNetip(p.Masked().Addr()), Bits: uint8(bits)}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Key{}, fmt.Errorf("invalid suspect address %q", s)
	}
	return Key{Addr: flow.AddrFromNetip(a.Unmap())}, nil
}

// HasRole reports whether the suspect plays r.
func (s *Suspect) HasRole(r Role) bool { return slices.Contains(s.Roles, r) }

// Clone returns a deep copy (evidence slices and maps are shared
// read-only: the book never changes an Evidence in place).
func (s *Suspect) Clone() Suspect {
	c := *s
	c.Roles = slices.Clone(s.Roles)
	c.Evidence = slices.Clone(s.Evidence)
	return c
}

// merge adds a finding to the suspect and rescores it.
func (s *Suspect) merge(f *Finding) {
	e := f.Evidence
	e.Role = f.Role
	if e.Findings == 0 {
		e.Findings = 1
	}
	e.Score = Clamp01(e.Score)
	if s.FirstSeen.IsZero() || (!e.First.IsZero() && e.First.Before(s.FirstSeen)) {
		s.FirstSeen = e.First
	}
	if e.Last.After(s.LastSeen) {
		s.LastSeen = e.Last
	}
	i, found := slices.BinarySearchFunc(s.Evidence, e, func(a, b Evidence) int {
		return cmp.Or(cmp.Compare(a.Detector, b.Detector), cmp.Compare(a.Role, b.Role))
	})
	if !found {
		s.Evidence = slices.Insert(s.Evidence, i, e)
	} else {
		old := s.Evidence[i]
		// The stronger (or, at equal strength, the newer) statement
		// stays; times and counts of findings accumulate.
		if e.Score < old.Score {
			e, old = old, e
		}
		if !old.First.IsZero() && (e.First.IsZero() || old.First.Before(e.First)) {
			e.First = old.First
		}
		if old.Last.After(e.Last) {
			e.Last = old.Last
		}
		e.Findings += old.Findings
		s.Evidence[i] = e
	}
	if !slices.Contains(s.Roles, f.Role) {
		s.Roles = append(s.Roles, f.Role)
		slices.Sort(s.Roles)
	}
	s.rescore()
}

func (s *Suspect) rescore() {
	best := map[Role]float64{}
	for _, e := range s.Evidence {
		best[e.Role] = max(best[e.Role], e.Score)
	}
	p := 1.0
	for _, v := range best {
		p *= 1 - v
	}
	s.Score = Clamp01(1 - p)
}

// Filter selects suspects. Zero fields select everything.
type Filter struct {
	Role     Role      // suspects playing this role
	MinScore float64   // score at least
	Since    time.Time // last seen at or after
	Until    time.Time // first seen at or before
	Detector string    // with evidence from this detector
	Address  string    // this address or prefix, exactly
	Limit    int       // at most this many (0: all)
	Offset   int       // skip this many first
}

func (f *Filter) match(s *Suspect) bool {
	switch {
	case f.Role != "" && !s.HasRole(f.Role),
		s.Score < f.MinScore,
		!f.Since.IsZero() && s.LastSeen.Before(f.Since),
		!f.Until.IsZero() && s.FirstSeen.After(f.Until),
		f.Address != "" && s.Key.String() != f.Address:
		return false
	}
	if f.Detector != "" {
		return slices.ContainsFunc(s.Evidence, func(e Evidence) bool { return e.Detector == f.Detector })
	}
	return true
}

// SuspectSink receives every suspect the book changes, in the book's
// lock: it must not block (a store queues and writes in the background).
type SuspectSink interface {
	Suspected(s Suspect)
}

// Book holds the suspects: it merges findings into them, bounded to a
// maximum number (the lowest-scored, longest-unseen suspect goes first),
// and answers queries. It is safe for concurrent use.
type Book struct {
	mu        sync.RWMutex
	m         map[Key]*Suspect
	max       int
	evictions uint64
	sink      SuspectSink
	now       func() time.Time
}

// NewBook returns a book of at most max suspects; sink (may be nil) sees
// every change.
func NewBook(max int, sink SuspectSink) *Book {
	return &Book{m: make(map[Key]*Suspect), max: max, sink: sink, now: time.Now}
}

// Load puts suspects read from a store back into the book (at start),
// up to the book's bound: give them best first.
func (b *Book) Load(ss []Suspect) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range ss {
		if b.max > 0 && len(b.m) >= b.max {
			return
		}
		s := ss[i].Clone()
		b.m[s.Key] = &s
	}
}

// Add merges a finding into its suspect and returns a copy of the result.
func (b *Book) Add(f Finding) Suspect {
	k := Key{Addr: f.Addr, Bits: f.Bits, Pseudo: f.Pseudo}
	if f.Pseudo {
		k.KeyEpoch = f.KeyEpoch
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.m[k]
	if s == nil {
		if b.max > 0 && len(b.m) >= b.max {
			b.evictLocked()
		}
		s = &Suspect{Key: k}
		b.m[k] = s
	}
	s.merge(&f)
	s.Updated = b.now().UTC()
	c := s.Clone()
	if b.sink != nil {
		b.sink.Suspected(c)
	}
	return c
}

// Withdraw removes the evidence detector gave for suspect k (a partner
// revoked its indicator) and returns the suspect as it is left, and
// whether anything was withdrawn. A suspect left without evidence leaves
// the book; the sink still sees it, with no evidence and score 0, so that
// a store forgets it too.
func (b *Book) Withdraw(k Key, detector string) (Suspect, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.m[k]
	if s == nil {
		return Suspect{}, false
	}
	n := len(s.Evidence)
	s.Evidence = slices.DeleteFunc(s.Evidence, func(e Evidence) bool { return e.Detector == detector })
	if len(s.Evidence) == n {
		return s.Clone(), false
	}
	s.Roles = s.Roles[:0]
	for _, e := range s.Evidence {
		if !slices.Contains(s.Roles, e.Role) {
			s.Roles = append(s.Roles, e.Role)
		}
	}
	slices.Sort(s.Roles)
	s.rescore()
	s.Updated = b.now().UTC()
	if len(s.Evidence) == 0 {
		delete(b.m, k)
	}
	c := s.Clone()
	if b.sink != nil {
		b.sink.Suspected(c)
	}
	return c, true
}

func (b *Book) evictLocked() {
	var victim *Suspect
	n := 0
	for _, s := range b.m {
		if victim == nil || s.Score < victim.Score || (s.Score == victim.Score && s.LastSeen.Before(victim.LastSeen)) {
			victim = s
		}
		if n++; n == 16 {
			break
		}
	}
	if victim != nil {
		delete(b.m, victim.Key)
		b.evictions++
	}
}

// Len returns the number of suspects.
func (b *Book) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.m)
}

// Evictions returns how many suspects were dropped to stay within bounds.
func (b *Book) Evictions() uint64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.evictions
}

// Get returns one suspect.
func (b *Book) Get(k Key) (Suspect, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s, ok := b.m[k]
	if !ok {
		return Suspect{}, false
	}
	return s.Clone(), true
}

// Query returns the suspects f selects, highest score first (then latest
// seen, then address), and how many matched before Limit and Offset.
func (b *Book) Query(f Filter) ([]Suspect, int) {
	b.mu.RLock()
	var out []Suspect
	for _, s := range b.m {
		if f.match(s) {
			out = append(out, s.Clone())
		}
	}
	b.mu.RUnlock()
	SortSuspects(out)
	total := len(out)
	if f.Offset > 0 {
		out = out[min(f.Offset, len(out)):]
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, total
}

// SortSuspects orders suspects highest score first, then latest seen,
// then by address.
func SortSuspects(ss []Suspect) {
	slices.SortFunc(ss, func(a, b Suspect) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), b.LastSeen.Compare(a.LastSeen), cmp.Compare(a.Key.String(), b.Key.String()))
	})
}
