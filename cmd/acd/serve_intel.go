package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/console/api"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/exchange"
	"github.com/acd-org/acd/intel/report"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/taxii"
	"github.com/acd-org/acd/intel/taxii/client"
	"github.com/acd-org/acd/store"
)

// intelConfig is the "intel" section: acd's identity as a source of
// intelligence, its TAXII server, and how often it publishes to and
// polls from its partners (the partners themselves are in the store:
// acd partner add).
type intelConfig struct {
	// Identity names acd in what it shares ("" disables sharing).
	Identity string `yaml:"identity"`
	// TLP marks what acd publishes (partners' agreements decide what of
	// it each may receive).
	TLP stix.TLP `yaml:"tlp"`
	// MinScore: suspects scored below are not published.
	MinScore float64 `yaml:"min_score"`
	// PublishEvery and PollEvery are the intervals of the publisher and
	// the poller.
	PublishEvery time.Duration `yaml:"publish_every"`
	PollEvery    time.Duration `yaml:"poll_every"`
	// TAXII is acd's TAXII 2.1 server (partners read acd's collections
	// there with the key acd partner add printed).
	TAXII taxiiServerConfig `yaml:"taxii"`
}

// taxiiServerConfig is acd's TAXII server: its listener and its API
// roots and collections.
type taxiiServerConfig struct {
	taxii.Config `yaml:",inline"`
	// Listen is the TAXII listener's address ("" disables it).
	Listen string `yaml:"listen"`
	// TLS serves HTTPS (strongly advised: partners' keys cross it).
	TLS taxiiTLS `yaml:"tls"`
}

// taxiiTLS is the TAXII listener's TLS: its certificate, and optionally
// the CA whose client certificates name partners (mTLS).
type taxiiTLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ClientCA, when set, verifies client certificates; ClientSubjects
	// maps a verified certificate's subject CN to a partner name, who is
	// then authenticated without a key.
	ClientCA       string            `yaml:"client_ca"`
	ClientSubjects map[string]string `yaml:"client_subjects"`
}

// config returns the TLS configuration (nil without a certificate).
func (t taxiiTLS) config() (*tls.Config, error) {
	if t.Cert == "" && t.Key == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, fmt.Errorf("intel.taxii.tls: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCA != "" {
		pem, err := os.ReadFile(t.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("intel.taxii.tls.client_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("intel.taxii.tls.client_ca: no certificate in %s", t.ClientCA)
		}
		c.ClientCAs, c.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return c, nil
}

func defaultIntelConfig() intelConfig {
	return intelConfig{TLP: stix.TLPAmber, MinScore: 0.5, PublishEvery: exchange.DefaultPublishEvery, PollEvery: time.Minute,
		TAXII: taxiiServerConfig{Config: taxii.DefaultConfig()}}
}

func (c intelConfig) validate() error {
	if c.Identity == "" {
		return nil
	}
	var errs []error
	if c.TAXII.Listen != "" {
		if _, _, err := net.SplitHostPort(c.TAXII.Listen); err != nil {
			errs = append(errs, fmt.Errorf("intel.taxii.listen %q: %w", c.TAXII.Listen, err))
		}
		if err := c.TAXII.Config.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("intel.taxii: %w", err))
		}
		if (c.TAXII.TLS.Cert == "") != (c.TAXII.TLS.Key == "") {
			errs = append(errs, fmt.Errorf("intel.taxii.tls: cert and key go together"))
		}
		if c.TAXII.TLS.Cert == "" && (c.TAXII.TLS.ClientCA != "" || len(c.TAXII.TLS.ClientSubjects) > 0) {
			errs = append(errs, fmt.Errorf("intel.taxii.tls: client certificates need the listener's own cert and key"))
		}
	}
	if c.MinScore < 0 || c.MinScore > 1 {
		errs = append(errs, fmt.Errorf("intel.min_score %v: want 0 to 1", c.MinScore))
	}
	if c.PublishEvery < time.Second || c.PollEvery < time.Second {
		errs = append(errs, fmt.Errorf("intel.publish_every and intel.poll_every: want at least 1s"))
	}
	if c.TLP == stix.TLPRed || c.TLP == stix.TLPAmberStrict {
		errs = append(errs, fmt.Errorf("intel.tlp: %s never leaves the organisation; publishing at it shares nothing", c.TLP))
	}
	return errors.Join(errs...)
}

// intelComponent runs the sharing side: acd's TAXII server over the
// store, the publisher of acd's own suspects into the partners'
// collections, and the poller of the partners' collections into the
// suspects. Partners are read from the store at start.
type intelComponent struct {
	cfg      intelConfig
	log      *slog.Logger
	reg      prometheus.Registerer
	st       *storeComponent
	domestic func(netip.Addr) bool
	// outcomes returns the case outcomes to share (nil: none).
	outcomes func(ctx context.Context) ([]stix.Mitigation, error)

	db         *store.DB
	id         stix.Identity
	tstore     taxii.Store
	server     *httpPart
	registered bool // metrics registered (by the first exchange)

	refreshMu sync.Mutex // one refresh at a time
	mu        sync.Mutex // guards ex
	ex        *exchangeSet
	watchStop context.CancelFunc
	watchDone chan struct{}
}

func (c *intelComponent) Start(ctx context.Context) error {
	db := c.st.db.Load()
	if db == nil {
		return errors.New("intel: the store is not open")
	}
	id, err := stix.NewIdentity(c.cfg.Identity, time.Now().UTC(), c.cfg.TLP)
	if err != nil {
		return fmt.Errorf("intel: %w", err)
	}
	c.db, c.id, c.tstore = db, id, db.TAXII()
	if c.cfg.TAXII.Listen != "" {
		tlsConf, err := c.cfg.TAXII.TLS.config()
		if err != nil {
			return err
		}
		if tlsConf == nil && !isLoopbackListen(c.cfg.TAXII.Listen) {
			c.log.Warn("intel.taxii.listen is not loopback and has no TLS: partners' keys and passwords cross the network in clear",
				"listen", c.cfg.TAXII.Listen)
		}
		// A partner authenticates with its key, as an acd user with the
		// partner role (HTTP Basic), or by its client certificate.
		auth := taxii.Authenticators{db.TAXIIAuth(), db.TAXIIBasicAuth()}
		if len(c.cfg.TAXII.TLS.ClientSubjects) > 0 {
			auth = append(taxii.Authenticators{taxii.ClientCerts{Subjects: c.cfg.TAXII.TLS.ClientSubjects}}, auth...)
		}
		srv, err := taxii.New(c.cfg.TAXII.Config, taxii.Deps{Logger: c.log.With("part", "taxii"), Store: c.tstore, Auth: auth,
			Policy: db.TAXIIPolicy(taxii.NewConfigPolicy(c.cfg.TAXII.Config)), Validator: stix.Validate, Registerer: c.reg})
		if err != nil {
			return fmt.Errorf("intel: %w", err)
		}
		c.server = &httpPart{addr: c.cfg.TAXII.Listen, handler: srv, log: c.log.With("part", "taxii"), tls: tlsConf}
		if err := c.server.Start(ctx); err != nil {
			return fmt.Errorf("intel: TAXII listener: %w", err)
		}
	}
	if err := c.refresh(ctx); err != nil {
		c.stopServer()
		return err
	}
	// Partners added, removed or changed while acd runs take effect
	// within a few seconds: the exchange is rebuilt with them.
	wctx, cancel := context.WithCancel(context.Background())
	c.watchStop, c.watchDone = cancel, make(chan struct{})
	go func() {
		defer close(c.watchDone)
		t := time.NewTicker(partnerRefresh)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				if err := c.refresh(wctx); err != nil && wctx.Err() == nil {
					c.log.Error("intel: partners not reloaded", "err", err)
				}
			}
		}
	}()
	return nil
}

// partnerRefresh is how often the partners are re-read from the store.
const partnerRefresh = 5 * time.Second

// exchangeSet is the publisher, poller and pusher for one set of
// partners.
type exchangeSet struct {
	fingerprint string
	partners    map[string]store.Partner
	publisher   *exchange.Publisher
	poller      *exchange.Poller
	pusher      *exchange.Pusher
}

func (x *exchangeSet) stop() {
	x.pusher.Stop()
	x.poller.Stop()
	x.publisher.Stop()
}

// refresh reads the live partners and, when they changed (or on the
// first call), stops the exchange and starts one for them.
func (c *intelComponent) refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	partners, err := c.db.Partners(ctx, false)
	if err != nil {
		return err
	}
	fp, err := json.Marshal(partners)
	if err != nil {
		return err
	}
	for _, p := range partners { // the remote key is not in the JSON
		fp = append(fp, p.RemoteKey...)
	}
	c.mu.Lock()
	cur := c.ex
	c.mu.Unlock()
	if cur != nil && cur.fingerprint == string(fp) {
		return nil
	}
	x, err := c.build(partners)
	if err != nil {
		return err
	}
	x.fingerprint = string(fp)
	if cur != nil {
		cur.stop()
	}
	if err := x.publisher.Start(ctx); err != nil {
		return err
	}
	if err := x.poller.Start(ctx); err != nil {
		x.publisher.Stop()
		return err
	}
	if err := x.pusher.Start(ctx); err != nil {
		x.poller.Stop()
		x.publisher.Stop()
		return err
	}
	c.mu.Lock()
	c.ex = x
	c.mu.Unlock()
	c.log.Info("sharing ready", "identity", c.cfg.Identity, "partners", len(partners), "polled", len(x.poller.Partners),
		"pushed", len(x.pusher.Targets), "taxii", c.cfg.TAXII.Listen)
	return nil
}

// build makes the exchange for partners (not started).
func (c *intelComponent) build(partners []store.Partner) (*exchangeSet, error) {
	// The ledger (in the store: provenance survives a restart) keeps
	// what was allowed, in and out; refusals are counted in the metrics,
	// not kept: the publisher decides the same refused objects again on
	// every run.
	ledger := allowedOnly{c.db.ShareLedger()}
	x := &exchangeSet{partners: map[string]store.Partner{}}
	var (
		gates   []*share.Gate
		remotes []exchange.Remote
		pushes  []exchange.PushTarget
	)
	for _, p := range partners {
		g := &share.Gate{Agreement: p.Agreement, Ledger: ledger, Domestic: c.domestic}
		gates = append(gates, g)
		x.partners[p.Name] = p
		if p.URL == "" {
			continue
		}
		cc := client.DefaultConfig()
		cc.URL, cc.APIKey = strings.TrimSuffix(p.URL, "/")+"/taxii2/", p.RemoteKey
		cl, err := client.New(cc, client.Deps{Logger: c.log.With("partner", p.Name)})
		if err != nil {
			return nil, fmt.Errorf("intel: partner %s: %w", p.Name, err)
		}
		root := strings.TrimSuffix(p.URL, "/") + "/" + p.APIRoot + "/"
		remotes = append(remotes, exchange.Remote{Gate: g, Client: cl, APIRoot: root})
		if p.PushCollection != "" {
			pushes = append(pushes, exchange.PushTarget{Partner: p.Name, Local: p.Agreement.Outgoing.Collections, Client: cl,
				APIRoot: root, Collection: p.PushCollection})
		}
	}
	book, db, id := c.st.book, c.db, c.id
	// Metrics are registered by the first exchange only: a rebuilt one
	// reports through its logs.
	reg := c.reg
	if c.registered {
		reg = nil
	}
	c.registered = true
	x.publisher = &exchange.Publisher{Identity: id, TLP: c.cfg.TLP, Store: c.tstore, Partners: gates, MinScore: c.cfg.MinScore,
		Every: c.cfg.PublishEvery, Logger: c.log.With("part", "publish"), Registerer: reg,
		Source: func(context.Context) ([]detect.Suspect, error) {
			ss, _ := book.Query(detect.Filter{})
			return ss, nil
		},
		// Case outcomes and the incident reports analysts released are
		// shared as STIX too (reports each under its own TLP), through
		// the same agreements.
		Extra: func(ctx context.Context) ([]stix.Object, error) {
			var out []stix.Object
			if c.outcomes != nil {
				ms, err := c.outcomes(ctx)
				if err != nil {
					return nil, err
				}
				for _, m := range ms {
					objs, err := stix.FromMitigation(m, id, c.cfg.TLP, time.Now().UTC())
					if err != nil {
						c.log.Warn("case outcome not shared", "case", m.Case, "err", err)
						continue
					}
					out = append(out, objs...)
				}
			}
			rs, err := db.Incidents(ctx, "", 1000)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				if r.Status != report.StatusShared {
					continue // not released by an analyst
				}
				objs, err := report.ToSTIX(r, id, time.Now().UTC())
				if err != nil {
					c.log.Warn("incident report not shared: it does not make STIX", "report", r.ID, "err", err)
					continue
				}
				out = append(out, objs...)
			}
			return out, nil
		}}
	x.poller = &exchange.Poller{Partners: remotes, Sink: exchange.BookSink{Book: book}, Every: c.cfg.PollEvery, Bookmarks: db.ShareBookmarks(),
		Logger: c.log.With("part", "poll"), Registerer: reg}
	x.pusher = &exchange.Pusher{Store: c.tstore, Targets: pushes, Every: c.cfg.PublishEvery, Bookmarks: db.ShareBookmarks(),
		Logger: c.log.With("part", "push")}
	return x, nil
}

func isLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(host)
}

func (c *intelComponent) stopServer() {
	if c.server != nil {
		c.server.Stop()
	}
}

func (c *intelComponent) Stop() {
	if c.watchStop != nil {
		c.watchStop()
		<-c.watchDone
	}
	c.mu.Lock()
	x := c.ex
	c.ex = nil
	c.mu.Unlock()
	if x != nil {
		x.stop()
	}
	c.stopServer()
}

// current returns the running exchange, or an error while sharing is
// not (yet) running.
func (c *intelComponent) current() (*exchangeSet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ex == nil {
		return nil, errors.New("sharing is not running yet")
	}
	return c.ex, nil
}

// Partners implements api.Intel.
func (c *intelComponent) Partners(ctx context.Context) (any, error) {
	db := c.st.db.Load()
	if db == nil {
		return nil, errors.New("the store is not open")
	}
	ps, err := db.Partners(ctx, false)
	if ps == nil {
		ps = []store.Partner{}
	}
	for i := range ps { // a URL's user info may be a credential
		if u, perr := url.Parse(ps[i].URL); perr == nil && u.User != nil {
			u.User = nil
			ps[i].URL = u.String()
		}
	}
	return ps, err
}

// SyncPartner implements api.Intel: poll the partner now (when acd polls
// it), then publish and push.
func (c *intelComponent) SyncPartner(ctx context.Context, name string) (any, error) {
	if err := c.refresh(ctx); err != nil {
		return nil, err
	}
	x, err := c.current()
	if err != nil {
		return nil, err
	}
	p, ok := x.partners[name]
	if !ok {
		return nil, fmt.Errorf("partner %q: %w", name, api.ErrNoPartner)
	}
	out := map[string]any{}
	var perr error
	if p.URL != "" {
		out["polled"], perr = x.poller.SyncNow(ctx, name)
	}
	published, err := x.publisher.Run(ctx)
	pushed, xerr := x.pusher.Run(ctx)
	err = errors.Join(perr, err, xerr)
	out["published"], out["pushed"] = published, pushed
	if db := c.st.db.Load(); db != nil {
		_ = db.PartnerSynced(ctx, name, time.Now(), err)
	}
	return out, err
}

// RevokeShared implements api.Intel.
func (c *intelComponent) RevokeShared(ctx context.Context, target, reason, by string) (int, error) {
	x, err := c.current()
	if err != nil {
		return 0, err
	}
	c.log.Info("revoking what was shared", "target", target, "by", by, "reason", reason)
	return x.publisher.Revoke(ctx, target, reason+" (by "+by+")")
}

// caseOutcomes returns the mitigations in effect — actions executed and
// not withdrawn (not expired, revoked, or retracted by a rail) — for the
// partners: what acd does against which target, over which window.
// Domestic targets (rtbh of the operator's own hosts), re-identifications
// and police requests are never shared.
//
// Only outcomes against targets acd's own detection holds are shared: a
// case resting on a partner's indicator alone would otherwise republish
// that partner's intelligence under acd's name and TLP.
func caseOutcomes(svc func() (*store.Cases, error), domestic func(netip.Addr) bool, book *detect.Book) func(ctx context.Context) ([]stix.Mitigation, error) {
	return func(ctx context.Context) ([]stix.Mitigation, error) {
		s, err := svc()
		if err != nil {
			return nil, nil // cases not running: nothing to share
		}
		items, err := s.InEffect(ctx)
		if err != nil {
			return nil, err
		}
		var out []stix.Mitigation
		for _, it := range items {
			a := it.Action
			switch a.Type {
			case cases.ActionBlock, cases.ActionFlowSpec, cases.ActionSinkhole, cases.ActionAbuseReport:
			default:
				continue
			}
			if p := a.Target.Prefix(); p.IsValid() && share.InSpace(p, domestic) {
				continue
			}
			if !ownDetection(book, it.Case.Suspects) {
				continue
			}
			out = append(out, stix.Mitigation{Case: it.Case.ID, Action: string(a.Type), Target: a.Target.String(),
				NotBefore: a.NotBefore, NotAfter: a.NotAfter, Description: "case " + string(it.Case.State)})
		}
		return out, nil
	}
}

// ownDetection reports whether one of the suspects a case rests on holds
// evidence from acd's own detectors (not only partners').
func ownDetection(book *detect.Book, suspects []string) bool {
	for _, addr := range suspects {
		k, err := detect.ParseKey(addr)
		if err != nil {
			continue
		}
		s, ok := book.Get(k)
		if !ok {
			continue
		}
		for _, e := range s.Evidence {
			if !strings.HasPrefix(e.Detector, exchange.PartnerDetectorPrefix) {
				return true
			}
		}
	}
	return false
}

// allowedOnly is a share.Ledger that keeps the allowed decisions only.
type allowedOnly struct{ share.Ledger }

func (l allowedOnly) Record(ctx context.Context, e share.Entry) error {
	if !e.Allowed {
		return nil
	}
	return l.Ledger.Record(ctx, e)
}
