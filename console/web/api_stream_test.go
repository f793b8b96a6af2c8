package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/console/api"
	"github.com/acd-org/acd/console/session"
	"github.com/acd-org/acd/store"
)

// oneUser logs in "ann" (analyst) with "ann's password".
type oneUser struct{}

func (oneUser) AuthenticateUser(_ context.Context, name, password string) (store.Principal, error) {
	if name != "ann" || password != "ann's password" {
		return store.Principal{}, store.ErrLoginFailed
	}
	return store.Principal{Name: name, Roles: []string{string(store.RoleAnalyst)}, Kind: store.KindUser}, nil
}

// noTokens refuses every bearer token.
type noTokens struct{}

func (noTokens) Authenticate(context.Context, string) (store.Principal, error) {
	return store.Principal{}, store.ErrUnauthenticated
}

// TestAPIThroughSession calls the API as the console does, with the
// session cookie: the answers carry the console's security headers, and
// the overview stream flows through the session middleware and ends when
// the server stops.
func TestAPIThroughSession(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen, cfg.Session.Secure = "127.0.0.1:0", false
	sessions := session.New(cfg.Session, session.Deps{Users: oneUser{}})
	reg := prometheus.NewRegistry()
	h := api.New(api.Deps{Auth: noTokens{}, Session: session.PrincipalFrom, Gatherer: reg})
	s := New(cfg, Deps{Logger: slog.New(slog.DiscardHandler), Gatherer: reg, Sessions: sessions, API: h})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			s.Stop()
		}
	})
	base := "http://" + s.Addr()
	resp, err := http.PostForm(base+session.LoginPath, url.Values{"name": {"ann"}, "password": {"ann's password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessions.Config().CookieName {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusOK || cookie == nil {
		t.Fatalf("login: %d, cookie %v", resp.StatusCode, cookie)
	}
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/api/v1/overview", http.StatusOK},
		{"/api/v1/audit", http.StatusForbidden}, // an analyst's session
		{"/api/v1/nothing", http.StatusNotFound},
	} {
		resp := get(tt.path)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d", tt.path, resp.StatusCode, tt.want)
		}
		for hdr, want := range map[string]string{"Content-Security-Policy": session.ContentSecurityPolicy,
			"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
			if got := resp.Header.Get(hdr); got != want {
				t.Errorf("%s: %s = %q, want %q", tt.path, hdr, got, want)
			}
		}
	}
	stream := get("/api/v1/overview/stream")
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK || stream.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", stream.StatusCode, stream.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(stream.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before an event: %v", err)
		}
		if line == "event: overview\n" {
			break
		}
	}
	s.Stop() // returns once the stream has ended
	stopped = true
	if _, err := io.ReadAll(r); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "closed") {
		t.Errorf("reading the rest of the stream: %v", err)
	}
}
