package session

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/acd-org/acd/store"
)

// Paths of the session endpoints.
const (
	LoginPath   = "/console/login"   // POST: log in
	LogoutPath  = "/console/logout"  // POST: log out (CSRF-checked)
	SessionPath = "/console/session" // GET: who am I
)

// Info is what the login and session endpoints answer about a session.
type Info struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	Kind  string   `json:"kind"`
	// CSRFToken must be sent back in the X-CSRF-Token header of every
	// unsafe request.
	CSRFToken string `json:"csrf_token"`
	// Expires is the session's absolute end.
	Expires time.Time `json:"expires"`
	// IdleExpires is when the session ends without a further request.
	IdleExpires time.Time `json:"idle_expires"`
}

// Register serves the three session endpoints on mux (at LoginPath,
// LogoutPath and SessionPath).
func (m *Manager) Register(mux *http.ServeMux) {
	h := m.Handler()
	for _, p := range []string{LoginPath, LogoutPath, SessionPath} {
		mux.Handle(p, h)
	}
}

// Handler serves the session endpoints: LoginPath, LogoutPath and
// SessionPath (any other path: 404).
func (m *Manager) Handler() http.Handler {
	logout := m.Require(http.HandlerFunc(m.logout))
	info := m.Require(http.HandlerFunc(m.info))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch r.URL.Path {
		case LoginPath:
			if allow(w, r, http.MethodPost) {
				m.login(w, r)
			}
		case LogoutPath:
			if allow(w, r, http.MethodPost) {
				logout.ServeHTTP(w, r)
			}
		case SessionPath:
			if allow(w, r, http.MethodGet) {
				info.ServeHTTP(w, r)
			}
		default:
			writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		}
	})
}

// allow answers 405 unless r's method is method (HEAD counts as GET).
func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed (use "+method+")")
	return false
}

// login checks a name and password and starts a session.
func (m *Manager) login(w http.ResponseWriter, r *http.Request) {
	client := clientKey(r)
	if err := m.sameOrigin(r); err != nil {
		m.log.Info("console login refused", "client", client, "reason", err.Error())
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	if m.limited(w, client) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "the login is longer than "+strconv.Itoa(maxLoginBody)+" bytes")
		return
	}
	c, err := parseLogin(r.Header.Get("Content-Type"), body)
	switch {
	case errors.Is(err, errUnsupportedType):
		writeError(w, http.StatusUnsupportedMediaType, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	select {
	case m.logins <- struct{}{}:
		defer func() { <-m.logins }()
	case <-r.Context().Done():
		writeError(w, http.StatusServiceUnavailable, "too many logins at once: try again")
		return
	}
	if m.limited(w, client) { // failures may have come in while waiting
		return
	}
	p, err := m.users.AuthenticateUser(r.Context(), c.Name, c.Password)
	switch {
	case errors.Is(err, store.ErrPasswordChange):
		writeError(w, http.StatusForbidden, "the password is a one-time password: change it first (acd user passwd NAME)")
		return
	case errors.Is(err, store.ErrUnauthenticated):
		m.mu.Lock()
		m.limiter.fail(client, m.now())
		m.mu.Unlock()
		m.log.Info("console login failed", "client", client) // the name may be a mistyped password
		writeError(w, http.StatusUnauthorized, "invalid user name or password")
		return
	case err != nil:
		m.log.Error("console: unable to check a login", "client", client, "error", err)
		writeError(w, http.StatusInternalServerError, "unable to check the user name and password")
		return
	}
	m.endCookieSession(r) // a fresh id at each login: no session fixation
	id, s := m.create(p)
	m.setCookie(w, id, s.created.Add(m.cfg.TTL))
	m.log.Info("console login", "name", p.Name, "roles", p.Roles, "client", client)
	writeJSON(w, http.StatusOK, m.infoOf(s))
}

// limited answers 429 when client has failed too often lately.
func (m *Manager) limited(w http.ResponseWriter, client string) bool {
	m.mu.Lock()
	wait := m.limiter.blocked(client, m.now())
	m.mu.Unlock()
	if wait <= 0 {
		return false
	}
	secs := int((wait + time.Second - 1) / time.Second)
	m.log.Warn("console login rate-limited", "client", client, "retry_after_s", secs)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "too many failed logins from this address: try again in "+strconv.Itoa(secs)+" s")
	return true
}

// endCookieSession ends the session of r's cookie, if any.
func (m *Manager) endCookieSession(r *http.Request) {
	if c, err := r.Cookie(m.cfg.CookieName); err == nil {
		if key, ok := hashID(c.Value); ok {
			m.remove(key)
		}
	}
}

// logout ends the request's session (behind Require).
func (m *Manager) logout(w http.ResponseWriter, r *http.Request) {
	s := r.Context().Value(ctxKey{}).(*current)
	m.remove(s.key)
	m.clearCookie(w)
	m.log.Info("console logout", "name", s.principal.Name)
	w.WriteHeader(http.StatusNoContent)
}

// info answers who the request's session is (behind Require).
func (m *Manager) info(w http.ResponseWriter, r *http.Request) {
	s := r.Context().Value(ctxKey{}).(*current)
	writeJSON(w, http.StatusOK, m.infoOf(s.session))
}

func (m *Manager) infoOf(s session) Info {
	abs, idle := m.expires(s)
	roles := s.principal.Roles
	if roles == nil {
		roles = []string{}
	}
	return Info{Name: s.principal.Name, Roles: roles, Kind: s.principal.Kind, CSRFToken: s.csrf,
		Expires: abs.UTC(), IdleExpires: idle.UTC()}
}

// setCookie sends the session cookie with id, valid until expires.
func (m *Manager) setCookie(w http.ResponseWriter, id string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: m.cfg.CookieName, Value: id, Path: "/", Expires: expires.UTC(),
		MaxAge: int(m.cfg.TTL / time.Second), HttpOnly: true, Secure: m.cfg.Secure, SameSite: http.SameSiteStrictMode})
}

// clearCookie tells the browser to drop the session cookie.
func (m *Manager) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: m.cfg.CookieName, Value: "", Path: "/", Expires: time.Unix(0, 0),
		MaxAge: -1, HttpOnly: true, Secure: m.cfg.Secure, SameSite: http.SameSiteStrictMode})
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}
