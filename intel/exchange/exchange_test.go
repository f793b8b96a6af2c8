package exchange

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Addresses of the scenario.
const (
	c2Addr       = "203.0.113.66"
	scannerAddr  = "192.0.2.50"
	domesticAddr = "198.18.5.5" // a domestic host acd found scanning: it never leaves
)

// TestTwoInstances is the acceptance test of issue 7: jp detects a C2
// server and a scanner and shares them; us receives them as suspects;
// TLP:AMBER reaches only the partner whose agreement allows it (not uk
// at green), TLP:RED never leaves, a domestic address never leaves, us
// does not re-share what jp sent, and jp's revocation reaches us.
func TestTwoInstances(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	jpSrv := newServer(t, clk, map[string]string{colJPtoUS: "us", colJPtoUK: "uk"})
	usSrv := newServer(t, clk, map[string]string{colUStoUK: "uk"})
	jpID, usID := identity(t, "acd jp", clk.Now()), identity(t, "acd us", clk.Now())

	// jp: its book, and gates for us (amber) and uk (green).
	jpBook := detect.NewBook(100, nil)
	jpBook.Add(finding(t, c2Addr, "beacon", detect.RoleC2, 0.9,
		"12 internal clients beacon every 60s to 203.0.113.66:443, e.g. 198.18.4.20", clk.Now()))
	jpBook.Add(finding(t, scannerAddr, "scan", detect.RoleScanner, 0.7, "tcp scan of 198.18.0.0/16: 5000 hosts", clk.Now()))
	jpBook.Add(finding(t, domesticAddr, "scan", detect.RoleScanner, 0.8, "tcp scan of 192.0.2.0/24", clk.Now()))
	jpGates := []*share.Gate{
		{Agreement: outAgreement("us", colJPtoUS, stix.TLPAmber, true), Ledger: &share.MemLedger{}, Domestic: isDomestic},
		{Agreement: outAgreement("uk", colJPtoUK, stix.TLPGreen, true), Ledger: &share.MemLedger{}, Domestic: isDomestic},
	}
	reg := prometheus.NewRegistry()
	publisher := func(tlp stix.TLP, r prometheus.Registerer) *Publisher {
		return &Publisher{Identity: jpID, TLP: tlp, Store: jpSrv.store, Partners: jpGates, Source: bookSource(jpBook),
			Now: clk.Now, Logger: logger(t), Registerer: r}
	}

	// us: polls jp's "jp-to-us"; publishes to uk in "us-to-uk".
	usBook := detect.NewBook(100, nil)
	usPoller := &Poller{Partners: []Remote{jpSrv.remote(t, "us", inAgreement("jp", jpID.ID, colJPtoUS, 80))},
		Sink: BookSink{Book: usBook, Logger: logger(t)}, Now: clk.Now, Logger: logger(t), Registerer: reg}
	usPub := &Publisher{Identity: usID, TLP: stix.TLPGreen, Store: usSrv.store, Source: bookSource(usBook), Now: clk.Now, Logger: logger(t),
		Partners: []*share.Gate{{Agreement: outAgreement("uk", colUStoUK, stix.TLPAmber, true), Ledger: &share.MemLedger{}, Domestic: isDomestic}}}

	// uk: polls jp's "jp-to-uk" and us's "us-to-uk".
	ukBook := detect.NewBook(100, nil)
	ukPoller := &Poller{Partners: []Remote{
		jpSrv.remote(t, "uk", inAgreement("jp", jpID.ID, colJPtoUK, 50)),
		usSrv.remote(t, "uk", inAgreement("us", usID.ID, colUStoUK, 50)),
	}, Sink: BookSink{Book: ukBook}, Now: clk.Now, Logger: logger(t)}

	c2, scanner, domestic := key(t, c2Addr), key(t, scannerAddr), key(t, domesticAddr)

	// 1. jp publishes at amber: us gets the C2 and the scanner, uk nothing.
	jpAmber := publisher(stix.TLPAmber, reg)
	st, err := jpAmber.Run(ctx)
	if err != nil {
		t.Fatalf("jp publish at amber: %v", err)
	}
	if st.Suspects != 3 || st.Published == 0 {
		t.Fatalf("jp publish at amber: %+v", st)
	}
	if got := len(objects(t, jpSrv.store, colJPtoUK)); got != 0 {
		t.Errorf("jp-to-uk holds %d objects at amber, want 0", got)
	}
	if got := testutil.ToFloat64(jpAmber.m.decisions.WithLabelValues("uk", string(share.ReasonTLP))); got == 0 {
		t.Errorf("no tlp refusal counted for uk")
	}
	if got := testutil.ToFloat64(jpAmber.m.decisions.WithLabelValues("us", string(share.ReasonDomestic))); got == 0 {
		t.Errorf("no domestic refusal counted for us")
	}
	clk.Add(time.Minute)
	pst, err := usPoller.Run(ctx)
	if err != nil {
		t.Fatalf("us poll: %v", err)
	}
	if pst.Invalid != 0 || pst.Refused != 0 || pst.Added != 2 {
		t.Errorf("us poll: %+v, want 2 added, nothing refused", pst)
	}
	e, ok := evidenceOf(usBook, c2, "partner:jp")
	if !ok || e.Role != detect.RoleC2 || e.Score <= 0 || !strings.Contains(e.Reason, "jp") {
		t.Errorf("us book: C2 evidence %+v (present %v), want role c2 from partner:jp", e, ok)
	}
	if _, ok := evidenceOf(usBook, scanner, "partner:jp"); !ok {
		t.Errorf("us book: no scanner from jp")
	}
	if _, ok := usBook.Get(domestic); ok {
		t.Errorf("us book holds jp's domestic address %s", domesticAddr)
	}
	if got := testutil.ToFloat64(usPoller.m.lastSync.WithLabelValues("jp")); got != float64(clk.Now().UnixNano())/1e9 {
		t.Errorf("last sync %v, want %v", got, clk.Now().Unix())
	}
	if pst, err := ukPoller.Run(ctx); err != nil || pst.Received != 0 || ukBook.Len() != 0 {
		t.Fatalf("uk poll at amber: %+v, %v, book %d", pst, err, ukBook.Len())
	}

	// 2. A second run at amber changes nothing: nothing is republished.
	clk.Add(time.Minute)
	if st, err := publisher(stix.TLPAmber, nil).Run(ctx); err != nil || st.Published != 0 || st.Unchanged == 0 {
		t.Errorf("second run at amber: %+v, %v; want nothing published", st, err)
	}

	// 3. TLP:RED never leaves, even configured.
	clk.Add(time.Minute)
	before := len(allVersions(t, jpSrv.store, colJPtoUS)) + len(allVersions(t, jpSrv.store, colJPtoUK))
	if st, err := publisher(stix.TLPRed, nil).Run(ctx); err != nil || st.Published != 0 || st.Refused == 0 {
		t.Errorf("run at red: %+v, %v; want all refused", st, err)
	}
	if after := len(allVersions(t, jpSrv.store, colJPtoUS)) + len(allVersions(t, jpSrv.store, colJPtoUK)); after != before {
		t.Errorf("red run stored %d object versions", after-before)
	}

	// 4. At green uk gets the C2 and the scanner.
	clk.Add(time.Minute)
	if st, err := publisher(stix.TLPGreen, nil).Run(ctx); err != nil || st.Published == 0 {
		t.Fatalf("run at green: %+v, %v", st, err)
	}
	clk.Add(time.Minute)
	if pst, err := ukPoller.Run(ctx); err != nil || pst.Added != 2 {
		t.Fatalf("uk poll at green: %+v, %v", pst, err)
	}
	if e, ok := evidenceOf(ukBook, c2, "partner:jp"); !ok || e.Role != detect.RoleC2 {
		t.Errorf("uk book: C2 evidence %+v (present %v)", e, ok)
	}
	if _, ok := ukBook.Get(domestic); ok {
		t.Errorf("uk book holds jp's domestic address")
	}

	// 5. us does not re-share to uk what it got from jp.
	if st, err := usPub.Run(ctx); err != nil || st.Published != 0 || st.Skipped != 2 {
		t.Errorf("us publish: %+v, %v; want the 2 partner suspects skipped", st, err)
	}
	if got := len(allVersions(t, usSrv.store, colUStoUK)); got != 0 {
		t.Errorf("us-to-uk holds %d objects", got)
	}

	// 6. jp revokes the C2: after the next poll us and uk no longer hold it.
	clk.Add(time.Minute)
	n, err := jpAmber.Revoke(ctx, c2Addr, "false positive: a CDN")
	if err != nil || n != 6 { // indicator, infrastructure, relationship in both collections
		t.Fatalf("revoke: %d, %v; want 6", n, err)
	}
	clk.Add(time.Minute)
	if pst, err := usPoller.Run(ctx); err != nil || pst.Withdrawn == 0 {
		t.Fatalf("us poll after revoke: %+v, %v", pst, err)
	}
	if _, ok := evidenceOf(usBook, c2, "partner:jp"); ok {
		t.Errorf("us book still holds jp's C2 evidence after the revocation")
	}
	if _, ok := evidenceOf(usBook, scanner, "partner:jp"); !ok {
		t.Errorf("us book lost the scanner with the C2's revocation")
	}
	if pst, err := ukPoller.Run(ctx); err != nil || pst.Withdrawn == 0 {
		t.Fatalf("uk poll after revoke: %+v, %v", pst, err)
	}
	if _, ok := ukBook.Get(c2); ok {
		t.Errorf("uk book still holds the C2 after the revocation")
	}
	// A later run does not bring the revoked C2 back.
	clk.Add(time.Minute)
	if st, err := publisher(stix.TLPGreen, nil).Run(ctx); err != nil || st.Revoked == 0 {
		t.Errorf("run after revoke: %+v, %v; want revoked objects left alone", st, err)
	}
	if pst, err := usPoller.Run(ctx); err != nil || pst.Added != 0 {
		t.Errorf("us poll after the run after revoke: %+v, %v", pst, err)
	}
	if _, ok := evidenceOf(usBook, c2, "partner:jp"); ok {
		t.Errorf("the revoked C2 came back")
	}

	// Every object version published validates, and no domestic address left.
	validateAll(t, jpSrv.store, colJPtoUS, colJPtoUK)
	for _, col := range []string{colJPtoUS, colJPtoUK} {
		for _, o := range allVersions(t, jpSrv.store, col) {
			if p, found := share.Domestic(o.Raw(), isDomestic); found {
				t.Errorf("%s in %s names domestic %s", o.ID, col, p)
			}
			if tlp, err := stix.TLPOf(o); err != nil || tlp == stix.TLPRed {
				t.Errorf("%s in %s has TLP %v, %v", o.ID, col, tlp, err)
			}
		}
	}
}
