package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/acd-org/acd/enforce/crowdsec"
	"github.com/acd-org/acd/flow"
)

// maxStreamBody bounds a decisions stream answer read by the bouncer.
const maxStreamBody = 16 << 20

// banList is what a CrowdSec bouncer holds: the addresses and prefixes
// acd's Local API told it to ban, each until its decision's end. It is
// safe for concurrent use: the puller writes, the sender reads.
type banList struct {
	mu sync.RWMutex
	// bans maps a decision's (scope, value) to its end; guarded by mu.
	bans map[string]banEntry
}

type banEntry struct {
	prefix netip.Prefix
	until  time.Time // zero: no end given
}

func newBanList() *banList { return &banList{bans: map[string]banEntry{}} }

// apply takes one stream answer as a bouncer does: deletions first (by
// value), then the new decisions. Decisions that are not bans, or whose
// value does not parse, are skipped and counted in the returned error.
func (b *banList) apply(r crowdsec.StreamResponse, startup bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if startup { // a startup answer is the whole state: what it lacks is over
		clear(b.bans)
	}
	var bad []string
	for _, d := range r.Deleted {
		delete(b.bans, d.Scope+"|"+d.Value)
	}
	for _, d := range r.New {
		if !strings.EqualFold(d.Type, crowdsec.TypeBan) {
			continue
		}
		p, err := decisionPrefix(d)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		e := banEntry{prefix: p}
		if d.Until != "" {
			if t, err := time.Parse(time.RFC3339, d.Until); err == nil {
				e.until = t
			}
		}
		b.bans[d.Scope+"|"+d.Value] = e
	}
	if len(bad) > 0 {
		return fmt.Errorf("unable to use %d decision(s): %s", len(bad), strings.Join(bad, "; "))
	}
	return nil
}

// decisionPrefix reads an Ip or Range decision's value.
func decisionPrefix(d crowdsec.Decision) (netip.Prefix, error) {
	switch {
	case strings.EqualFold(d.Scope, crowdsec.ScopeIP):
		a, err := netip.ParseAddr(d.Value)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("decision %d: value %q is not an address", d.ID, d.Value)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	case strings.EqualFold(d.Scope, crowdsec.ScopeRange):
		p, err := netip.ParsePrefix(d.Value)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("decision %d: value %q is not a prefix", d.ID, d.Value)
		}
		return p.Masked(), nil
	default:
		return netip.Prefix{}, fmt.Errorf("decision %d: scope %q is neither Ip nor Range", d.ID, d.Scope)
	}
}

// len returns how many decisions are held.
func (b *banList) len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.bans)
}

// banned tells whether a is banned at now.
func (b *banList) banned(a netip.Addr, now time.Time) bool {
	for _, e := range b.bans {
		if (e.until.IsZero() || now.Before(e.until)) && e.prefix.Contains(a) {
			return true
		}
	}
	return false
}

// filter drops, in place, the records whose source or destination is
// banned at now, as a firewall enforcing the bans upstream of the
// exporter would, and returns the records kept and the number dropped.
func (b *banList) filter(recs []flow.Record, now time.Time) ([]flow.Record, int) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if len(b.bans) == 0 {
		return recs, 0
	}
	kept := recs[:0]
	for _, r := range recs {
		if b.banned(r.SrcAddr.Netip().Unmap(), now) || b.banned(r.DstAddr.Netip().Unmap(), now) {
			continue
		}
		kept = append(kept, r)
	}
	return kept, len(recs) - len(kept)
}

// obeyClient pulls acd's CrowdSec Local API decisions stream as a
// bouncer does (GET /v1/decisions/stream, X-Api-Key; startup=true on
// the first pull) into a banList.
type obeyClient struct {
	url, key string
	client   *http.Client
	bans     *banList
	started  bool          // a first (startup) pull succeeded; only the pulling goroutine touches it
	dropped  atomic.Uint64 // records dropped by the filter
}

// newObeyClient checks the LAPI URL and returns a client for it.
func newObeyClient(base, key string) (*obeyClient, error) {
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("--obey %q: want the http(s) URL of acd's CrowdSec Local API (enforce.crowdsec.listen)", base)
	}
	if strings.TrimSpace(key) == "" {
		return nil, errors.New("--obey needs --obey-key (a key from 'acd bouncer add')")
	}
	return &obeyClient{url: strings.TrimSuffix(base, "/") + "/v1/decisions/stream", key: strings.TrimSpace(key),
		client: &http.Client{Timeout: 10 * time.Second}, bans: newBanList()}, nil
}

// pull fetches one stream answer and applies it. After a failed pull the
// next one asks for the whole state again (startup=true): acd counts an
// answer's changes as delivered when it sends them, so changes in a lost
// answer would otherwise never come.
func (c *obeyClient) pull(ctx context.Context) (err error) {
	startup := !c.started
	defer func() {
		if err != nil {
			c.started = false
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s?startup=%t", c.url, startup), nil)
	if err != nil {
		return fmt.Errorf("unable to pull decisions: %w", err)
	}
	req.Header.Set("X-Api-Key", c.key)
	req.Header.Set("User-Agent", "acd-flowgen-bouncer")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("unable to pull decisions: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStreamBody+1))
	if err != nil {
		return fmt.Errorf("unable to pull decisions: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unable to pull decisions: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	r, err := parseStream(body)
	if err != nil {
		return err
	}
	c.started = true
	return c.bans.apply(r, startup)
}

// parseStream decodes a /v1/decisions/stream answer.
func parseStream(body []byte) (crowdsec.StreamResponse, error) {
	var r crowdsec.StreamResponse
	if len(body) > maxStreamBody {
		return r, fmt.Errorf("unable to pull decisions: answer over %d bytes", maxStreamBody)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("unable to pull decisions: the answer is not a decisions stream: %w", err)
	}
	return r, nil
}

// run pulls now and then every interval until ctx ends; each failed pull
// goes to onErr (nil: ignored), and the next pull tries again.
func (c *obeyClient) run(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := c.pull(ctx); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// obeyFilter starts the bouncer of --obey (after a first pull that must
// succeed) and returns the filter streamLive applies and the function
// stopping the bouncer; without --obey, a nil filter.
func (o *flowgenOpts) obeyFilter(ctx context.Context, stderr io.Writer) (func([]flow.Record, time.Time) []flow.Record, func(), error) {
	if o.obey == "" {
		return nil, func() {}, nil
	}
	key := o.obeyKey
	if b, err := readKeyFile(key); err == nil {
		key = string(b)
	}
	c, err := newObeyClient(o.obey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	keep, stop, err := c.start(ctx, func(err error) { fmt.Fprintf(stderr, "flowgen: %v\n", err) })
	if err != nil {
		return nil, nil, err
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "flowgen: obeying acd's bans from %s (%d decisions now)\n", o.obey, c.bans.len())
	}
	return keep, stop, nil
}

// start pulls once (an error is returned), then every second in a
// goroutine until stop is called or ctx ends; keep filters records with
// the bans held.
func (c *obeyClient) start(ctx context.Context, onErr func(error)) (keep func([]flow.Record, time.Time) []flow.Record, stop func(), err error) {
	if err := c.pull(ctx); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.run(ctx, time.Second, onErr)
	}()
	keep = func(recs []flow.Record, now time.Time) []flow.Record {
		kept, n := c.bans.filter(recs, now)
		c.dropped.Add(uint64(n))
		return kept
	}
	return keep, func() { cancel(); <-done }, nil
}
