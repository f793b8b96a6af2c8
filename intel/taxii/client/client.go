// Package client is a TAXII 2.1 client: discovery, API roots,
// collections, polling a collection's objects (paging by next, or by
// added_after when a server gives no next, and bookmarking by date
// added), posting envelopes and following the status resource until
// complete. Requests are retried with exponential backoff on network
// errors, 429 and 5xx (not 501), honouring Retry-After.
//
// It speaks application/taxii+json;version=2.1 only, and authenticates
// with HTTP Basic, an API key header, or a TLS client certificate (set
// in Deps.HTTP's transport).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/acd-org/acd/intel/taxii"
)

// Config is a client's configuration, one per partner server.
type Config struct {
	// URL is the server's discovery URL (https://host/taxii2/).
	URL          string `yaml:"url"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	APIKey       string `yaml:"api_key"`
	APIKeyHeader string `yaml:"api_key_header"` // default X-API-Key
	// PageSize is the limit asked per page (default 1000; the server
	// may clamp it).
	PageSize int `yaml:"page_size"`
	// Retries is how many times a request is retried (default 5).
	Retries int `yaml:"retries"`
	// MinBackoff and MaxBackoff bound the wait between retries
	// (defaults 500ms and 1m); Retry-After overrides, capped at MaxBackoff.
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// StatusInterval is how often a pending status is polled (default
	// 1s); StatusTimeout how long before Post gives up (default 5m).
	StatusInterval time.Duration `yaml:"status_interval"`
	StatusTimeout  time.Duration `yaml:"status_timeout"`
}

// DefaultConfig returns the defaults (without a URL).
func DefaultConfig() Config {
	return Config{PageSize: 1000, Retries: 5, MinBackoff: 500 * time.Millisecond, MaxBackoff: time.Minute,
		StatusInterval: time.Second, StatusTimeout: 5 * time.Minute, APIKeyHeader: "X-API-Key"}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q is not an http(s) URL", c.URL))
	}
	if c.PageSize < 1 || c.Retries < 0 || c.MinBackoff <= 0 || c.MaxBackoff < c.MinBackoff ||
		c.StatusInterval <= 0 || c.StatusTimeout <= 0 {
		errs = append(errs, errors.New("page_size, retries, backoffs and status interval/timeout must be positive (max_backoff ≥ min_backoff)"))
	}
	return errors.Join(errs...)
}

// Deps are the client's dependencies.
type Deps struct {
	Logger *slog.Logger // required
	// HTTP does the requests (set its Transport's TLS client
	// certificate for mTLS); nil: a client with a 1-minute timeout.
	HTTP *http.Client
	// Sleep waits d or until ctx ends; nil: a timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one TAXII 2.1 server. It is safe for concurrent use.
type Client struct {
	cfg  Config
	deps Deps
}

// New returns a Client; it does no I/O. Zero fields of cfg take
// DefaultConfig's values.
func New(cfg Config, deps Deps) (*Client, error) {
	d := DefaultConfig()
	for _, f := range []struct{ dst, def *time.Duration }{
		{&cfg.MinBackoff, &d.MinBackoff}, {&cfg.MaxBackoff, &d.MaxBackoff},
		{&cfg.StatusInterval, &d.StatusInterval}, {&cfg.StatusTimeout, &d.StatusTimeout},
	} {
		if *f.dst == 0 {
			*f.dst = *f.def
		}
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = d.PageSize
	}
	if cfg.Retries == 0 {
		cfg.Retries = d.Retries
	}
	if cfg.APIKeyHeader == "" {
		cfg.APIKeyHeader = d.APIKeyHeader
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("unable to create taxii client: %w", err)
	}
	if deps.Logger == nil {
		return nil, errors.New("unable to create taxii client: Logger is required")
	}
	if deps.HTTP == nil {
		deps.HTTP = &http.Client{Timeout: time.Minute}
	}
	if deps.Sleep == nil {
		deps.Sleep = sleep
	}
	return &Client{cfg: cfg, deps: deps}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// HTTPError is a non-success answer, with the server's error resource
// when it sent one.
type HTTPError struct {
	Status int
	Err    taxii.Error
}

// Error implements error.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("taxii server answered %d: %s: %s", e.Status, e.Err.Title, e.Err.Description)
}

// retryable reports whether a status is worth retrying.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented
}

// do sends a request (retrying) and decodes a JSON answer with status
// want into out (when non-nil). It returns the answer's headers.
func (c *Client) do(ctx context.Context, method, u string, body []byte, want int, out any) (http.Header, error) {
	backoff := c.cfg.MinBackoff
	for attempt := 0; ; attempt++ {
		h, status, wait, err := c.once(ctx, method, u, body, want, out)
		if err == nil {
			return h, nil
		}
		if attempt >= c.cfg.Retries || (status != 0 && !retryable(status)) || ctx.Err() != nil {
			return nil, fmt.Errorf("unable to %s %s: %w", method, u, err)
		}
		if wait == 0 {
			wait = backoff
			backoff = min(2*backoff, c.cfg.MaxBackoff)
		}
		wait = min(wait, c.cfg.MaxBackoff)
		c.deps.Logger.Debug("taxii request retried", "method", method, "url", u, "attempt", attempt+1, "wait", wait, "error", err)
		if err := c.deps.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("unable to %s %s: %w", method, u, err)
		}
	}
}

// once sends one request. status is 0 for a transport failure; wait is
// the server's Retry-After.
func (c *Client) once(ctx context.Context, method, u string, body []byte, want int, out any) (http.Header, int, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, -1, 0, err // not retryable
	}
	req.Header.Set("Accept", taxii.MediaType)
	if body != nil {
		req.Header.Set("Content-Type", taxii.MediaType)
	}
	if c.cfg.Username != "" {
		req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	}
	if c.cfg.APIKey != "" {
		req.Header.Set(c.cfg.APIKeyHeader, c.cfg.APIKey)
	}
	resp, err := c.deps.HTTP.Do(req)
	if err != nil {
		return nil, 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("unable to read answer: %w", err)
	}
	if resp.StatusCode != want {
		e := &HTTPError{Status: resp.StatusCode}
		_ = json.Unmarshal(b, &e.Err)
		return nil, resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), time.Now()), e
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, -1, 0, fmt.Errorf("unable to decode answer: %w", err)
		}
	}
	return resp.Header, resp.StatusCode, 0, nil
}

// retryAfter parses a Retry-After value (seconds or an HTTP date).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
