// Package notify tells people at once when something in a case needs
// them: an emergency action the commission must review, an emergency
// rolled back for want of review, an action the flows show ineffective
// (escalated to the analysts). Each event is POSTed as JSON to every
// configured webhook (a chat bridge, a paging service, a mail gateway),
// signed with HMAC-SHA256 when a secret is set, and retried with backoff
// until delivered or given up (counted and logged). The audit log keeps
// the record; notification is how people learn of it in time.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Events.
const (
	EventEmergency   = "case.emergency"   // an operator acted first: the commission must review by review_by
	EventRollback    = "case.rollback"    // the review deadline passed: the actions were rolled back
	EventIneffective = "case.ineffective" // the flows show an action did not stop the attack
)

// Event is what is sent.
type Event struct {
	Event    string    `json:"event"`
	Case     string    `json:"case"`
	State    string    `json:"state"`
	Target   string    `json:"target"`
	At       time.Time `json:"at"`
	By       string    `json:"by,omitempty"`
	ReviewBy time.Time `json:"review_by,omitzero"`
	Reason   string    `json:"reason,omitempty"`
	// Audience says who must act: "commission" or "analysts".
	Audience string `json:"audience"`
}

// Config configures the notifier (key "notify").
type Config struct {
	// Webhooks receive every event (POST, application/json).
	Webhooks []string `yaml:"webhooks"`
	// Secret, when set, signs each body: header X-Acd-Signature:
	// sha256=<hex HMAC-SHA256 of the body>. Never logged.
	Secret string `yaml:"secret"`
	// Timeout bounds one delivery attempt.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many times a failed delivery is tried again, with
	// a doubling delay from one second.
	Retries int `yaml:"retries"`
}

// DefaultConfig has no webhook, 10 s attempts and 5 retries.
func DefaultConfig() Config { return Config{Timeout: 10 * time.Second, Retries: 5} }

// Validate checks c.
func (c Config) Validate() error {
	var errs []error
	for i, w := range c.Webhooks {
		u, err := url.Parse(w)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("notify.webhooks[%d]: %q is not an http(s) URL", i, w))
		}
	}
	if c.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("notify.timeout must be positive"))
	}
	if c.Retries < 0 || c.Retries > 20 {
		errs = append(errs, fmt.Errorf("notify.retries %d: want 0 to 20", c.Retries))
	}
	return errors.Join(errs...)
}

// Notifier delivers events in the background. Use New; Send never
// blocks the caller for long (a bounded queue; a full queue drops the
// event, counted and logged).
type Notifier struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	queue  chan Event
	sent   *prometheus.CounterVec
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// sleep waits between retries (tests shorten it).
	sleep func(context.Context, time.Duration) error
}

// New returns a notifier; reg, when set, receives
// acd_notify_events_total{event,result}.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{cfg: cfg, log: log, client: &http.Client{Timeout: cfg.Timeout}, queue: make(chan Event, 256),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "acd", Subsystem: "notify", Name: "events_total",
			Help: "Case notifications by event and result (delivered, failed, dropped)."}, []string{"event", "result"}),
		sleep: sleepCtx}
	if reg != nil {
		reg.MustRegister(n.sent)
	}
	return n, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Send queues e for every webhook (a no-op without webhooks).
func (n *Notifier) Send(e Event) {
	if n == nil || len(n.cfg.Webhooks) == 0 {
		return
	}
	select {
	case n.queue <- e:
	default:
		n.sent.WithLabelValues(e.Event, "dropped").Inc()
		n.log.Error("notification dropped: the queue is full", "event", e.Event, "case", e.Case)
	}
}

// Start delivers queued events until Stop.
func (n *Notifier) Start(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-n.queue:
				for _, w := range n.cfg.Webhooks {
					n.deliver(ctx, w, e)
				}
			}
		}
	}()
	return nil
}

// Stop stops delivering (queued events are lost; they are in the audit
// log).
func (n *Notifier) Stop() {
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
}

// deliver posts e to url, retrying with a doubling delay.
func (n *Notifier) deliver(ctx context.Context, url string, e Event) {
	body, err := json.Marshal(e)
	if err != nil {
		n.log.Error("notification not encoded", "err", err)
		return
	}
	delay := time.Second
	var last error
	for attempt := 0; attempt <= n.cfg.Retries; attempt++ {
		if attempt > 0 {
			if n.sleep(ctx, delay) != nil {
				return
			}
			delay *= 2
		}
		if last = n.post(ctx, url, body); last == nil {
			n.sent.WithLabelValues(e.Event, "delivered").Inc()
			n.log.Info("notification delivered", "event", e.Event, "case", e.Case, "webhook", redact(url))
			return
		}
	}
	n.sent.WithLabelValues(e.Event, "failed").Inc()
	n.log.Error("notification not delivered", "event", e.Event, "case", e.Case, "webhook", redact(url), "err", last)
}

func (n *Notifier) post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "acd-notify")
	if n.cfg.Secret != "" {
		m := hmac.New(sha256.New, []byte(n.cfg.Secret))
		m.Write(body)
		req.Header.Set("X-Acd-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// redact drops a URL's user info and query (they may hold tokens).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}

// MarshalYAML writes c with the secret, and the webhooks' user info and
// query (they may hold tokens), redacted (acd config dump).
func (c Config) MarshalYAML() (any, error) {
	type plain Config
	p := plain(c)
	if p.Secret != "" {
		p.Secret = "<redacted>"
	}
	p.Webhooks = make([]string, len(c.Webhooks))
	for i, w := range c.Webhooks {
		p.Webhooks[i] = redact(w)
	}
	return p, nil
}
