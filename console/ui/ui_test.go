package ui

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// vendored pins the SHA-256 of each vendored file: scripts/vendor-js.sh
// fetches them with a checked integrity; nobody edits them by hand.
var vendored = map[string]string{
	"assets/vendor/uplot/uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
	"assets/vendor/uplot/uPlot.min.css":     "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
	"assets/vendor/uplot/LICENSE":           "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd",
}

func TestVendoredFilesArePinned(t *testing.T) {
	for name, want := range vendored {
		data, err := fs.ReadFile(assets, name)
		if err != nil {
			t.Fatalf("%s: %v (run scripts/vendor-js.sh)", name, err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: SHA-256 %s, want %s: vendored files come from scripts/vendor-js.sh only", name, got, want)
		}
	}
}

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		name, method, path string
		status             int
		ctype, body, cache string
	}{
		{"index", "GET", "/", 200, "text/html; charset=utf-8", `<main id="page">`, "no-cache"},
		{"index by name", "GET", "/index.html", 200, "text/html; charset=utf-8", `src="/assets/js/app.js"`, "no-cache"},
		{"head index", "HEAD", "/", 200, "text/html; charset=utf-8", "", "no-cache"},
		{"module", "GET", "/assets/js/app.js", 200, "text/javascript; charset=utf-8", "import", "no-cache"},
		{"style", "GET", "/assets/css/console.css", 200, "text/css; charset=utf-8", ":root", "no-cache"},
		{"vendored js", "GET", "/assets/vendor/uplot/uPlot.iife.min.js", 200, "text/javascript; charset=utf-8", "uPlot", "no-cache"},
		{"vendored css", "GET", "/assets/vendor/uplot/uPlot.min.css", 200, "text/css; charset=utf-8", ".uplot", "no-cache"},
		{"licence", "GET", "/assets/vendor/uplot/LICENSE", 200, "text/plain; charset=utf-8", "MIT", "no-cache"},
		{"icon", "GET", "/assets/favicon.svg", 200, "image/svg+xml", "<svg", "no-cache"},
		{"unknown asset", "GET", "/assets/js/nope.js", 404, "", "", "no-store"},
		{"directory", "GET", "/assets/js/", 404, "", "", "no-store"},
		{"directory without slash", "GET", "/assets/js", 404, "", "", "no-store"},
		{"assets root", "GET", "/assets/", 404, "", "", "no-store"},
		{"index under assets", "GET", "/assets/index.html", 404, "", "", "no-store"},
		{"dot dot", "GET", "/assets/../ui.go", 404, "", "", "no-store"},
		{"other path", "GET", "/suspects", 404, "", "", "no-store"},
		{"post", "POST", "/", 405, "", "", "no-store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, h, tc.method, tc.path, nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("CSP %q, want %q", got, ContentSecurityPolicy)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", got)
			}
			if got := resp.Header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if tc.status != 200 {
				if strings.Contains(string(body), "<a href") {
					t.Errorf("a listing was served: %s", body)
				}
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if resp.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if !strings.Contains(string(body), tc.body) {
				t.Errorf("body lacks %q", tc.body)
			}
		})
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := Handler()
	first := get(t, h, "GET", "/assets/js/app.js", nil)
	etag := first.Header.Get("ETag")
	again := get(t, h, "GET", "/assets/js/app.js", map[string]string{"If-None-Match": etag})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, again.StatusCode)
	}
	other := get(t, h, "GET", "/assets/js/app.js", map[string]string{"If-None-Match": `"other"`})
	if other.StatusCode != http.StatusOK {
		t.Errorf("stale ETag: status %d, want 200", other.StatusCode)
	}
}

// TestNoInlineCode checks what the CSP would refuse anyway: no inline
// scripts, style attributes or event handler attributes in the HTML, and
// no markup strings or eval in the modules (they build the DOM with
// createElement and textContent, which escapes attackers' data).
func TestNoInlineCode(t *testing.T) {
	html := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\sstyle\s*=|\son[a-z]+\s*=|<style`)
	js := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*['"]style`)
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "assets/vendor/") {
			return err
		}
		data, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(p, ".html"):
			if m := html.Find(data); m != nil {
				t.Errorf("%s: inline code or style: %q", p, m)
			}
		case strings.HasSuffix(p, ".js"):
			if m := js.Find(data); m != nil {
				t.Errorf("%s: %q: build the DOM with h() or textContent", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestModulesResolve checks that every relative import of a module names
// an embedded file (a typo would only show in a browser).
func TestModulesResolve(t *testing.T) {
	imp := regexp.MustCompile(`(?m)^import [^'"]*from '(\./[^']+)'`)
	entries, err := fs.ReadDir(assets, "assets/js")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := fs.ReadFile(assets, "assets/js/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range imp.FindAllSubmatch(data, -1) {
			if _, err := fs.Stat(assets, "assets/js/"+strings.TrimPrefix(string(m[1]), "./")); err != nil {
				t.Errorf("%s imports %s: %v", e.Name(), m[1], err)
			}
		}
	}
}
