package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Kinds of Problem.
const (
	ProblemHash      = "hash"      // an entry's content does not match its hash: edited
	ProblemLink      = "link"      // an entry's prev is not the previous entry's hash
	ProblemGap       = "gap"       // sequence numbers are missing: entries deleted (or moved)
	ProblemOrder     = "order"     // a sequence number repeats or goes back: reordered or duplicated
	ProblemSignature = "signature" // a checkpoint's signature does not verify with the public key
	ProblemRewritten = "rewritten" // a checkpoint signs a hash the chain does not have at its seq
	ProblemTruncated = "truncated" // a checkpoint signs an entry past the end of the chain
	ProblemMalformed = "malformed" // a record cannot be read
)

// maxProblems bounds the problems a Report keeps (the first ones by seq
// are the useful ones; a wholesale rewrite would list every entry).
const maxProblems = 1000

// Problem is one thing wrong with the log.
type Problem struct {
	// Seq is the first sequence number concerned.
	Seq int64 `json:"seq"`
	// Kind is one of the Problem* constants.
	Kind string `json:"kind"`
	// Detail says what is wrong, for a person.
	Detail string `json:"detail"`
}

func (p Problem) String() string { return fmt.Sprintf("seq %d: %s: %s", p.Seq, p.Kind, p.Detail) }

// Report is the outcome of a verification.
type Report struct {
	// Entries is the number of entries read; FirstSeq and LastSeq the
	// lowest and highest sequence numbers among them.
	Entries  int64 `json:"entries"`
	FirstSeq int64 `json:"first_seq"`
	LastSeq  int64 `json:"last_seq"`
	// Checkpoints is the number of checkpoints read, of which Valid had a
	// good signature and a hash the chain has at their seq.
	Checkpoints int `json:"checkpoints"`
	Valid       int `json:"valid_checkpoints"`
	// SignedThrough is the highest seq a valid checkpoint covers (0:
	// none). Entries after it are the unverified Tail: they chain, but an
	// edit that recomputed their hashes could not be told apart until the
	// next checkpoint.
	SignedThrough int64 `json:"signed_through"`
	Tail          int64 `json:"unverified_tail"`
	// Key is the fingerprint of the public key used.
	Key string `json:"key"`
	// Problems lists what is wrong, by seq (at most 1000; Truncated says
	// whether more were found).
	Problems  []Problem `json:"problems"`
	Truncated bool      `json:"problems_truncated,omitempty"`
}

// OK reports whether no problem was found. An unverified tail is not a
// problem (see Tail).
func (r Report) OK() bool { return len(r.Problems) == 0 }

// First returns the problem with the lowest seq.
func (r Report) First() (Problem, bool) {
	if len(r.Problems) == 0 {
		return Problem{}, false
	}
	return r.Problems[0], true
}

// Err returns nil when r is OK, else an error naming the first broken
// seq and the number of problems.
func (r Report) Err() error {
	p, ok := r.First()
	if !ok {
		return nil
	}
	more := ""
	if n := len(r.Problems); n > 1 {
		more = fmt.Sprintf(" (and %d more problems)", n-1)
	}
	return fmt.Errorf("audit log broken at seq %d: %s: %s%s", p.Seq, p.Kind, p.Detail, more)
}

// Summary describes r in one or two lines.
func (r Report) Summary() string {
	var b strings.Builder
	if r.Entries == 0 {
		b.WriteString("no entries")
	} else {
		fmt.Fprintf(&b, "%d entries (seq %d..%d), %d of %d checkpoints valid (key %s)", r.Entries, r.FirstSeq, r.LastSeq, r.Valid, r.Checkpoints, r.Key)
	}
	if r.Tail > 0 {
		fmt.Fprintf(&b, "\nunverified tail: %d entries after seq %d are chained but not yet signed by a checkpoint", r.Tail, r.SignedThrough)
	}
	return b.String()
}

// Options tune a Verifier.
type Options struct {
	// Partial accepts a chain that starts after seq 1 (an export of a
	// range): its first entry's prev is taken on trust, and checkpoints
	// before it are ignored. Without it, a missing start is a gap.
	Partial bool
}

// Verifier checks entries and checkpoints fed to it in any order (entries
// are expected in seq order; anything else is reported). It keeps 32
// bytes per entry. Not safe for concurrent use.
type Verifier struct {
	pub  ed25519.PublicKey
	opts Options

	n         int64
	first     int64
	last      int64
	lastHash  string
	base      int64      // seq of hashes[0]
	hashes    [][32]byte // by seq from base, while seqs are contiguous
	others    map[int64][32]byte
	cps       []Checkpoint
	problems  []Problem
	truncated bool
}

// NewVerifier returns a Verifier checking signatures with pub.
func NewVerifier(pub ed25519.PublicKey, opts Options) *Verifier {
	return &Verifier{pub: pub, opts: opts, others: map[int64][32]byte{}}
}

func (v *Verifier) problem(seq int64, kind, format string, args ...any) {
	if len(v.problems) >= maxProblems {
		v.truncated = true
		return
	}
	v.problems = append(v.problems, Problem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// Malformed records a record that could not be read (at line, if known);
// it is placed after the last entry read.
func (v *Verifier) Malformed(where string, err error) {
	v.problem(v.last+1, ProblemMalformed, "%s: %v", where, err)
}

// Entry checks e against its hash and the entry before it.
func (v *Verifier) Entry(e Entry) {
	v.n++
	switch {
	case v.n == 1:
		v.first = e.Seq
		switch {
		case e.Seq < 1:
			v.problem(e.Seq, ProblemOrder, "sequence numbers start at 1, not %d", e.Seq)
		case e.Seq > 1 && !v.opts.Partial:
			v.problem(1, ProblemGap, "the chain starts at seq %d: entries 1..%d are missing (verify a range export as partial)", e.Seq, e.Seq-1)
		case e.Seq == 1 && e.Prev != Genesis:
			v.problem(1, ProblemLink, "entry 1's prev is %s, not the genesis (zeros)", short(e.Prev))
		}
	case e.Seq == v.last+1:
		if e.Prev != v.lastHash {
			v.problem(e.Seq, ProblemLink, "prev %s is not entry %d's hash %s", short(e.Prev), v.last, short(v.lastHash))
		}
	case e.Seq > v.last+1:
		v.problem(v.last+1, ProblemGap, "seq %d follows seq %d: entries %s missing or out of place", e.Seq, v.last, span(v.last+1, e.Seq-1))
	default:
		v.problem(e.Seq, ProblemOrder, "seq %d follows seq %d: entries reordered or duplicated", e.Seq, v.last)
	}
	if got := e.ComputeHash(); got != e.Hash {
		v.problem(e.Seq, ProblemHash, "content does not match the entry's hash (edited): stored %s, computed %s", short(e.Hash), short(got))
	}
	v.remember(e.Seq, e.Hash)
	if e.Seq > v.last || v.n == 1 {
		v.last, v.lastHash = e.Seq, e.Hash
	}
	v.first = min(v.first, e.Seq)
}

// remember keeps an entry's stored hash for checking checkpoints.
func (v *Verifier) remember(seq int64, hash string) {
	var h [32]byte
	if b, err := hex.DecodeString(hash); err == nil && len(b) == sha256.Size {
		copy(h[:], b)
	} else {
		h = sha256.Sum256([]byte("malformed:" + hash)) // never equal to a real hash
	}
	if len(v.hashes) == 0 {
		v.base = seq
	}
	if seq == v.base+int64(len(v.hashes)) {
		v.hashes = append(v.hashes, h)
		return
	}
	if _, dup := v.others[seq]; !dup && !v.inSlice(seq) {
		v.others[seq] = h
	}
}

func (v *Verifier) inSlice(seq int64) bool {
	return seq >= v.base && seq < v.base+int64(len(v.hashes))
}

// hashAt returns the stored hash of entry seq, if read.
func (v *Verifier) hashAt(seq int64) ([32]byte, bool) {
	if v.inSlice(seq) {
		return v.hashes[seq-v.base], true
	}
	h, ok := v.others[seq]
	return h, ok
}

// Checkpoint records a checkpoint; it is checked by Report.
func (v *Verifier) Checkpoint(c Checkpoint) { v.cps = append(v.cps, c) }

// Report checks the checkpoints against the chain and returns the outcome.
func (v *Verifier) Report() Report {
	// The checkpoint problems are added for this report only.
	saved, savedTrunc := len(v.problems), v.truncated
	defer func() { v.problems, v.truncated = v.problems[:saved], savedTrunc }()
	r := Report{Entries: v.n, Checkpoints: len(v.cps), Key: Fingerprint(v.pub)}
	if v.n > 0 {
		r.FirstSeq, r.LastSeq = v.first, v.last
	}
	cps := slices.Clone(v.cps)
	slices.SortStableFunc(cps, func(a, b Checkpoint) int { return cmpInt(a.Seq, b.Seq) })
	var good int64 // last seq a valid checkpoint covers
	if v.opts.Partial && v.n > 0 {
		good = v.first - 1 // the partial chain's anchor is taken on trust
	}
	for _, c := range cps {
		if v.opts.Partial && v.n > 0 && c.Seq < v.first {
			r.Checkpoints--
			continue
		}
		if !c.VerifySignature(v.pub) {
			who := ""
			if c.Key != "" && c.Key != r.Key {
				who = fmt.Sprintf(" (signed by key %s, verifying with key %s)", c.Key, r.Key)
			}
			v.problem(c.Seq, ProblemSignature, "checkpoint at seq %d made %s: bad signature%s", c.Seq, c.Time.UTC().Format("2006-01-02T15:04:05Z"), who)
			continue
		}
		h, ok := v.hashAt(c.Seq)
		switch {
		case !ok && (v.n == 0 || c.Seq > v.last):
			v.problem(v.last+1, ProblemTruncated, "a valid checkpoint signs seq %d but the chain ends at seq %d: entries %s deleted", c.Seq, v.last, span(v.last+1, c.Seq))
			continue
		case !ok:
			v.problem(c.Seq, ProblemGap, "a valid checkpoint signs seq %d, which is missing", c.Seq)
			continue
		case hex.EncodeToString(h[:]) != c.Hash:
			v.problem(good+1, ProblemRewritten, "the checkpoint at seq %d signs hash %s but the chain has %s: entries %s were rewritten", c.Seq, short(c.Hash), short(hex.EncodeToString(h[:])), span(good+1, c.Seq))
			continue
		}
		r.Valid++
		good = max(good, c.Seq)
	}
	if r.Valid > 0 {
		r.SignedThrough = good
	}
	if v.n > 0 && v.last > good {
		r.Tail = min(v.last-good, v.n)
	}
	slices.SortStableFunc(v.problems, func(a, b Problem) int { return cmpInt(a.Seq, b.Seq) })
	r.Problems = slices.Clone(v.problems)
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	r.Truncated = v.truncated
	return r
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// span writes a range of seqs.
func span(from, to int64) string {
	if from == to {
		return fmt.Sprint(from)
	}
	return fmt.Sprintf("%d..%d", from, to)
}

// short abbreviates a hash for messages.
func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
