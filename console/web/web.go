// Package web is acd's HTTP listener: today the Prometheus /metrics
// endpoint and a /healthz probe; the console and REST API grow here.
package web

import (
	"context"
	"errors"
	"fmt"
	"github.com/acd-org/acd/console/session"
	"github.com/acd-org/acd/console/ui"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is the HTTP listener's configuration (key "http").
type Config struct {
	// Listen is the TCP address to serve on.
	Listen string `yaml:"listen"`
	// Pprof serves Go's profiler at /debug/pprof/ (off by default: it is
	// unauthenticated; turn it on only on a loopback listener).
	Pprof bool `yaml:"pprof"`
	// Session configures the console's browser sessions.
	Session session.Config `yaml:"session"`
}

// DefaultConfig listens on loopback only.
func DefaultConfig() Config {
	return Config{Listen: "127.0.0.1:8080", Session: session.DefaultConfig()}
}

// Validate checks c.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("http.listen: %q is not host:port: %w", c.Listen, err)
	}
	if err := c.Session.Validate(); err != nil {
		return fmt.Errorf("http.%w", err)
	}
	return nil
}

// Deps are the server's dependencies.
type Deps struct {
	Logger   *slog.Logger
	Gatherer prometheus.Gatherer
	// API serves /api/ (console/api.New); nil serves no API.
	API http.Handler
	// Sessions, when set, serves the console's login, logout and session
	// endpoints and lets the API be called with the session cookie
	// (CSRF-checked for unsafe methods); nil: tokens and Basic only.
	Sessions *session.Manager
}

// Server serves HTTP. New does no I/O; Start binds; Stop shuts down
// gracefully.
type Server struct {
	cfg  Config
	deps Deps
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// New returns a server.
func New(cfg Config, deps Deps) *Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(deps.Gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(deps.Logger.Handler(), slog.LevelWarn)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	if deps.API != nil {
		api := deps.API
		if deps.Sessions != nil {
			// The console's security headers (CSP, nosniff, no framing)
			// go on API answers too.
			api = deps.Sessions.SecureHeaders(withSession(deps.Sessions, api))
		}
		mux.Handle("/api/", api)
	}
	if deps.Sessions != nil {
		deps.Sessions.Register(mux)
		mux.Handle("/", deps.Sessions.SecureHeaders(ui.Handler())) // the console's pages (console/ui)
	}
	if cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// Shutdown waits for requests in flight but does not end event
	// streams: the API ends them itself (console/api's CloseStreams).
	if c, ok := deps.API.(interface{ CloseStreams() }); ok {
		srv.RegisterOnShutdown(c.CloseStreams)
	}
	return &Server{cfg: cfg, deps: deps, srv: srv}
}

// Start binds the listener and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("unable to listen on %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.deps.Logger.Error("http server failed", "error", err)
		}
	}()
	s.deps.Logger.Info("http listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the bound address (after Start).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stop shuts the server down, waiting up to 5 s for requests in flight.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}

// withSession sends a request that carries the session cookie and no
// credentials of its own through the session middleware (which checks
// CSRF for unsafe methods and puts the principal in the context), and
// any other request straight to next.
func withSession(m *session.Manager, next http.Handler) http.Handler {
	viaSession := m.Require(next)
	name := m.Config().CookieName
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(name); err == nil && r.Header.Get("Authorization") == "" {
			viaSession.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
