package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/acd-org/acd/intel/taxii"
	"github.com/acd-org/acd/intel/taxii/client"
)

// PushTarget is a partner that takes acd's objects by push: what the
// publisher put into the local collections shared with it is POSTed to
// its collection Collection at APIRoot.
type PushTarget struct {
	Partner    string
	Local      []string // acd's collections shared with the partner (its agreement's outgoing collections)
	Client     *client.Client
	APIRoot    string // the partner's API root URL
	Collection string // the partner's collection acd writes to
}

// Pusher forwards, every Every (default 30 s), the object versions added
// to acd's local collections since the last push to each push target,
// in envelopes of at most Batch objects, following the status resource
// (client.Post) and moving the bookmark only past what the partner
// accepted. What the publisher put into a collection has passed the
// partner's gate already: the pusher does not decide again.
type Pusher struct {
	Store     taxii.Store // acd's TAXII store
	Targets   []PushTarget
	Bookmarks Bookmarks // nil: in memory
	Batch     int       // default 500
	Every     time.Duration
	Logger    *slog.Logger

	once sync.Once
	run  sync.Mutex
	loop loop
}

// PushStats counts what one Pusher.Run did.
type PushStats struct {
	Pushed, Failed int
}

func (p *Pusher) init() {
	p.once.Do(func() {
		if p.Bookmarks == nil {
			p.Bookmarks = &MemBookmarks{}
		}
		if p.Batch <= 0 {
			p.Batch = 500
		}
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// Run pushes once to every target; a target's failure does not stop the
// others.
func (p *Pusher) Run(ctx context.Context) (PushStats, error) {
	p.init()
	p.run.Lock()
	defer p.run.Unlock()
	var (
		st   PushStats
		errs []error
	)
	for _, t := range p.Targets {
		for _, col := range t.Local {
			if err := p.push(ctx, t, col, &st); err != nil {
				errs = append(errs, fmt.Errorf("push %s to %s: %w", col, t.Partner, err))
			}
		}
	}
	return st, errors.Join(errs...)
}

// push sends what col gained since the bookmark of (partner, "push:"+col).
func (p *Pusher) push(ctx context.Context, t PushTarget, col string, st *PushStats) error {
	mark := "push:" + col
	after, err := p.Bookmarks.Get(ctx, t.Partner, mark)
	if err != nil {
		return err
	}
	q := taxii.Query{Filter: taxii.Filter{AddedAfter: after, Versions: []taxii.VersionMatch{{Kind: taxii.VersionAll}}}, Limit: p.Batch}
	for {
		page, err := p.Store.Objects(ctx, col, q)
		if err != nil {
			return err
		}
		if len(page.Objects) == 0 {
			return nil
		}
		raws := make([]json.RawMessage, 0, len(page.Objects))
		for _, o := range page.Objects {
			raws = append(raws, o.Raw)
		}
		status, err := t.Client.Post(ctx, t.APIRoot, t.Collection, raws)
		if err != nil {
			st.Failed += len(raws)
			return err
		}
		if status.FailureCount > 0 {
			st.Failed += status.FailureCount
			p.Logger.Warn("partner refused objects", "partner", t.Partner, "failures", status.FailureCount, "first", status.Failures[0].Message)
		}
		st.Pushed += status.SuccessCount
		if err := p.Bookmarks.Set(ctx, t.Partner, mark, page.Objects[len(page.Objects)-1].DateAdded); err != nil {
			return err
		}
		if !page.More {
			return nil
		}
		q.Next = page.Next
	}
}

// Start pushes every Every until Stop.
func (p *Pusher) Start(ctx context.Context) error {
	p.init()
	every := p.Every
	if every <= 0 {
		every = DefaultPublishEvery
	}
	return p.loop.start(ctx, every, func(ctx context.Context) {
		if _, err := p.Run(ctx); err != nil && ctx.Err() == nil {
			p.Logger.Warn("push failed (retried next period)", "err", err)
		}
	})
}

// Stop stops pushing.
func (p *Pusher) Stop() { p.loop.stop() }
