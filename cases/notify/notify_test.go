package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"
)

func TestDeliverSignedWithRetries(t *testing.T) {
	var (
		mu    sync.Mutex
		got   []Event
		tries int
	)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // the first attempt fails
			return
		}
		m := hmac.New(sha256.New, []byte("s3cret"))
		m.Write(body)
		if r.Header.Get("X-Acd-Signature") != "sha256="+hex.EncodeToString(m.Sum(nil)) || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", r.Header)
		}
		var e Event
		if err := json.Unmarshal(body, &e); err != nil {
			t.Error(err)
		}
		got = append(got, e)
		close(done)
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	n, err := New(Config{Webhooks: []string{srv.URL + "/hook?token=x"}, Secret: "s3cret", Timeout: 5 * time.Second, Retries: 3}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	n.sleep = func(context.Context, time.Duration) error { return nil }
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	n.Send(Event{Event: EventEmergency, Case: "c-1", State: "active", Target: "198.51.100.7", At: at, By: "op1",
		ReviewBy: at.Add(24 * time.Hour), Audience: "commission"})
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("not delivered")
	}
	for deadline := time.Now().Add(20 * time.Second); testutil.ToFloat64(n.sent.WithLabelValues(EventEmergency, "delivered")) != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the delivery was not counted")
		}
	}
	n.Stop()
	mu.Lock()
	defer mu.Unlock()
	if tries != 2 || len(got) != 1 || got[0].Case != "c-1" || !got[0].ReviewBy.Equal(at.Add(24*time.Hour)) {
		t.Fatalf("tries %d, got %+v", tries, got)
	}
	if v := testutil.ToFloat64(n.sent.WithLabelValues(EventEmergency, "delivered")); v != 1 {
		t.Errorf("delivered = %v", v)
	}
}

func TestGivesUpAndValidates(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	n, err := New(Config{Webhooks: []string{srv.URL}, Timeout: time.Second, Retries: 2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.sleep = func(context.Context, time.Duration) error { return nil }
	n.deliver(context.Background(), srv.URL, Event{Event: EventRollback, Case: "c-2"})
	if v := testutil.ToFloat64(n.sent.WithLabelValues(EventRollback, "failed")); v != 1 {
		t.Errorf("failed = %v", v)
	}
	for _, c := range []Config{{Webhooks: []string{"ftp://x"}, Timeout: time.Second}, {Timeout: 0}, {Timeout: time.Second, Retries: -1}} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", c)
		}
	}
	var nilN *Notifier
	nilN.Send(Event{}) // no webhook: nothing, no panic
	if redact("https://u:p@example.org/h?token=1") != "https://example.org/h" {
		t.Error("redact")
	}
}

func TestConfigDumpRedactsSecret(t *testing.T) {
	b, err := yaml.Marshal(Config{Webhooks: []string{"https://bot:pw@hooks.example/x?token=t0k"}, Secret: "s3cret", Timeout: time.Second})
	if err != nil || strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), "<redacted>") ||
		strings.Contains(string(b), "t0k") || strings.Contains(string(b), "pw@") || !strings.Contains(string(b), "https://hooks.example/x") {
		t.Fatalf("%s %v", b, err)
	}
}
