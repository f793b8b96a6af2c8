package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/share"
)

// ErrUnsupported is returned (wrapped) by a Sink for a candidate it does
// not take, such as a domain for BookSink; the Poller counts and skips
// it.
var ErrUnsupported = errors.New("exchange: target not supported by the sink")

// Sink takes the suspect candidates partners send. Add is called for a
// live candidate (with a role), Withdraw for a revoked or expired one;
// both must be idempotent enough to see the same candidate again after
// a restart (the bookmark is saved after the sink took a batch).
type Sink interface {
	Add(in share.Incoming) error
	Withdraw(in share.Incoming) error
}

// BookSink is the Sink of a detect.Book: a candidate becomes a finding
// of detector "partner:<name>" (role, score, reason, first and last
// seen, the partner's confidence in Counts), and a withdrawal removes
// that detector's evidence from the suspect. Domain targets are not
// addresses: they return ErrUnsupported (the lead routes them to RPZ
// cases).
type BookSink struct {
	Book   *detect.Book
	Logger *slog.Logger // nil: discard
}

// Add implements Sink.
func (s BookSink) Add(in share.Incoming) error {
	k, err := s.key(in)
	if err != nil {
		return err
	}
	f := detect.Finding{Addr: k.Addr, Bits: k.Bits, Role: in.Role, Evidence: detect.Evidence{
		Detector: PartnerDetectorPrefix + in.Provenance.Partner, Role: in.Role, Score: in.Score,
		Reason: in.Reason(), First: in.FirstSeen, Last: in.LastSeen, Findings: 1,
		Counts: map[string]float64{"confidence": float64(in.Confidence)},
	}}
	s.Book.Add(f)
	return nil
}

// Withdraw implements Sink.
func (s BookSink) Withdraw(in share.Incoming) error {
	k, err := s.key(in)
	if err != nil {
		return err
	}
	s.Book.Withdraw(k, PartnerDetectorPrefix+in.Provenance.Partner)
	return nil
}

func (s BookSink) key(in share.Incoming) (detect.Key, error) {
	if in.Target.Domain != "" || !in.Target.Prefix.IsValid() {
		if s.Logger != nil {
			s.Logger.Info("partner candidate is not an address; skipped", "partner", in.Provenance.Partner,
				"target", in.Target.String(), "object", in.Provenance.ObjectID)
		}
		return detect.Key{}, fmt.Errorf("unable to take %s from %s: %w", in.Target.String(), in.Provenance.Partner, ErrUnsupported)
	}
	k, err := detect.ParseKey(in.Target.String())
	if err != nil {
		return detect.Key{}, fmt.Errorf("unable to take %s from %s: %w", in.Target.String(), in.Provenance.Partner, err)
	}
	return k, nil
}

// Bookmarks keep, per partner and collection, the date added of the
// last object taken in: the next poll asks for what was added after.
// Implementations are safe for concurrent use; the lead backs one with
// the store.
type Bookmarks interface {
	// Get returns the bookmark (zero: poll from the start).
	Get(ctx context.Context, partner, collection string) (time.Time, error)
	// Set records the bookmark.
	Set(ctx context.Context, partner, collection string, t time.Time) error
}

// MemBookmarks is an in-memory Bookmarks. The zero value is ready.
type MemBookmarks struct {
	mu sync.Mutex              // guards m
	m  map[[2]string]time.Time // by partner, collection
}

// Get implements Bookmarks.
func (b *MemBookmarks) Get(_ context.Context, partner, collection string) (time.Time, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[[2]string{partner, collection}], nil
}

// Set implements Bookmarks.
func (b *MemBookmarks) Set(_ context.Context, partner, collection string, t time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[[2]string]time.Time{}
	}
	b.m[[2]string{partner, collection}] = t
	return nil
}

var (
	_ Sink      = BookSink{}
	_ Bookmarks = (*MemBookmarks)(nil)
)
