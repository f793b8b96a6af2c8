package api

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/acd-org/acd/console/web"
	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/store"
)

// TestMountedInWeb serves the API from console/web's server, as acd
// serve does.
func TestMountedInWeb(t *testing.T) {
	f := newFixture(t)
	log := slog.New(slog.DiscardHandler)
	srv := web.New(web.Config{Listen: "127.0.0.1:0"}, web.Deps{Logger: log, Gatherer: prometheus.NewRegistry(),
		API: New(Deps{Book: detect.NewBook(10, nil), Auth: f.db, Logger: log})})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	for path, want := range map[string]int{"/api/v1/suspects": 200, "/api/v1/suspects/192.0.2.1": 404, "/healthz": 200} {
		req, _ := http.NewRequest("GET", "http://"+srv.Addr()+path, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens[store.RoleOperator])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
