package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/notify"
	"github.com/acd-org/acd/collect"
	"github.com/acd-org/acd/console/api"
	"github.com/acd-org/acd/console/session"
	"github.com/acd-org/acd/console/web"
	"github.com/acd-org/acd/daemon"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/flow"
	"github.com/acd-org/acd/minimize"
	"github.com/acd-org/acd/store"
	"github.com/acd-org/acd/verify"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "[-c FILE]", `
Run the acd daemon: the flow collectors (NetFlow v5/v9 and IPFIX on UDP
2055 and 4739, sFlow on 6343 by default), the pipeline, and the HTTP
listener with Prometheus metrics at /metrics (127.0.0.1:8080 by default).
Without -c, runs on the embedded defaults; every key can also be set from
the environment (ACD_HTTP_LISTEN=127.0.0.1:9090, see 'acd config dump').

SIGHUP reloads the domestic address space (screen.domestic) and the
never-act networks (enforce.rails.never_act: actions they now cover are
withdrawn at once); if the new files are bad, the error is logged and the
old ones stay in force.
SIGINT or SIGTERM stops it gracefully: the sockets close, what was already
received is decoded and handed on, then the process exits.

Examples:
  acd serve
  acd serve -c /etc/acd/acd.yaml
  ACD_COLLECT_NETFLOW_LISTEN='["127.0.0.1:2055"]' acd serve`)
	lc, err := configFromFlags(e, fs, args)
	if err != nil {
		return err
	}
	log := newLogger(lc.Log, e.stderr)
	for _, o := range lc.overrides {
		log.Info("configuration override", "key", o.Path, "env", o.Env)
	}
	for _, v := range lc.ignored {
		log.Warn("environment variable names no configuration key", "env", v)
	}
	// The store and the audit key are opened first: the API authenticates
	// against the store and verifies the audit chain with the key.
	db, err := store.Open(ctx, lc.Store, log.With("component", "store"))
	if err != nil {
		return err
	}
	auditKey, _, err := audit.LoadOrCreateKey(auditConfig(lc).Key)
	if err != nil {
		db.Close()
		return err
	}
	cp, err := audit.NewCheckpointer(auditKey, auditConfig(lc).CheckpointEvery, nil)
	if err != nil {
		db.Close()
		return err
	}
	db.SetAuditCheckpointer(cp)
	srv, err := newServer(lc.config, log, e.stderr, db, auditKey)
	if err != nil {
		db.Close()
		return err
	}
	// SIGHUP is caught before the start: a reload sent while acd starts
	// is handled after it, not fatal.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := srv.group.Start(ctx); err != nil {
		srv.store.Stop() // closes the store if its component never started
		return err
	}
	log.Info("acd serving", "version", versionString(), "config", configName(lc.path), "http", srv.web.Addr())
	go srv.ingest.report(ctx, log, time.Minute)
	if srv.overview != nil { // the overview's charts have a history from the start
		go func() { _ = srv.overview.SampleOverview(ctx) }()
	}
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-hup:
			// Reload the domestic space; on error the old one stays.
			if err := srv.screen.Reload(); err != nil {
				log.Error("reload failed", "error", err)
			}
			// Reload the never-act networks: actions they now cover are
			// retracted.
			if srv.enforcement != nil {
				if nlc, err := loadConfig(lc.path, e.environ()); err != nil {
					log.Error("reload of enforce.rails.never_act failed; the old networks stay", "error", err)
				} else {
					srv.enforcement.reloadNeverAct(nlc.Enforce.Rails.NeverAct)
				}
			}
		}
	}
	log.Info("shutting down")
	srv.group.Stop()
	log.Info("stopped", "records", srv.ingest.records.Load(), "batches", srv.ingest.batches.Load())
	return nil
}

func configName(p string) string {
	if p == "" {
		return "embedded defaults"
	}
	return p
}

// server is the wired daemon.
type server struct {
	group  *daemon.Group
	web    *web.Server
	coll   *collect.Collector
	screen *minimize.Screen
	detect *detect.Engine
	ingest *ingestSink
	store  *storeComponent
	// enforcement is nil when the cases (and so enforcement) are off.
	enforcement *enforcement
	// overview samples the console overview's history (nil: none).
	overview api.OverviewSampler
}

// newServer wires the components; it does no I/O.
// auditKey is the server's key: it signs audit checkpoints and police
// evidence packages; its public half verifies them.
func newServer(cfg config, log *slog.Logger, console io.Writer, db *store.DB, auditKey ed25519.PrivateKey) (*server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ingest := newIngestSink(reg)
	dets, err := cfg.Detect.Build()
	if err != nil {
		return nil, err
	}
	st := &storeComponent{log: log.With("component", "store"), reg: reg, max: cfg.Detect.MaxSuspects, console: console}
	st.db.Store(db)
	st.book = detect.NewBook(cfg.Detect.MaxSuspects, st)
	// The verify stage sits after detection: it counts the traffic of the
	// targets of cases and judges their actions (serve_enforce.go).
	var casesComp *casesComponent
	verifier, err := verify.New(cfg.Verify, verify.Deps{Logger: log.With("component", "verify"), Registerer: reg,
		Next: ingest, Live: true, OnVerdict: func(r verify.Result) {
			if casesComp != nil {
				casesComp.enf.verdict(casesComp.get, r)
			}
		}})
	if err != nil {
		return nil, err
	}
	eng, err := detect.New(cfg.Detect.Config, dets, detect.Deps{Logger: log.With("component", "detect"), Registerer: reg,
		Next: verifier, Live: true, Book: st.book})
	if err != nil {
		return nil, err
	}
	// Re-identification is verified against the cases (once they run) and
	// every attempt audited in the store.
	reid := &reidVerifier{}
	screen, err := minimize.New(cfg.Screen, minimize.Deps{Logger: log.With("component", "screen"), Registerer: reg, Next: eng,
		Auditor: db, Verifier: reid})
	if err != nil {
		return nil, err
	}
	coll, err := collect.New(cfg.Collect, collect.Deps{Logger: log.With("component", "collect"), Registerer: reg, Sink: screen})
	if err != nil {
		return nil, err
	}
	// Cases need a policy naming the commissioners' keys; without one the
	// cases API answers 503.
	var (
		caseSvc   cases.Service
		enfStatus api.Enforcement
		enfRef    *enforcement
	)
	if casesEnabled(cfg.Cases) {
		enf, err := newEnforcement(cfg.Enforce, cfg.Cases.OwnedPrefixes, log.With("component", "enforce"), reg, screen, auditKey)
		if err != nil {
			return nil, err
		}
		enf.verifier, enf.verifyEvery = verifier, cfg.Verify.Interval
		notifier, err := notify.New(cfg.Notify, log.With("component", "notify"), reg)
		if err != nil {
			return nil, err
		}
		casesComp = &casesComponent{policy: cfg.Cases, enf: enf, notify: notifier, log: log.With("component", "cases"), st: st}
		reid.cases = casesComp
		caseSvc = casesComp
		enfStatus = enf
		enfRef = enf
	} else {
		log.Warn("cases disabled: cases.commissioners names no commissioner keys (or fewer than cases.quorum); the cases API answers 503",
			"quorum", cfg.Cases.Quorum, "commissioner_keys", len(cfg.Cases.Commissioners))
	}
	// Sharing with partners runs when acd has an identity to share as.
	var intelComp *intelComponent
	var intelAPI api.Intel
	if cfg.Intel.Identity != "" {
		intelComp = &intelComponent{cfg: cfg.Intel, log: log.With("component", "intel"), reg: reg, st: st,
			domestic: screen.IsDomestic}
		if casesComp != nil {
			intelComp.outcomes = caseOutcomes(casesComp.get, screen.IsDomestic, st.book)
		}
		intelAPI = intelComp
	}
	// The console's browser sessions: users log in with their name and
	// password; the API takes the session cookie (CSRF-checked).
	sessions := session.New(cfg.HTTP.Session, session.Deps{Users: db, Logger: log.With("component", "session")})
	apiDeps := api.Deps{Book: st.book, Auth: db, Users: db, Cases: caseSvc, Admin: db, Audit: db, AuditKey: auditKey.Public().(ed25519.PublicKey),
		Enforcement: enfStatus, Intel: intelAPI, Incidents: db, Domestic: screen.IsDomestic, Session: session.PrincipalFrom,
		Gatherer: reg, Sharing: db, VerifyWindow: cfg.Verify.Window, Logger: log.With("component", "api")}
	if casesComp != nil { // the console shows the actions in effect and the policy's k of n
		apiDeps.InEffect, apiDeps.Policy = casesComp.InEffect, &cfg.Cases
	}
	apiHandler := api.New(apiDeps)
	w := web.New(cfg.HTTP, web.Deps{Logger: log.With("component", "http"), Gatherer: reg, Sessions: sessions, API: apiHandler})
	// Start order: the store (suspects loaded back into the book), HTTP
	// (metrics visible during start-up), detection, the screening stage
	// (it refuses to start without its key: acd never runs unscreened),
	// then the collector; stop in reverse, so the collector drains through
	// the screen and detection first, detection closes its windows, and
	// the store writes the last changes before it closes.
	comps := []daemon.Named{{Name: "store", Component: st}}
	if casesComp != nil {
		comps = append(comps, daemon.Named{Name: "notify", Component: casesComp.notify}, daemon.Named{Name: "cases", Component: casesComp})
	}
	comps = append(comps, daemon.Named{Name: "verify", Component: verifier},
		daemon.Named{Name: "http", Component: w},
		daemon.Named{Name: "detect", Component: eng},
		daemon.Named{Name: "screen", Component: screen})
	if intelComp != nil {
		// After the screening stage: the scrub needs the domestic space.
		comps = append(comps, daemon.Named{Name: "intel", Component: intelComp})
	}
	g := daemon.NewGroup(log, append(comps, daemon.Named{Name: "collect", Component: coll})...)
	srv := &server{group: g, web: w, coll: coll, screen: screen, detect: eng, ingest: ingest, store: st, enforcement: enfRef}
	srv.overview, _ = apiHandler.(api.OverviewSampler)
	return srv, nil
}

// ingestSink is the end of the record path: it counts what screening and
// detection passed on and releases the batches.
type ingestSink struct {
	records, batches atomic.Uint64
	recordsTotal     prometheus.Counter
}

func newIngestSink(reg prometheus.Registerer) *ingestSink {
	s := &ingestSink{recordsTotal: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "acd", Subsystem: "pipeline", Name: "records_total",
		Help: "Flow records that reached the end of the pipeline.",
	})}
	reg.MustRegister(s.recordsTotal)
	return s
}

// Consume implements flow.Sink.
func (s *ingestSink) Consume(b *flow.Batch) {
	n := len(b.Records)
	s.records.Add(uint64(n))
	s.batches.Add(1)
	s.recordsTotal.Add(float64(n))
	b.Release()
}

// report logs the ingest rate every interval until ctx is done.
func (s *ingestSink) report(ctx context.Context, log *slog.Logger, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last, lastAt := s.records.Load(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			cur := s.records.Load()
			rate := float64(cur-last) / now.Sub(lastAt).Seconds()
			log.Info("ingest", "records", cur, "records_per_second", fmt.Sprintf("%.0f", rate), "goroutines", runtime.NumGoroutine())
			last, lastAt = cur, now
		}
	}
}
