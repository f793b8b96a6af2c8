// Package api is acd's REST API, served under /api/v1/. Every request
// carries an API token (Authorization: Bearer acd_...; see acd token) or
// a user's name and password (HTTP Basic; see acd user), and is
// authorized by the token's role or the user's roles. Responses are JSON with
// Cache-Control: no-store; errors are {"error": "..."} with the HTTP
// status saying what kind (400 bad parameter, 401 no valid token, 403
// role not allowed, 404 no such thing, 405 wrong method, 5xx server).
//
// Endpoints (README.md has the parameters and examples):
//
//	GET /api/v1/suspects             the detection stage's suspects, filtered
//	GET /api/v1/suspects/{address}   one suspect (a prefix's slash may be %2F)
//	/api/v1/cases...                 cases, approvals and actions (cases.go)
//	/api/v1/users..., /api/v1/tokens...  users, signing keys, tokens (users.go, tokens.go)
//	/api/v1/audit..., /api/v1/reports/oversight  the audit log (audit.go)
//	GET /api/v1/enforcement          adapters, reconciliation, drift, verification (enforcement.go)
//	/api/v1/partners..., /api/v1/intel/revoke  sharing with partners (intel.go)
//	/api/v1/incidents...             operators' incident reports, the unified DDoS report (incidents.go)
//	GET /api/v1/overview[/stream]    the console's live overview, once or as Server-Sent Events (overview.go, stream.go)
//	GET /api/v1/sharing              partners, agreements, syncs, objects in and out by TLP (sharing.go)
package api

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/enforce"
	"github.com/acd-org/acd/store"
)

// Authenticator turns a bearer token's secret into a principal; an error
// wrapping store.ErrUnauthenticated means the secret is not valid (401),
// any other error is the authenticator's own failure (500).
// *store.DB implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (store.Principal, error)
}

// UserAuthenticator checks a user's name and password (HTTP Basic); an
// error wrapping store.ErrUnauthenticated means they are not valid (401;
// store.ErrPasswordChange: a one-time password to change first, 403),
// any other error is the authenticator's own failure (500).
// *store.DB implements it.
type UserAuthenticator interface {
	AuthenticateUser(ctx context.Context, name, password string) (store.Principal, error)
}

// Interface guards.
var (
	_ Authenticator     = (*store.DB)(nil)
	_ UserAuthenticator = (*store.DB)(nil)
)

// Deps are the API's dependencies.
type Deps struct {
	// Book holds the suspects (nil: suspect endpoints answer 503).
	Book *detect.Book
	// Cases keeps the cases and decides on them (nil: case endpoints
	// answer 503). Creating a case also needs Book, for its suspects.
	Cases cases.Service
	// Auth checks tokens (required).
	Auth Authenticator
	// Users checks user names and passwords sent with HTTP Basic (nil:
	// Basic is refused). Each check costs a password hash (argon2id: 64
	// MiB, ~100 ms): at most GOMAXPROCS run at once, and scripts that call
	// often should use a token.
	Users UserAuthenticator
	// Admin manages users, signing keys and tokens (nil: those endpoints
	// answer 503).
	Admin Admin
	// Audit reads the audit log (nil: the audit and report endpoints
	// answer 503).
	Audit AuditLog
	// AuditKey is the public half of the server's audit key, with which
	// GET /api/v1/audit/verify checks the checkpoints (nil: it answers
	// 503).
	AuditKey ed25519.PublicKey
	// Enforcement reports the enforcement side's state (nil: GET
	// /api/v1/enforcement answers 503).
	Enforcement Enforcement
	// Incidents keeps operators' incident reports (nil: those endpoints
	// answer 503).
	Incidents Incidents
	// Domestic says whether an address is domestic (the screening
	// stage's space): incident reports mark their domestic indicators.
	Domestic func(netip.Addr) bool
	// Session, when set, returns the principal a browser session
	// (console/session) authenticated, for requests that carry no
	// credentials of their own: the console calls the API with its
	// cookie. The session middleware has checked CSRF already.
	Session func(ctx context.Context) (store.Principal, bool)
	// Intel is the sharing side (nil: the partner and intel endpoints
	// answer 503).
	Intel Intel
	// Gatherer is the in-process Prometheus registry the live overview
	// is computed from (nil: the overview endpoints answer 503).
	Gatherer prometheus.Gatherer
	// OverviewEvery is the overview stream's interval (0: 2 s).
	OverviewEvery time.Duration
	// MaxStreams bounds the overview streams open at once (0: 64); one
	// more is answered 503.
	MaxStreams int
	// InEffect returns the actions in effect (store.Cases.InEffect), for
	// the overview's count and each case's action states (nil: none
	// known).
	InEffect func(ctx context.Context) ([]enforce.Item, error)
	// Policy is the cases policy, whose quorum (k) and commissioner keys
	// (n) GET /api/v1/cases/{id} shows (nil: not shown).
	Policy *cases.Policy
	// VerifyWindow is the verify stage's window (verify.window), which
	// GET /api/v1/cases/{id} shows so that the console can tell an
	// operator when an execution will have its whole baseline (0: not
	// shown).
	VerifyWindow time.Duration
	// Sharing reads the partners and what was shared with them, for GET
	// /api/v1/sharing (nil: it answers 503). *store.DB implements it.
	Sharing SharingStore
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logger logs requests at debug (never the token) and failures.
	Logger *slog.Logger
}

// handler serves the API.
type handler struct {
	deps Deps
	log  *slog.Logger
	mux  *http.ServeMux
	// logins bounds the password checks running at once.
	logins chan struct{}
	// overview takes the overview's snapshots.
	overview *overviewer
	// streams bounds the event streams open at once; closed ends them.
	streams   chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

// New returns the API's handler; mount it at /api/ (it serves the full
// paths, /api/v1/...). The handler is also a StreamCloser: call
// CloseStreams when the HTTP server shuts down.
func New(deps Deps) http.Handler {
	streams := deps.MaxStreams
	if streams <= 0 {
		streams = defaultStreams
	}
	h := &handler{deps: deps, log: deps.Logger, mux: http.NewServeMux(), logins: make(chan struct{}, runtime.GOMAXPROCS(0)),
		streams: make(chan struct{}, streams), closed: make(chan struct{})}
	h.overview = &overviewer{h: h}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.mux.Handle("/api/v1/openapi.json", h.route(http.MethodGet, store.Roles(), h.openapi))
	h.mux.Handle("/api/v1/suspects", h.route(http.MethodGet, suspectReaders(), h.listSuspects))
	h.mux.Handle("/api/v1/suspects/{address...}", h.route(http.MethodGet, suspectReaders(), h.getSuspect))
	h.caseRoutes()
	h.adminRoutes()
	h.auditRoutes()
	h.enforcementRoutes()
	h.reidentifiedRoutes()
	h.intelRoutes()
	h.incidentRoutes()
	h.overviewRoutes()
	h.sharingRoutes()
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	})
	return h
}

// now returns the time by the clock in Deps.
func (h *handler) now() time.Time {
	if h.deps.Now != nil {
		return h.deps.Now()
	}
	return time.Now()
}

// suspectReaders are the roles that may read suspects.
func suspectReaders() []store.Role {
	return []store.Role{store.RoleAnalyst, store.RoleCommissioner, store.RoleOperator, store.RoleAuditor, store.RoleAdmin}
}

// principalKey is the context key of the request's principal.
type principalKey struct{}

// PrincipalFrom returns the authenticated principal of a request's
// context (for handlers mounted behind this API's authentication).
func PrincipalFrom(ctx context.Context) (store.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(store.Principal)
	return p, ok
}

// ServeHTTP authenticates every request, then routes it.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w = rec
	w.Header().Set("Cache-Control", "no-store")
	who := ""
	defer func() {
		h.log.Debug("api request", "method", r.Method, "path", r.URL.Path, "query", loggableQuery(r.URL.RawQuery),
			"principal", who, "status", rec.status, "duration", time.Since(start))
	}()
	p, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	who = p.Name
	// What the request changes is audited under the principal's name.
	ctx := audit.WithActor(context.WithValue(r.Context(), principalKey{}, p), p.Kind+":"+p.Name)
	h.mux.ServeHTTP(w, r.WithContext(ctx))
}

// authenticate checks the bearer token or the Basic user name and
// password; on failure it has answered.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (store.Principal, bool) {
	if h.deps.Session != nil && r.Header.Get("Authorization") == "" {
		if p, ok := h.deps.Session(r.Context()); ok {
			return p, true
		}
	}
	if user, password, ok := r.BasicAuth(); ok {
		return h.authenticateUser(w, r, user, password)
	}
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="acd"`)
		msg := "missing bearer token (Authorization: Bearer <token>; create one with 'acd token create')"
		if h.deps.Users != nil {
			msg += " or user name and password (HTTP Basic)"
		}
		writeError(w, http.StatusUnauthorized, msg)
		return store.Principal{}, false
	}
	p, err := h.deps.Auth.Authenticate(r.Context(), secret)
	switch {
	case errors.Is(err, store.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="acd", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid or revoked token")
		return store.Principal{}, false
	case err != nil:
		h.log.Error("api: unable to authenticate", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to check the token")
		return store.Principal{}, false
	}
	return p, true
}

// basicChallenge asks for HTTP Basic credentials.
const basicChallenge = `Basic realm="acd", charset="UTF-8"`

// authenticateUser checks a Basic user name and password; on failure it
// has answered. Every refusal reads the same, so names cannot be probed.
func (h *handler) authenticateUser(w http.ResponseWriter, r *http.Request, user, password string) (store.Principal, bool) {
	if h.deps.Users == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="acd"`)
		writeError(w, http.StatusUnauthorized, "missing bearer token (Authorization: Bearer <token>): user logins (HTTP Basic) are not enabled here")
		return store.Principal{}, false
	}
	select {
	case h.logins <- struct{}{}:
		defer func() { <-h.logins }()
	case <-r.Context().Done():
		writeError(w, http.StatusServiceUnavailable, "too many logins at once: try again")
		return store.Principal{}, false
	}
	p, err := h.deps.Users.AuthenticateUser(r.Context(), user, password)
	switch {
	case errors.Is(err, store.ErrPasswordChange):
		writeError(w, http.StatusForbidden, "the password is a one-time password: change it first (acd user passwd NAME)")
		return store.Principal{}, false
	case errors.Is(err, store.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", basicChallenge)
		writeError(w, http.StatusUnauthorized, "invalid user name or password")
		return store.Principal{}, false
	case err != nil:
		h.log.Error("api: unable to authenticate a user", "error", err)
		writeError(w, http.StatusInternalServerError, "unable to check the user name and password")
		return store.Principal{}, false
	}
	return p, true
}

// route checks the method and the principal's roles before next.
func (h *handler) route(method string, roles []store.Role, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed (use "+method+")")
			return
		}
		p, _ := PrincipalFrom(r.Context())
		if !p.HasRole(roles...) {
			writeError(w, http.StatusForbidden, "forbidden: "+describeRoles(p)+" may not "+method+" "+r.URL.Path)
			return
		}
		next(w, r)
	})
}

func describeRoles(p store.Principal) string {
	if len(p.Roles) == 0 {
		return p.Kind + " " + p.Name + " (no role)"
	}
	return "role " + strings.Join(p.Roles, ",")
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

// loggableQuery hides a query that might hold a token by mistake.
func loggableQuery(q string) string {
	if strings.Contains(q, store.TokenPrefix) {
		return "[redacted]"
	}
	return q
}

// statusRecorder remembers the status written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
