package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/acd-org/acd/intel/share"
	"github.com/acd-org/acd/intel/stix"
	"github.com/acd-org/acd/minimize"
	"github.com/acd-org/acd/store"
)

// The demo's TAXII collections: what each instance shares with the other.
const (
	demoColHomeToAlly = "0c6a3d8e-2f41-4b7c-9a55-1d2e3f405161"
	demoColAllyToHome = "7b1e9f20-5c3d-4e6a-8b7f-a0b1c2d3e4f5"
	demoLegalBasis    = "ACD Act art. 12(1)"
	demoBouncer       = "demo-flows"
)

// demoUser is one demo user, as demo.json and the ready message show it.
type demoUser struct {
	Password string   `json:"password"`
	Roles    []string `json:"roles"`
	KeyFile  string   `json:"key_file,omitempty"`
	instance string
}

// demoUserPlan lists the demo users: name, instance, roles.
var demoUserPlan = []struct {
	name, instance string
	roles          []store.Role
}{
	{"ana", "home", []store.Role{store.RoleAnalyst}},
	{"cora", "home", []store.Role{store.RoleCommissioner}},
	{"cole", "home", []store.Role{store.RoleCommissioner}},
	{"cyd", "home", []store.Role{store.RoleCommissioner}},
	{"otto", "home", []store.Role{store.RoleOperator}},
	{"rita", "home", []store.Role{store.RoleReportingOperator}},
	{"aude", "home", []store.Role{store.RoleAuditor}},
	{"adam", "home", []store.Role{store.RoleAdmin}},
	{"alma", "ally", []store.Role{store.RoleAnalyst}},
}

// demoInstance is one acd of the demo.
type demoInstance struct {
	name     string // home, ally
	dir, cfg string // its directory and configuration file
	http     string // console and API
	netflow  string // NetFlow/IPFIX collector (UDP)
	sflow    string // sFlow collector (UDP)
	taxii    string // TAXII listener
	lapi     string // CrowdSec Local API (home only)
	token    string // the demo's own analyst token (status lines): reading it is no store write
	domestic []string
	proc     *demoProc
}

// url is the instance's console URL.
func (in *demoInstance) url() string { return "http://" + in.http + "/" }

// newDemoInstance picks the instance's free ports.
func newDemoInstance(dir, name, http string, domestic []string, lapi bool) (*demoInstance, error) {
	in := &demoInstance{name: name, dir: filepath.Join(dir, name), http: http, domestic: domestic}
	in.cfg = filepath.Join(in.dir, "acd.yaml")
	var err error
	for _, p := range []struct {
		addr *string
		free func(string) (string, error)
	}{{&in.netflow, freeUDP}, {&in.sflow, freeUDP}, {&in.taxii, freeTCP}} {
		if *p.addr, err = p.free("127.0.0.1"); err != nil {
			return nil, err
		}
	}
	if lapi {
		if in.lapi, err = freeTCP("127.0.0.1"); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// writeConfig writes the instance's configuration: detection tuned so
// findings come within seconds, a 2-of-3 commission (home), the
// CrowdSec Local API (home), sharing at TLP:GREEN over TAXII.
func (in *demoInstance) writeConfig(keyIDs []string, emergency string) error {
	screenKey := filepath.Join(in.dir, "screen.key")
	if err := minimize.GenerateKeyFile(screenKey); err != nil {
		return err
	}
	col, other := demoColHomeToAlly, "ally"
	if in.name == "ally" {
		col, other = demoColAllyToHome, "home"
	}
	enforce := "enforce: {record_only: true}\n"
	if in.lapi != "" {
		enforce = fmt.Sprintf("enforce:\n  timers_every: 2s\n  reconcile_every: 5s\n  crowdsec: {listen: %q, pull_interval: 1s}\n", in.lapi)
	}
	commission := ""
	if len(keyIDs) > 0 {
		commission = fmt.Sprintf("cases:\n  quorum: 2\n  commissioners: [%s]\n  emergency_operators: [%s]\n  owned_prefixes: [%s]\n",
			strings.Join(keyIDs, ", "), emergency, strings.Join(quoteAll(in.domestic), ", "))
	}
	cfg := fmt.Sprintf(`# acd demo: instance %[1]q (written by acd demo; the next run replaces it)
log: {level: info, format: json}
http:
  listen: %[2]q
  # Plain HTTP on loopback; a cookie name of its own: browsers share
  # cookies across the ports of one host, and the two instances' sessions
  # must not overwrite each other.
  session: {secure: false, cookie_name: acd_%[1]s}
collect:
  netflow: {listen: [%[3]q]}
  sflow: {listen: [%[4]q]}
screen: {key: {file: %[5]q}, domestic: {add: [%[6]s]}}
store: {path: %[7]q}
detect:
  lateness: 2s
  idle_advance: 2s
  beacon: {min_span: 20s, min_connections: 8, min_interval: 1s}
verify: {window: 1m, grace: 5s, lateness: 5s, interval: 2s}
%[8]s%[9]sintel:
  identity: acd %[1]s
  tlp: green
  min_score: 0.3
  publish_every: 2s
  poll_every: 2s
  taxii:
    listen: %[10]q
    title: acd %[1]s
    api_roots:
      - name: acd
        collections:
          - {id: %[11]s, title: %[1]s to %[12]s}
`, in.name, in.http, in.netflow, in.sflow, screenKey, strings.Join(quoteAll(in.domestic), ", "),
		filepath.Join(in.dir, "acd.db"), enforce, commission, in.taxii, col, other)
	if err := os.WriteFile(in.cfg, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("unable to write the %s configuration: %w", in.name, err)
	}
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// makeSigningKey makes a commissioner's key pair as acd user keygen
// does: the private key in path (PKCS #8 PEM, 0600).
func makeSigningKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("unable to generate a signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("unable to encode the signing key: %w", err)
	}
	if err := writeNewFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, err
	}
	return pub, nil
}

// demoStore runs fn on the instance's store, as the user and partner
// commands do (the configuration's store, audited writes).
func demoStore(ctx context.Context, in *demoInstance, fn func(*store.DB) error) error {
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, environ: func() []string { return nil }}
	return withStore(ctx, e, in.cfg, fn)
}

// addUsers creates the users of instance in (passwords set for good) and
// registers the commissioners' public keys.
func addUsers(ctx context.Context, in *demoInstance, users map[string]*demoUser, pubs map[string]ed25519.PublicKey) error {
	return demoStore(ctx, in, func(db *store.DB) error {
		for _, u := range demoUserPlan {
			if u.instance != in.name {
				continue
			}
			du := users[u.name]
			if err := db.AddUser(ctx, u.name, u.roles, du.Password); err != nil {
				return fmt.Errorf("unable to add the demo user %s: %w", u.name, err)
			}
			if pub, ok := pubs[u.name]; ok {
				if _, err := db.AddSigningKey(ctx, u.name, pub); err != nil {
					return fmt.Errorf("unable to register %s's signing key: %w", u.name, err)
				}
			}
		}
		return nil
	})
}

// addPartners sets up sharing both ways as two allies do: the ally adds
// home (home will read the ally's collection with the key this prints),
// home adds the ally with that key (the ally will read home's collection
// with the key home prints), and the ally updates home with it
// (acd partner update) — one partner record on each side.
func addPartners(ctx context.Context, home, ally *demoInstance) error {
	var homeReads, allyReads string
	agreement := func(out, in string) share.Agreement {
		a := share.DefaultAgreement()
		a.Outgoing.Collections = []string{out}
		a.Outgoing.MaxTLP = stix.TLPGreen
		a.Outgoing.Domestic = true
		a.Incoming.Collections = []string{in}
		a.Incoming.Trust = 80
		return a
	}
	err := demoStore(ctx, ally, func(db *store.DB) error {
		var err error
		homeReads, err = db.AddPartner(ctx, store.Partner{Name: "home", Agreement: agreement(demoColAllyToHome, demoColHomeToAlly)})
		return err
	})
	if err != nil {
		return fmt.Errorf("unable to add home as the ally's partner: %w", err)
	}
	err = demoStore(ctx, home, func(db *store.DB) error {
		var err error
		allyReads, err = db.AddPartner(ctx, store.Partner{Name: "ally", Agreement: agreement(demoColHomeToAlly, demoColAllyToHome),
			URL: "http://" + ally.taxii + "/", APIRoot: "acd", RemoteKey: homeReads})
		return err
	})
	if err != nil {
		return fmt.Errorf("unable to add the ally as home's partner: %w", err)
	}
	err = demoStore(ctx, ally, func(db *store.DB) error {
		return db.UpdatePartnerRemote(ctx, "home", store.PartnerRemote{URL: "http://" + home.taxii + "/", APIRoot: "acd", RemoteKey: allyReads})
	})
	if err != nil {
		return fmt.Errorf("unable to give the ally home's server and key: %w", err)
	}
	return nil
}

// addBouncer makes the key of the demo streams' bouncer at home.
func addBouncer(ctx context.Context, home *demoInstance) (string, error) {
	var key string
	err := demoStore(ctx, home, func(db *store.DB) error {
		var err error
		key, err = db.AddBouncer(ctx, demoBouncer)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("unable to add the demo's bouncer: %w", err)
	}
	return key, nil
}

// addStatusToken makes the analyst token the demo reads in's API with.
func addStatusToken(ctx context.Context, in *demoInstance) error {
	err := demoStore(ctx, in, func(db *store.DB) error {
		var err error
		in.token, err = db.CreateToken(ctx, "demo-status", store.RoleAnalyst)
		return err
	})
	if err != nil {
		return fmt.Errorf("unable to make the demo's token at %s: %w", in.name, err)
	}
	return nil
}
