package exchange

import (
	"context"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/taxii"
)

func TestPublisherSkips(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	own := func(addr, det string, r detect.Role, score float64) detect.Suspect {
		b := detect.NewBook(10, nil)
		return b.Add(finding(t, addr, det, r, score, "seen", at))
	}
	mixed := func() detect.Suspect {
		b := detect.NewBook(10, nil)
		b.Add(finding(t, "192.0.2.9", "partner:us", detect.RoleC2, 0.99, "partner says c2", at))
		return b.Add(finding(t, "192.0.2.9", "scan", detect.RoleScanner, 0.6, "scan", at))
	}
	pseudo := own("192.0.2.10", "scan", detect.RoleScanner, 0.6)
	pseudo.Pseudo, pseudo.KeyEpoch = true, 3
	for _, tc := range []struct {
		name    string
		s       detect.Suspect
		skip    string
		roles   []detect.Role
		minConf int
	}{
		{"own", own("192.0.2.1", "scan", detect.RoleScanner, 0.6), "", []detect.Role{detect.RoleScanner}, 60},
		{"partner only", own("192.0.2.2", "partner:us", detect.RoleC2, 0.9), "partner", nil, 0},
		{"mixed keeps own evidence only", mixed(), "", []detect.Role{detect.RoleScanner}, 60},
		{"below min score", own("192.0.2.3", "scan", detect.RoleScanner, 0.1), "score", nil, 0},
		{"victim only", own("192.0.2.4", "ddos", detect.RoleDDoSVictim, 0.9), "norole", nil, 0},
		{"pseudonym", pseudo, "pseudonym", nil, 0},
		{"no evidence", detect.Suspect{Key: key(t, "192.0.2.5")}, "norole", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Publisher{Identity: identity(t, "acd jp", at), TLP: stix.TLPGreen, MinScore: 0.2, Logger: logger(t)}
			objs, skip := p.emit(&tc.s, at)
			if skip != tc.skip {
				t.Fatalf("skip %q, want %q", skip, tc.skip)
			}
			if skip != "" {
				return
			}
			var roles []detect.Role
			for _, o := range objs {
				if err := stix.ValidateOutgoing(o.Raw()); err != nil {
					t.Errorf("%s: %v", o.ID, err)
				}
				if o.Type == stix.TypeInfrastructure {
					var inf stix.Infrastructure
					if err := o.Decode(&inf); err != nil {
						t.Fatal(err)
					}
					r, _ := stix.RoleOf(&inf)
					roles = append(roles, r)
				}
				if o.Type == stix.TypeIndicator && (o.Confidence == nil || *o.Confidence != tc.minConf) {
					t.Errorf("indicator confidence %v, want %d", o.Confidence, tc.minConf)
				}
				if raw := string(o.Raw()); o.Type == stix.TypeIndicator && contains(raw, "partner") {
					t.Errorf("indicator repeats partner evidence: %s", raw)
				}
			}
			if len(roles) != len(tc.roles) || (len(roles) > 0 && roles[0] != tc.roles[0]) {
				t.Errorf("roles %v, want %v", roles, tc.roles)
			}
		})
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestPublisherVersions checks change detection: a changed suspect is
// republished as a new version (same id and created, later modified),
// an unchanged one is not, and the identity and marking go in once.
func TestPublisherVersions(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	book := detect.NewBook(10, nil)
	book.Add(finding(t, "192.0.2.1", "scan", detect.RoleScanner, 0.5, "scan of 10 hosts", clk.Now()))
	store := taxii.NewMemStore(clk.Now)
	const col = "6f1d0a52-3c1e-4b7e-9a55-0b7f5e2c1a09"
	p := &Publisher{Identity: identity(t, "acd jp", clk.Now()), TLP: stix.TLPGreen, Store: store, Source: bookSource(book),
		Now: clk.Now, Logger: logger(t), Partners: []*share.Gate{{Agreement: outAgreement("us", col, stix.TLPGreen, false),
			Ledger: &share.MemLedger{}, Domestic: isDomestic}}}
	steps := []struct {
		name      string
		change    func()
		published int
		unchanged int
	}{
		{"first: identity, 2 markings, indicator, infrastructure, relationship", nil, 6, 0},
		{"again: nothing", nil, 0, 3},
		{"score up: indicator and infrastructure", func() {
			book.Add(finding(t, "192.0.2.1", "scan", detect.RoleScanner, 0.9, "scan of 10 hosts", clk.Now()))
		}, 2, 1},
	}
	for _, s := range steps {
		clk.Add(time.Minute)
		if s.change != nil {
			s.change()
		}
		st, err := p.Run(ctx)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if st.Published != s.published || st.Unchanged != s.unchanged {
			t.Errorf("%s: %+v, want %d published, %d unchanged", s.name, st, s.published, s.unchanged)
		}
	}
	versions := map[string][]stix.Object{}
	for _, o := range allVersions(t, store, col) {
		versions[o.ID] = append(versions[o.ID], o)
	}
	ind := versions[stix.IndicatorID(p.Identity.ID, "192.0.2.1")]
	if len(ind) != 2 {
		t.Fatalf("%d indicator versions, want 2", len(ind))
	}
	if !ind[0].Created.Equal(ind[1].Created.Time) || !ind[1].Modified.After(ind[0].Modified.Time) {
		t.Errorf("versions: created %v/%v, modified %v/%v", ind[0].Created, ind[1].Created, ind[0].Modified, ind[1].Modified)
	}
	validateAll(t, store, col)
}

func TestPublisherStartStop(t *testing.T) {
	clk := newClock()
	book := detect.NewBook(10, nil)
	book.Add(finding(t, "192.0.2.1", "scan", detect.RoleScanner, 0.5, "scan", clk.Now()))
	store := taxii.NewMemStore(clk.Now)
	const col = "6f1d0a52-3c1e-4b7e-9a55-0b7f5e2c1a09"
	p := &Publisher{Identity: identity(t, "acd jp", clk.Now()), TLP: stix.TLPGreen, Store: store, Source: bookSource(book),
		Now: clk.Now, Every: time.Millisecond, Partners: []*share.Gate{{Agreement: outAgreement("us", col, stix.TLPGreen, false),
			Ledger: &share.MemLedger{}, Domestic: isDomestic}}}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err == nil {
		t.Errorf("second Start did not fail")
	}
	deadline := time.Now().Add(20 * time.Second)
	for store.Len(col) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.Stop()
	if store.Len(col) == 0 {
		t.Fatal("the loop published nothing")
	}
	p.Stop() // idempotent
}

func TestPublisherExtra(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	store := taxii.NewMemStore(clk.Now)
	const col = "6f1d0a52-3c1e-4b7e-9a55-0b7f5e2c1a09"
	id := identity(t, "acd jp", clk.Now())
	extra, err := stix.FromMitigation(stix.Mitigation{Case: "case-1", Action: "block", Target: "198.51.100.7",
		NotBefore: clk.Now(), NotAfter: clk.Now().Add(time.Hour), Description: "blocked at the border"}, id, stix.TLPGreen, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	red, err := stix.FromMitigation(stix.Mitigation{Case: "case-2", Action: "block", Target: "198.51.100.8",
		NotBefore: clk.Now(), NotAfter: clk.Now().Add(time.Hour)}, id, stix.TLPRed, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	p := &Publisher{Identity: id, TLP: stix.TLPGreen, Store: store, Source: bookSource(detect.NewBook(1, nil)),
		Extra: func(context.Context) ([]stix.Object, error) { return append(extra, red...), nil },
		Now:   clk.Now, Logger: logger(t), Partners: []*share.Gate{{Agreement: outAgreement("us", col, stix.TLPAmber, false),
			Ledger: &share.MemLedger{}, Domestic: isDomestic}}}
	st, err := p.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range allVersions(t, store, col) {
		got[o.ID] = true
	}
	for _, o := range extra {
		if !got[o.ID] {
			t.Errorf("extra %s %s not published (%+v)", o.Type, o.ID, st)
		}
	}
	for _, o := range red {
		if got[o.ID] {
			t.Errorf("a TLP:RED %s was published", o.Type)
		}
	}
	validateAll(t, store, col)
}
