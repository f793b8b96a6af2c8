// Package session keeps the web console's browser sessions: a user logs
// in with name and password (POST /console/login), gets a session
// cookie, and every later request is authenticated by it (Require).
//
// Sessions live in memory, keyed by the SHA-256 of a random 256-bit id
// (the cookie's value, base64url); they end at logout, after the
// configured TTL from the login, after the idle timeout without a
// request, or when the table is full and a newer login evicts the
// oldest. A restart ends them all.
//
// Wire format: the cookie is "<CookieName>=<43 base64url characters>;
// Path=/; Max-Age=<TTL>; HttpOnly; SameSite=Strict" (plus Secure when
// Config.Secure).
// Unsafe requests (all but GET, HEAD, OPTIONS, TRACE) must carry the session's
// CSRF token in the X-CSRF-Token header, and their Origin (or Referer),
// when present, must be the request's own host. Login and session
// answers are JSON:
//
//	{"name": "alice", "roles": ["analyst"], "kind": "user",
//	 "csrf_token": "...", "expires": "2026-11-26T22:44:27Z", "idle_expires": "..."}
//
// errors are {"error": "..."}.
package session

import (
	"container/list"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/acd-org/acd/store"
)

// UserAuthenticator checks a user's name and password. An error
// wrapping store.ErrPasswordChange means the password is right but must
// be changed first (403); one wrapping store.ErrUnauthenticated means
// they are not valid (401); any other error is the authenticator's own
// failure (500). *store.DB implements it.
type UserAuthenticator interface {
	AuthenticateUser(ctx context.Context, name, password string) (store.Principal, error)
}

// Interface guard.
var _ UserAuthenticator = (*store.DB)(nil)

// Deps are the session manager's dependencies.
type Deps struct {
	// Users checks logins (required).
	Users UserAuthenticator
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Logger logs logins, logouts and refusals (nil: discarded).
	Logger *slog.Logger
}

// Manager keeps the sessions and serves the login endpoints. It is safe
// for concurrent use. New does no I/O and starts no goroutine: expired
// sessions are dropped when met and at each login.
type Manager struct {
	cfg    Config
	users  UserAuthenticator
	now    func() time.Time
	log    *slog.Logger
	logins chan struct{} // bounds the password checks running at once

	mu       sync.Mutex
	sessions map[[sha256.Size]byte]*session // guarded by mu; by id's hash
	order    *list.List                     // guarded by mu; of *session, oldest login first
	limiter  limiter                        // guarded by mu
}

// session is one logged-in browser.
type session struct {
	key       [sha256.Size]byte // SHA-256 of the id
	principal store.Principal
	csrf      string
	created   time.Time
	seen      time.Time // last request
	elem      *list.Element
}

// New returns a manager. Zero fields of cfg take DefaultConfig's values,
// except Secure (false stays false); cfg should have been validated.
func New(cfg Config, deps Deps) *Manager {
	def := DefaultConfig()
	if cfg.CookieName == "" {
		cfg.CookieName = def.CookieName
	}
	if cfg.TTL <= 0 {
		cfg.TTL = def.TTL
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = min(def.IdleTimeout, cfg.TTL)
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = def.MaxSessions
	}
	if cfg.LoginFailures <= 0 {
		cfg.LoginFailures = def.LoginFailures
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = def.LoginWindow
	}
	m := &Manager{cfg: cfg, users: deps.Users, now: deps.Now, log: deps.Logger,
		logins:   make(chan struct{}, runtime.GOMAXPROCS(0)),
		sessions: map[[sha256.Size]byte]*session{}, order: list.New(),
		limiter: limiter{max: cfg.LoginFailures, window: cfg.LoginWindow, clients: map[string][]time.Time{}}}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m
}

// Config returns the configuration in effect (defaults filled in).
func (m *Manager) Config() Config { return m.cfg }

// Len returns the number of sessions kept (expired ones included until
// they are dropped).
func (m *Manager) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// EndUser ends every session of the user name (call it when the user
// is disabled, deleted, or changes password or roles: a session keeps
// the roles of its login) and returns how many it ended.
func (m *Manager) EndUser(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for e := m.order.Front(); e != nil; {
		next := e.Next()
		if s := e.Value.(*session); s.principal.Name == name {
			m.deleteLocked(s)
			n++
		}
		e = next
	}
	if n > 0 {
		m.log.Info("console sessions ended", "name", name, "sessions", n)
	}
	return n
}

// randomToken returns 256 random bits, base64url without padding.
func randomToken() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes())
}

func randomBytes() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}

// hashID returns the key of a cookie's id, false when it is not one.
func hashID(id string) ([sha256.Size]byte, bool) {
	if base64.RawURLEncoding.DecodedLen(len(id)) != 32 {
		return [sha256.Size]byte{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) != 32 {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(b), true
}

// create starts a session for p and returns its id and a copy of it.
func (m *Manager) create(p store.Principal) (string, session) {
	raw := randomBytes()
	now := m.now()
	s := &session{key: sha256.Sum256(raw), principal: clonePrincipal(p), csrf: randomToken(), created: now, seen: now}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweepLocked(now)
	for len(m.sessions) >= m.cfg.MaxSessions {
		oldest := m.order.Front().Value.(*session)
		m.log.Info("console session evicted: too many sessions", "name", oldest.principal.Name, "max", m.cfg.MaxSessions)
		m.deleteLocked(oldest)
	}
	s.elem = m.order.PushBack(s)
	m.sessions[s.key] = s
	return base64.RawURLEncoding.EncodeToString(raw), s.copy()
}

// lookup returns the live session of id and, when active (a person's
// request, not a page's background refresh), refreshes its idle time.
func (m *Manager) lookup(id string, active bool) (session, bool) {
	key, ok := hashID(id)
	if !ok {
		return session{}, false
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[key]
	if !ok {
		return session{}, false
	}
	if m.expired(s, now) {
		m.deleteLocked(s)
		return session{}, false
	}
	if active {
		s.seen = now
	}
	return s.copy(), true
}

// remove ends the session with key.
func (m *Manager) remove(key [sha256.Size]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[key]; ok {
		m.deleteLocked(s)
	}
}

// expired reports whether s has ended at now.
func (m *Manager) expired(s *session, now time.Time) bool {
	return !now.Before(s.created.Add(m.cfg.TTL)) || !now.Before(s.seen.Add(m.cfg.IdleTimeout))
}

// sweepLocked drops the expired sessions.
func (m *Manager) sweepLocked(now time.Time) {
	for e := m.order.Front(); e != nil; {
		next := e.Next()
		if s := e.Value.(*session); m.expired(s, now) {
			m.deleteLocked(s)
		}
		e = next
	}
}

func (m *Manager) deleteLocked(s *session) {
	delete(m.sessions, s.key)
	m.order.Remove(s.elem)
}

// copy returns s without its list element, its principal's roles cloned.
func (s *session) copy() session {
	c := *s
	c.elem = nil
	c.principal = clonePrincipal(s.principal)
	return c
}

func clonePrincipal(p store.Principal) store.Principal {
	p.Roles = slices.Clone(p.Roles)
	return p
}

// expires returns when s ends if unused: the earlier of its absolute
// and idle ends.
func (m *Manager) expires(s session) (absolute, idle time.Time) {
	absolute = s.created.Add(m.cfg.TTL)
	idle = s.seen.Add(m.cfg.IdleTimeout)
	if idle.After(absolute) {
		idle = absolute
	}
	return absolute, idle
}
