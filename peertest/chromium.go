package peertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ChromiumBinary is the name of the browser Browser runs (Debian package
// chromium).
const ChromiumBinary = "chromium"

// BrowserWidth and BrowserHeight are the size of the browser's window.
const (
	BrowserWidth  = 1440
	BrowserHeight = 900
)

// browserConsole collects what the page writes to its console: errors
// are logged, uncaught exceptions fail the test at cleanup.
type browserConsole struct {
	t testing.TB

	mu         sync.Mutex // guards exceptions and closed
	exceptions []string
	closed     bool // set at cleanup: nothing is logged after it
}

// log logs one console line unless the test is cleaning up.
func (c *browserConsole) log(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.t.Logf(format, args...)
	}
}

func (c *browserConsole) record(m chromedp.ConsoleMessage) {
	where := ""
	if m.URL != "" {
		where = fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
	}
	switch {
	case m.IsException():
		c.mu.Lock()
		c.exceptions = append(c.exceptions, m.Text+where)
		c.mu.Unlock()
		c.log("browser: uncaught exception: %s%s", m.Text, where)
	case m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning:
		c.log("browser console: %s%s", m, where)
	}
}

// close stops the logging and returns the exceptions seen.
func (c *browserConsole) close() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.exceptions
}

// Browser starts a headless Chromium (no sandbox, a temporary profile, a
// 1440x900 window) for the test and returns the chromedp context of its
// first tab, with the browser running. When chromium is not installed it
// skips the test, or fails it under ACD_INTEGRATION=1 (see Require).
//
// The page's console errors and warnings are logged with t.Logf; an
// uncaught JavaScript exception (or unhandled promise rejection) fails
// the test. JavaScript dialogs (alert, confirm, prompt) are accepted and
// logged, as a person clicking OK would. The browser is stopped at test
// cleanup. Derive a context with
// a deadline from the returned one for each step: a deadline on the
// returned context itself would end the browser.
func Browser(t testing.TB) context.Context {
	t.Helper()
	bin := Require(t, ChromiumBinary)[0]
	profile := t.TempDir() // removed after the browser has exited (cleanups run last-in first-out)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox, // tests run as root in containers
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(BrowserWidth, BrowserHeight),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	con := &browserConsole{t: t}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(format string, args ...any) {
		con.log("chromedp: "+format, args...)
	}))
	// Console starts the browser and its first tab.
	messages := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	var wg sync.WaitGroup
	wg.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			con.record(m)
		}
	})
	wg.Go(func() {
		for d, err := range dialogs {
			if err != nil {
				return
			}
			con.log("browser: %s dialog %q: accepted", d.Type, d.Message)
			_, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			if err != nil {
				con.log("browser: unable to accept the dialog: %v", err)
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit
		wg.Wait()
		for _, e := range con.close() {
			t.Errorf("uncaught JavaScript exception in the page: %s", e)
		}
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("unable to start %s: %v", bin, err)
	}
	return ctx
}

// RepoRoot returns the directory holding go.mod, found upward from the
// working directory (a test's package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("unable to find the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("unable to find the repository root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("unable to find the repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ScreenshotDir returns <repo root>/build/screenshots, made if missing.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "build", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("unable to make the screenshot folder: %v", err)
	}
	return dir
}

// Screenshot writes a full-page PNG of the tab of ctx to
// <repo root>/build/screenshots/<name>.png and returns its path. A
// failure is reported with t.Errorf, not t.Fatal: a missing picture must
// not hide the test's real result.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		t.Errorf("screenshot name %q: want a plain file name", name)
		return ""
	}
	path := filepath.Join(ScreenshotDir(t), name+".png")
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("unable to take screenshot %s: %v", name, err)
		return ""
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("unable to write screenshot: %v", err)
		return ""
	}
	t.Logf("screenshot %s", path)
	return path
}
