package exchange

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/taxii"
	"github.com/acd-org/acd/intel/taxii/client"
)

// TestPusher: jp publishes into its local collection for us; the pusher
// POSTs it to us's inbox collection (which jp may write), once.
func TestPusher(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	const local, inbox = "6f1d0a52-3c1e-4b7e-9a55-0b7f5e2c1a09", "0f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1"
	book := detect.NewBook(10, nil)
	book.Add(finding(t, "100.65.0.1", "beacon", detect.RoleC2, 0.8, "beacons every 3 s", clk.Now()))
	jpStore := taxii.NewMemStore(clk.Now)
	p := &Publisher{Identity: identity(t, "acd jp", clk.Now()), TLP: stix.TLPGreen, Store: jpStore, Source: bookSource(book),
		Now: clk.Now, Logger: logger(t), Partners: []*share.Gate{{Agreement: outAgreement("us", local, stix.TLPGreen, true),
			Ledger: &share.MemLedger{}, Domestic: isDomestic}}}
	if _, err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// us's server: an inbox jp may write.
	cfg := taxii.DefaultConfig()
	cfg.APIRoots = []taxii.APIRootConfig{{Name: "api", Collections: []taxii.CollectionConfig{{ID: inbox, Title: "inbox", Read: []string{"us"}, Write: []string{"jp"}}}}}
	usStore := taxii.NewMemStore(clk.Now)
	srv, err := taxii.New(cfg, taxii.Deps{Logger: logger(t), Store: usStore, Auth: taxii.APIKeys{Keys: map[string]string{taxii.HashAPIKey("jp-key"): "jp"}}, Now: clk.Now,
		Validator: stix.Validate})
	if err != nil {
		t.Fatal(err)
	}
	ts := newHTTPServer(t, srv)
	cc := client.DefaultConfig()
	cc.URL, cc.APIKey, cc.Retries = ts.URL+"/taxii2/", "jp-key", 0
	c, err := client.New(cc, client.Deps{Logger: logger(t), HTTP: ts.Client(), Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	pu := &Pusher{Store: jpStore, Targets: []PushTarget{{Partner: "us", Local: []string{local}, Client: c, APIRoot: ts.URL + "/api/", Collection: inbox}},
		Batch: 2, Logger: logger(t)}
	st, err := pu.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := len(allVersions(t, jpStore, local))
	if st.Pushed != want || st.Failed != 0 || len(allVersions(t, usStore, inbox)) != want {
		t.Fatalf("pushed %+v, want %d; us holds %d", st, want, len(allVersions(t, usStore, inbox)))
	}
	if st, err := pu.Run(ctx); err != nil || st.Pushed != 0 {
		t.Fatalf("second push: %+v %v (the bookmark did not move)", st, err)
	}
	validateAll(t, usStore, inbox)
}

func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}
