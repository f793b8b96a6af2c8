package peertest

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// recordTB records what Browser reports and keeps its cleanups for the
// test to run, so that a test can see the failure Browser reports at
// cleanup without failing itself.
type recordTB struct {
	testing.TB

	mu       sync.Mutex // guards the fields below
	logs     []string
	errs     []string
	cleanups []func()
}

func (r *recordTB) Helper() {}

func (r *recordTB) Logf(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, a...))
}

func (r *recordTB) Errorf(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

func (r *recordTB) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// runCleanups runs the recorded cleanups, last first.
func (r *recordTB) runCleanups() {
	r.mu.Lock()
	fs := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func (r *recordTB) logged(substr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.logs {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func (r *recordTB) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errs...)
}

// testPage serves a page under the console's CSP whose script (a file:
// inline scripts are refused) draws into main, writes a console error, and
// throws when the button is clicked; the other button asks to confirm.
func testPage(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><title>peertest</title><script src="/app.js" defer></script></head>
<body><main id="page"></main><button id="boom">boom</button><button id="ask">ask</button></body></html>`)
	})
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `"use strict";
const main = document.getElementById("page");
main.textContent = "drawn by app.js";
main.dataset.ready = "1";
console.error("marker-console-error");
document.getElementById("ask").addEventListener("click", () => { main.dataset.confirmed = String(confirm("marker-confirm")); });
document.getElementById("boom").addEventListener("click", () => { throw new Error("marker-exception"); });
`)
	})
	ts := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(ts.Close)
	return ts
}

// step runs actions with a deadline.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestBrowser loads a page from a loopback server in Chromium, reads the
// DOM its script drew, takes a screenshot, checks that a confirm dialog is
// accepted, that the page's console error is logged and that its uncaught
// exception fails the test.
func TestBrowser(t *testing.T) {
	t.Parallel()
	ts := testPage(t)
	rec := &recordTB{TB: t}
	ctx := Browser(rec)
	defer rec.runCleanups() // also on t.Fatal

	step(t, ctx, "load the page", chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`main#page[data-ready="1"]`)))
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	text, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("main#page")))
	cancel()
	if err != nil || text != "drawn by app.js" {
		t.Fatalf("main#page text = %q, %v; want %q", text, err, "drawn by app.js")
	}

	path := Screenshot(t, ctx, "peertest-browser")
	if want := filepath.Join(ScreenshotDir(t), "peertest-browser.png"); path != want {
		t.Fatalf("Screenshot() = %q, want %q", path, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if cfg.Width != BrowserWidth || cfg.Height < 100 {
		t.Errorf("screenshot is %dx%d, want %d wide", cfg.Width, cfg.Height, BrowserWidth)
	}

	step(t, ctx, "answer a confirm dialog", chromedp.Click(chromedp.ID("ask")),
		chromedp.WaitVisible(chromedp.CSS(`main#page[data-confirmed="true"]`)))
	step(t, ctx, "click the button", chromedp.Click(chromedp.ID("boom")))
	deadline := time.Now().Add(20 * time.Second)
	for !rec.logged("marker-exception") || !rec.logged("marker-console-error") {
		if time.Now().After(deadline) {
			t.Fatalf("the page's console error and exception were not logged; logs: %q", rec.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if errs := rec.errors(); len(errs) != 0 {
		t.Fatalf("Browser reported %q before cleanup, want nothing", errs)
	}
	rec.runCleanups()
	errs := rec.errors()
	if len(errs) != 1 || !strings.Contains(errs[0], "marker-exception") {
		t.Errorf("Browser reported %q at cleanup, want one error about marker-exception", errs)
	}
}

func TestRepoRoot(t *testing.T) {
	got, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Dir(wd); got != want { // the test runs in <root>/peertest
		t.Errorf("RepoRoot() = %q, want %q", got, want)
	}
}

func TestScreenshotRefusesPaths(t *testing.T) {
	for _, name := range []string{"", "../x", "a/b", `a\b`, ".hidden"} {
		t.Run(name, func(t *testing.T) {
			rec := &recordTB{TB: t}
			if got := Screenshot(rec, context.Background(), name); got != "" || len(rec.errors()) != 1 {
				t.Errorf("Screenshot(%q) = %q, errors %q; want a refusal", name, got, rec.errors())
			}
		})
	}
}
