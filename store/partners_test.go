package store

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/intel/taxii"
)

func testAgreement(t *testing.T, partner string) share.Agreement {
	t.Helper()
	a, err := share.LoadAgreement([]byte(`partner: ` + partner + `
outgoing: {collections: [91a7b528-80eb-42ed-a74d-c6fbd5a26116], max_tlp: amber, domestic: true}
incoming: {collections: [52892447-4d7e-4f70-b94d-d7f22742ff63], trust: 80}
`))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPartners(t *testing.T) {
	ctx := context.Background()
	db, _ := auditStore(t, 4)
	key, err := db.AddPartner(ctx, Partner{Name: "us", Agreement: testAgreement(t, "us"), URL: "https://taxii.us.example/",
		APIRoot: "acd", RemoteKey: "remote-secret", PushCollection: "0f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddPartner(ctx, Partner{Name: "us", Agreement: testAgreement(t, "us")}); !errors.Is(err, ErrExists) {
		t.Errorf("second add: %v", err)
	}
	if _, err := db.AddPartner(ctx, Partner{Name: "uk", Agreement: testAgreement(t, "us")}); err == nil {
		t.Error("an agreement naming another partner was accepted")
	}
	if _, err := db.AddPartner(ctx, Partner{Name: "kr", Agreement: testAgreement(t, "kr")}); err == nil || !strings.Contains(err.Error(), "shared with partner \"us\"") {
		t.Errorf("a second partner on us's collection: %v", err)
	}
	bad := testAgreement(t, "fr")
	bad.Outgoing.MaxTLP = stix.TLPRed
	if _, err := db.AddPartner(ctx, Partner{Name: "fr", Agreement: bad}); err == nil {
		t.Error("an agreement letting TLP:RED leave was accepted")
	}
	ps, err := db.Partners(ctx, false)
	if err != nil || len(ps) != 1 || ps[0].Agreement.Outgoing.MaxTLP != stix.TLPAmber || ps[0].RemoteKey != "remote-secret" || !ps[0].HasRemoteKey ||
		ps[0].PushCollection != "0f1e2d3c-4b5a-4697-8887-a6b5c4d3e2f1" {
		t.Fatalf("partners = %+v, %v", ps, err)
	}

	cfgPol := taxii.NewConfigPolicy(taxii.Config{APIRoots: []taxii.APIRootConfig{{Name: "acd", Collections: []taxii.CollectionConfig{
		{ID: "91a7b528-80eb-42ed-a74d-c6fbd5a26116", Read: []string{"*"}, Write: []string{"*"}},
		{ID: "52892447-4d7e-4f70-b94d-d7f22742ff63", Read: []string{"*"}, Write: []string{"*"}}}}}})
	auth, pol := db.TAXIIAuth(), db.TAXIIPolicy(cfgPol)
	req := httptest.NewRequest("GET", "/taxii2/", nil)
	req.Header.Set("X-API-Key", key)
	p, err := auth.Authenticate(req)
	if err != nil || p.Name != "us" {
		t.Fatalf("the partner's key: %+v %v", p, err)
	}
	if r, w := pol.Access(p, "acd", "91a7b528-80eb-42ed-a74d-c6fbd5a26116"); !r || w {
		t.Errorf("outgoing collection: read %v write %v", r, w)
	}
	if r, _ := pol.Access(p, "acd", "52892447-4d7e-4f70-b94d-d7f22742ff63"); r {
		t.Error("the partner reads a collection not shared with it, although the configuration lets anyone read it")
	}
	if r, w := pol.Access(taxii.Principal{Name: "soc"}, "acd", "91a7b528-80eb-42ed-a74d-c6fbd5a26116"); !r || w {
		t.Errorf("another principal on a partner's outgoing collection: read %v write %v (never write)", r, w)
	}
	if r, w := pol.Access(taxii.Principal{Name: "soc"}, "acd", "52892447-4d7e-4f70-b94d-d7f22742ff63"); !r || !w {
		t.Errorf("another principal on another collection: read %v write %v", r, w)
	}
	req.Header.Set("X-API-Key", key+"x")
	if _, err := auth.Authenticate(req); !errors.Is(err, taxii.ErrBadCredentials) {
		t.Errorf("a wrong key: %v", err)
	}
	req.Header.Del("X-API-Key")
	if _, err := auth.Authenticate(req); !errors.Is(err, taxii.ErrNoCredentials) {
		t.Errorf("no key: %v", err)
	}
	if err := db.RemovePartner(ctx, "us"); err != nil {
		t.Fatal(err)
	}
	if r, _ := pol.Access(p, "acd", "91a7b528-80eb-42ed-a74d-c6fbd5a26116"); r {
		t.Error("a removed partner (by certificate or Basic) still reads")
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if _, err := auth.Authenticate(req); !errors.Is(err, taxii.ErrBadCredentials) {
		t.Errorf("a removed partner's key: %v", err)
	}
	if err := db.RemovePartner(ctx, "us"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
	// HTTP Basic: an acd user with the partner role, named as the partner.
	lp := DefaultLoginPolicy()
	lp.Argon2 = cheap
	if err := db.SetLoginPolicy(ctx, lp); err != nil {
		t.Fatal(err)
	}
	if err := db.AddUser(ctx, "uk", []Role{RolePartner}, "a long enough passphrase"); err != nil {
		t.Fatal(err)
	}
	if err := db.AddUser(ctx, "ann", []Role{RoleAnalyst}, "a long enough passphrase"); err != nil {
		t.Fatal(err)
	}
	basic := db.TAXIIBasicAuth()
	for _, tt := range []struct {
		user, pw string
		want     error
	}{{"uk", "a long enough passphrase", nil}, {"uk", "wrong password here", taxii.ErrBadCredentials},
		{"ann", "a long enough passphrase", taxii.ErrBadCredentials}} {
		r := httptest.NewRequest("GET", "/taxii2/", nil)
		r.SetBasicAuth(tt.user, tt.pw)
		p, err := basic.Authenticate(r)
		if !errors.Is(err, tt.want) || (err == nil && p.Name != tt.user) {
			t.Errorf("basic %s: %+v %v, want %v", tt.user, p, err, tt.want)
		}
	}
	if _, err := basic.Authenticate(httptest.NewRequest("GET", "/taxii2/", nil)); !errors.Is(err, taxii.ErrNoCredentials) {
		t.Errorf("no basic: %v", err)
	}
	es, _ := db.ListAudit(ctx, audit.Filter{Action: "partner.*"})
	if len(es) != 2 || strings.Contains(string(es[0].Data), "remote-secret") || strings.Contains(string(es[0].Data), key) {
		t.Fatalf("audit = %+v", es)
	}
}

// TestUpdatePartnerRemote: a partner added read-only gets its server and
// the key acd presents there later; the key it presents to acd and its
// agreement stay; a removed or unknown partner is not updated.
func TestUpdatePartnerRemote(t *testing.T) {
	ctx := context.Background()
	db, _ := auditStore(t, 4)
	key, err := db.AddPartner(ctx, Partner{Name: "us", Agreement: testAgreement(t, "us")})
	if err != nil {
		t.Fatal(err)
	}
	r := PartnerRemote{URL: "https://acd:pw-in-url@taxii.us.example/", APIRoot: "acd", RemoteKey: "from-us", PushCollection: "c-in"}
	if err := db.UpdatePartnerRemote(ctx, "us", r); err != nil {
		t.Fatal(err)
	}
	ps, err := db.Partners(ctx, false)
	if err != nil || len(ps) != 1 {
		t.Fatalf("partners %+v %v", ps, err)
	}
	if p := ps[0]; p.URL != r.URL || p.APIRoot != "acd" || p.RemoteKey != "from-us" || p.PushCollection != "c-in" ||
		p.Agreement.Outgoing.MaxTLP != stix.TLPAmber {
		t.Errorf("after the update: %+v", p)
	}
	req := httptest.NewRequest("GET", "/taxii2/", nil)
	req.Header.Set("X-API-Key", key)
	if p, err := db.TAXIIAuth().Authenticate(req); err != nil || p.Name != "us" {
		t.Errorf("the partner's own key after the update: %+v %v", p, err)
	}
	for _, tt := range []struct {
		name string
		r    PartnerRemote
		want string
	}{
		{"us", PartnerRemote{URL: "ftp://x/", APIRoot: "acd"}, "not an http(s) URL"},
		{"us", PartnerRemote{PushCollection: "c"}, "needs the partner's url"},
		{"nobody", r, "not found"},
	} {
		if err := db.UpdatePartnerRemote(ctx, tt.name, tt.r); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("update %s %+v: %v, want %q", tt.name, tt.r, err, tt.want)
		}
	}
	if err := db.RemovePartner(ctx, "us"); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdatePartnerRemote(ctx, "us", r); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of a removed partner: %v", err)
	}
	es, err := db.ListAudit(ctx, audit.Filter{Action: "partner.update"})
	if err != nil || len(es) != 1 || strings.Contains(string(es[0].Data), "from-us") || strings.Contains(string(es[0].Data), "pw-in-url") {
		t.Errorf("audit: %+v %v (one entry, never the key nor the URL's password)", es, err)
	}
}
