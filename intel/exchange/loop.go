package exchange

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errStarted is returned by Start when the loop already runs.
var errStarted = errors.New("exchange: already started")

// loop runs a function at once and then every interval, until stopped.
type loop struct {
	mu     sync.Mutex // guards cancel and done
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs fn in a goroutine now and every interval after, until ctx
// ends or stop is called.
func (l *loop) start(ctx context.Context, every time.Duration, fn func(context.Context)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return errStarted
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			fn(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}(l.done)
	return nil
}

// stop ends the loop and waits for the running fn to return.
func (l *loop) stop() {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.cancel, l.done = nil, nil
	l.mu.Unlock()
	if done == nil {
		return
	}
	cancel()
	<-done
}
