package taxii

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Deps are the Server's dependencies.
type Deps struct {
	Logger *slog.Logger  // required
	Store  Store         // required
	Auth   Authenticator // required
	// Policy decides can_read/can_write; nil: NewConfigPolicy(cfg).
	Policy Policy
	// Validator checks posted objects; nil: ValidateObject (on the
	// object already parsed).
	Validator Validator
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// NewID makes status resource ids; nil: random UUIDs.
	NewID func() string
	// Registerer registers the metrics (acd_taxii_*); nil: not registered.
	Registerer prometheus.Registerer
}

// Server is the TAXII 2.1 http.Handler. Mount it at "/" of a listener
// (discovery is /taxii2/, API roots /{name}/), or under a prefix with
// http.StripPrefix and Config.URL set to match. Use New.
type Server struct {
	cfg   Config
	deps  Deps
	mux   *http.ServeMux
	roots map[string]*APIRootConfig
	cols  map[string]map[string]*CollectionConfig // root → id → collection
	m     *metrics
}

// New returns a Server for cfg (validated, with defaults filled). It
// does no I/O.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("unable to create taxii server: %w", err)
	}
	if deps.Logger == nil || deps.Store == nil || deps.Auth == nil {
		return nil, errors.New("unable to create taxii server: Logger, Store and Auth are required")
	}
	if deps.Policy == nil {
		deps.Policy = NewConfigPolicy(cfg)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.NewID == nil {
		deps.NewID = newID
	}
	s := &Server{cfg: cfg, deps: deps, roots: map[string]*APIRootConfig{}, cols: map[string]map[string]*CollectionConfig{},
		m: newMetrics(deps.Registerer)}
	for i := range s.cfg.APIRoots {
		r := &s.cfg.APIRoots[i]
		s.roots[r.Name] = r
		s.cols[r.Name] = map[string]*CollectionConfig{}
		for j := range r.Collections {
			s.cols[r.Name][r.Collections[j].ID] = &r.Collections[j]
		}
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("/taxii2/{$}", s.only(s.discovery, http.MethodGet))
	m.HandleFunc("/{root}/{$}", s.only(s.apiRoot, http.MethodGet))
	m.HandleFunc("/{root}/status/{sid}/{$}", s.only(s.status, http.MethodGet))
	m.HandleFunc("/{root}/collections/{$}", s.only(s.collections, http.MethodGet))
	m.HandleFunc("/{root}/collections/{cid}/{$}", s.only(s.collection, http.MethodGet))
	m.HandleFunc("/{root}/collections/{cid}/objects/{$}", s.only(s.objects, http.MethodGet, http.MethodPost))
	m.HandleFunc("/{root}/collections/{cid}/objects/{oid}/{$}", s.only(s.object, http.MethodGet, http.MethodDelete))
	m.HandleFunc("/{root}/collections/{cid}/objects/{oid}/versions/{$}", s.only(s.versions, http.MethodGet))
	m.HandleFunc("/{root}/collections/{cid}/manifest/{$}", s.only(s.manifest, http.MethodGet))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not-found", "no such TAXII resource: "+r.URL.Path)
	})
	s.mux = m
}

// only wraps h to answer 405 to other methods than ms.
func (s *Server) only(h http.HandlerFunc, ms ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, m := range ms {
			if r.Method == m {
				h(w, r)
				return
			}
		}
		w.Header().Set("Allow", strings.Join(ms, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method-not-allowed", r.Method+" is not allowed here")
	}
}

type principalKey struct{}

// ServeHTTP authenticates the caller (401), checks Accept (406) and
// routes the request.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	_, endpoint := s.mux.Handler(r)
	w := &statusWriter{ResponseWriter: rw}
	defer s.m.observe(endpoint, w, time.Now())
	p, err := s.deps.Auth.Authenticate(r)
	if err != nil || p.Name == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="taxii", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "unauthenticated", "authentication required")
		return
	}
	if !acceptable(r.Header.Get("Accept")) {
		writeError(w, http.StatusNotAcceptable, "not-acceptable", "Accept must allow "+MediaType)
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
}

func principal(r *http.Request) Principal {
	p, _ := r.Context().Value(principalKey{}).(Principal)
	return p
}

// baseURL is the external base URL, without a trailing slash.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.URL != "" {
		return strings.TrimRight(s.cfg.URL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	type discovery struct {
		Title       string   `json:"title"`
		Description string   `json:"description,omitempty"`
		Contact     string   `json:"contact,omitempty"`
		Default     string   `json:"default,omitempty"`
		APIRoots    []string `json:"api_roots,omitempty"`
	}
	base := s.baseURL(r)
	d := discovery{Title: s.cfg.Title, Description: s.cfg.Description, Contact: s.cfg.Contact}
	if s.cfg.Default != "" {
		d.Default = base + "/" + s.cfg.Default + "/"
	}
	for _, root := range s.cfg.APIRoots {
		d.APIRoots = append(d.APIRoots, base+"/"+root.Name+"/")
	}
	writeJSON(w, http.StatusOK, d)
}

// root returns the request's API root, or answers 404.
func (s *Server) root(w http.ResponseWriter, r *http.Request) (*APIRootConfig, bool) {
	root, ok := s.roots[r.PathValue("root")]
	if !ok {
		writeError(w, http.StatusNotFound, "api-root-not-found", "no such API root")
	}
	return root, ok
}

func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request) {
	root, ok := s.root(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Title            string   `json:"title"`
		Description      string   `json:"description,omitempty"`
		Versions         []string `json:"versions"`
		MaxContentLength int64    `json:"max_content_length"`
	}{root.Title, root.Description, []string{MediaType}, root.MaxContentLength})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	root, ok := s.root(w, r)
	if !ok {
		return
	}
	st, err := s.deps.Store.Status(r.Context(), r.PathValue("sid"))
	if errors.Is(err, ErrNotFound) || err == nil && (st.APIRoot != root.Name || st.Owner != principal(r).Name) {
		writeError(w, http.StatusNotFound, "status-not-found", "no such status resource")
		return
	}
	if err != nil {
		s.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st.Status)
}

// collectionResource is a collection as listed.
type collectionResource struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Alias       string   `json:"alias,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types"`
}

const stixMediaType = "application/stix+json;version=2.1"

func (s *Server) resource(r *http.Request, root string, c *CollectionConfig) (collectionResource, bool) {
	read, write := s.deps.Policy.Access(principal(r), root, c.ID)
	return collectionResource{c.ID, c.Title, c.Description, c.Alias, read, write, []string{stixMediaType}}, read || write
}

func (s *Server) collections(w http.ResponseWriter, r *http.Request) {
	root, ok := s.root(w, r)
	if !ok {
		return
	}
	var out struct {
		Collections []collectionResource `json:"collections,omitempty"`
	}
	for i := range root.Collections {
		if res, ok := s.resource(r, root.Name, &root.Collections[i]); ok {
			out.Collections = append(out.Collections, res)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// lookup returns the request's collection and the caller's access,
// or answers 404 (also for a collection the caller can neither read nor
// write).
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (collectionResource, bool) {
	root, ok := s.root(w, r)
	if !ok {
		return collectionResource{}, false
	}
	if c, ok := s.cols[root.Name][r.PathValue("cid")]; ok {
		if res, ok := s.resource(r, root.Name, c); ok {
			return res, true
		}
	}
	writeError(w, http.StatusNotFound, "collection-not-found", "no such collection")
	return collectionResource{}, false
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.lookup(w, r); ok {
		writeJSON(w, http.StatusOK, c)
	}
}

// readable looks the collection up and answers 403 when the caller
// may not read it.
func (s *Server) readable(w http.ResponseWriter, r *http.Request) (collectionResource, bool) {
	c, ok := s.lookup(w, r)
	if ok && !c.CanRead {
		writeError(w, http.StatusForbidden, "read-forbidden", "you may not read this collection")
		return c, false
	}
	return c, ok
}

// storeError answers a store failure.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrBadToken):
		writeError(w, http.StatusBadRequest, "invalid-next", "invalid next token")
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "not-found", "not found")
	case errors.Is(err, ErrUnavailable):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "store unavailable, try again later")
	default:
		s.deps.Logger.Error("taxii store failed", "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

// newID returns a random (version 4) UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
