package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServer(t *testing.T) {
	for _, pprof := range []bool{false, true} {
		reg := prometheus.NewRegistry()
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "acd_test_total", Help: "test"})
		reg.MustRegister(c)
		c.Add(7)
		s := New(Config{Listen: "127.0.0.1:0", Pprof: pprof}, Deps{Logger: slog.New(slog.DiscardHandler), Gatherer: reg})
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		base := "http://" + s.Addr()
		if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "acd_test_total 7") {
			t.Errorf("/metrics = %d %q", code, body)
		}
		if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
			t.Errorf("/healthz = %d %q", code, body)
		}
		want := 404
		if pprof {
			want = 200
		}
		if code, _ := get(t, base+"/debug/pprof/"); code != want {
			t.Errorf("pprof %v: /debug/pprof/ = %d, want %d", pprof, code, want)
		}
		s.Stop()
	}
	if err := (Config{Listen: "nonsense"}).Validate(); err == nil {
		t.Error("bad listen address accepted")
	}
}
