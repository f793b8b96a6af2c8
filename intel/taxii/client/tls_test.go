package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/acd-org/acd/intel/taxii"
)

// issue makes a certificate for cn signed by parent (self-signed CA
// when parent is nil).
func issue(t *testing.T, cn string, parent *tls.Certificate) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, BasicConstraintsValid: true,
	}
	signer, signerKey := tmpl, any(key)
	if parent == nil {
		tmpl.IsCA, tmpl.KeyUsage, tmpl.ExtKeyUsage = true, x509.KeyUsageCertSign, nil
	} else {
		signer, signerKey = parent.Leaf, parent.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func TestMutualTLSPollAndPost(t *testing.T) {
	ca := issue(t, "jp CA", nil)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Leaf)
	srvCert, usCert := issue(t, "127.0.0.1", &ca), issue(t, "us-partner", &ca)

	cfg := taxii.DefaultConfig()
	cfg.APIRoots = []taxii.APIRootConfig{{Name: "jp", Title: "jp", Collections: []taxii.CollectionConfig{
		{ID: col, Title: "to us", Read: []string{"us"}, Write: []string{"us"}},
	}}}
	srv, err := taxii.New(cfg, taxii.Deps{Logger: logger(), Store: taxii.NewMemStore(nil),
		Auth: taxii.ClientCerts{Subjects: map[string]string{"us-partner": "us"}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: pool, MinVersion: tls.VersionTLS13}
	ts.StartTLS()
	t.Cleanup(ts.Close)

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{usCert}, MinVersion: tls.VersionTLS13}}
	t.Cleanup(tr.CloseIdleConnections)
	ccfg := DefaultConfig()
	ccfg.URL = ts.URL + "/taxii2/"
	c, err := New(ccfg, Deps{Logger: logger(), HTTP: &http.Client{Transport: tr, Timeout: 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	d, err := c.Discovery(ctx)
	if err != nil || len(d.APIRoots) != 1 {
		t.Fatalf("discovery over mTLS: %+v, %v", d, err)
	}
	if st, err := c.Post(ctx, d.APIRoots[0], col, indicators(0, 3)); err != nil || st.SuccessCount != 3 {
		t.Fatalf("post over mTLS: %+v, %v", st, err)
	}
	n := 0
	if _, err := c.Poll(ctx, d.APIRoots[0], col, time.Time{}, Filter{Types: []string{"indicator"}}, func(p Page) error {
		n += len(p.Objects)
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("poll over mTLS: %d objects, %v", n, err)
	}
}
