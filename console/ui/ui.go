// Package ui is acd's web console: a single-page application of plain
// ES modules, one style sheet and the vendored uPlot chart library, all
// embedded in the binary (no build step, no CDN, no request leaves the
// console's origin). The pages talk to the REST API (/api/v1) with the
// browser session of console/session; this package only serves files.
//
// Handler serves:
//
//	GET /                   index.html (Cache-Control: no-cache)
//	GET /assets/<file>      an embedded asset, typed by its extension,
//	                        with an ETag (SHA-256) and Cache-Control: no-cache
//
// Anything else is 404 (directories too: there is no listing), and a
// method other than GET or HEAD is 405. Every answer carries the
// console's Content-Security-Policy (no inline scripts or styles) and
// X-Content-Type-Options: nosniff, whether or not a middleware sets them
// too.
//
// The pages are hash routes of index.html (#/login, #/overview,
// #/suspects, #/suspects/<address>, #/cases, #/cases/<id>, #/sharing,
// #/incidents, #/audit); README.md documents their DOM contract, on
// which the browser tests rely.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// ContentSecurityPolicy is the policy the console's pages are served
// under (the same as console/session's).
const ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"

// contentTypes maps the extensions of the embedded files to their types;
// a file with another extension is served as text/plain.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
}

// file is one embedded file, ready to serve.
type file struct {
	data  []byte
	ctype string
	etag  string
}

// handler serves the embedded files.
type handler struct {
	files map[string]file // by URL path: "/" and "/assets/..."
}

// Handler returns the console's file server; mount it at "/" (its paths
// are /, /index.html and /assets/...).
func Handler() http.Handler {
	h, err := newHandler(assets)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time; the tests read it
	}
	return h
}

// newHandler reads every regular file under assets/ of fsys.
func newHandler(fsys fs.FS) (*handler, error) {
	h := &handler{files: map[string]file{}}
	err := fs.WalkDir(fsys, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("unable to read embedded %s: %w", p, err)
		}
		ctype, ok := contentTypes[path.Ext(p)]
		if !ok {
			ctype = "text/plain; charset=utf-8"
		}
		sum := sha256.Sum256(data)
		h.files["/"+p] = file{data: data, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unable to load the console's assets: %w", err)
	}
	index, ok := h.files["/assets/index.html"]
	if !ok {
		return nil, fmt.Errorf("unable to load the console's assets: no assets/index.html")
	}
	h.files["/"] = index
	h.files["/index.html"] = index
	delete(h.files, "/assets/index.html")
	return h, nil
}

// ServeHTTP serves one embedded file.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		hd.Set("Cache-Control", "no-store")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, ok := h.files[r.URL.Path]
	if !ok || strings.Contains(r.URL.Path, "..") {
		hd.Set("Cache-Control", "no-store")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	hd.Set("Content-Type", f.ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}
