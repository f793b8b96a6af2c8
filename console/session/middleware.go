package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/store"
)

// CSRFHeader is the header unsafe requests carry the session's CSRF
// token in.
const CSRFHeader = "X-CSRF-Token"

// ctxKey is the context key of the request's *current.
type ctxKey struct{}

// current is the session of a request behind Require.
type current struct {
	session
}

// PrincipalFrom returns the principal of a request's session (for
// handlers behind Require).
func PrincipalFrom(ctx context.Context) (store.Principal, bool) {
	s, ok := ctx.Value(ctxKey{}).(*current)
	if !ok {
		return store.Principal{}, false
	}
	return clonePrincipal(s.principal), true
}

// Require authenticates a request by its session cookie (401 when there
// is none or it has ended), refreshes the session's idle time, and for
// unsafe methods (anything but GET, HEAD, OPTIONS, TRACE) checks the
// Origin or Referer and the X-CSRF-Token header (403). next sees the
// principal (PrincipalFrom) and the audit actor "user:<name>"
// (audit.ActorFrom) in the request's context.
func (m *Manager) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		unsafe := !safeMethod(r.Method)
		if unsafe {
			if err := m.sameOrigin(r); err != nil {
				writeError(w, http.StatusForbidden, err.Error())
				return
			}
		}
		c, err := r.Cookie(m.cfg.CookieName)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "not logged in (POST "+LoginPath+")")
			return
		}
		s, ok := m.lookup(c.Value, !Background(r))
		if !ok {
			m.clearCookie(w)
			writeError(w, http.StatusUnauthorized, "the session has ended: log in again (POST "+LoginPath+")")
			return
		}
		if unsafe && !validCSRF(r.Header.Get(CSRFHeader), s.csrf) {
			m.log.Info("console request refused: bad CSRF token", "name", s.principal.Name, "method", r.Method, "path", r.URL.Path)
			writeError(w, http.StatusForbidden, "missing or wrong "+CSRFHeader+" header (GET "+SessionPath+" has the token)")
			return
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, &current{s})
		ctx = audit.WithActor(ctx, s.principal.Kind+":"+s.principal.Name)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// BackgroundHeader marks a page's own refresh (the console's case page
// every few seconds): "1" says no person asked for it.
const BackgroundHeader = "X-Acd-Background"

// Background reports whether r is a page's background request — an
// event stream (EventSource sends Accept: text/event-stream) or a refresh
// marked with BackgroundHeader — which does not count as activity: an
// open tab must not keep a session alive past its idle timeout. Only a
// safe request can be background.
func Background(r *http.Request) bool {
	if !safeMethod(r.Method) {
		return false
	}
	return r.Header.Get(BackgroundHeader) == "1" || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// validCSRF compares a sent token with the session's in constant time.
func validCSRF(sent, want string) bool {
	return sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(want)) == 1
}

// sameOrigin refuses a request that a browser marks as cross-origin
// (Sec-Fetch-Site), or whose Origin (else Referer), when present, is not
// the request's own scheme and host.
func (m *Manager) sameOrigin(r *http.Request) error {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return errors.New("cross-origin request refused (Sec-Fetch-Site: " + site + ")")
	}
	from, what := r.Header.Get("Origin"), "Origin"
	if from == "" {
		from, what = r.Header.Get("Referer"), "Referer"
	}
	if from == "" {
		return nil
	}
	if !m.matchesHost(from, r.Host) {
		return errors.New("cross-origin request refused (" + what + " is not this host)")
	}
	return nil
}

// matchesHost reports whether the URL from (an Origin or a Referer) is
// on host, with https when the cookie is Secure.
func (m *Manager) matchesHost(from, host string) bool {
	u, err := url.Parse(from)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return false // includes Origin: null
	}
	if m.cfg.Secure && u.Scheme != "https" {
		return false
	}
	return strings.EqualFold(stripDefaultPort(u.Host, u.Scheme), stripDefaultPort(host, u.Scheme))
}

// stripDefaultPort drops scheme's default port from hostport.
func stripDefaultPort(hostport, scheme string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return hostport
}

// ContentSecurityPolicy is the console's CSP: only its own scripts,
// styles and images, no plug-ins, no framing, no <base>.
const ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"

// SecureHeaders sets the console's security headers on every response:
// Content-Security-Policy, X-Content-Type-Options, Referrer-Policy,
// X-Frame-Options, Cross-Origin-Opener-Policy, Cache-Control: no-store
// (a handler may set its own, e.g. for embedded static assets), and
// Strict-Transport-Security when the manager is Secure.
func (m *Manager) SecureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if m.cfg.Secure {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		next.ServeHTTP(w, r)
	})
}
