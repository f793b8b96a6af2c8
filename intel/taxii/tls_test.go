package taxii

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// certKey is a certificate with its key.
type certKey struct {
	cert *x509.Certificate
	tls  tls.Certificate
}

// issue makes a certificate for cn signed by parent (self-signed when
// nil); ca makes it a CA.
func issue(t *testing.T, cn string, parent *certKey, ca bool, usage x509.ExtKeyUsage) *certKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		BasicConstraintsValid: true, IsCA: ca,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	signer, signerKey := tmpl, any(key)
	if parent != nil {
		signer, signerKey = parent.cert, parent.tls.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &certKey{c, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: c}}
}

func TestMutualTLS(t *testing.T) {
	ca := issue(t, "acd test CA", nil, true, 0)
	serverCert := issue(t, "127.0.0.1", ca, false, x509.ExtKeyUsageServerAuth)
	partner := issue(t, "us-partner", ca, false, x509.ExtKeyUsageClientAuth) // by subject
	pinned := issue(t, "whatever", ca, false, x509.ExtKeyUsageClientAuth)    // by fingerprint
	stranger := issue(t, "stranger", ca, false, x509.ExtKeyUsageClientAuth)  // CA-signed, not mapped
	rogueCA := issue(t, "rogue CA", nil, true, 0)
	impostor := issue(t, "us-partner", rogueCA, false, x509.ExtKeyUsageClientAuth) // right CN, wrong CA

	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cfg := testConfig()
	cfg.APIRoots[0].Collections[0].Read = append(cfg.APIRoots[0].Collections[0].Read, "us", "pinned")
	auth := ClientCerts{
		Subjects:     map[string]string{"us-partner": "us"},
		Fingerprints: map[string]string{CertFingerprint(pinned.cert): "pinned"},
	}
	srv, err := New(cfg, Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: NewMemStore(nil), Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = &tls.Config{
		Certificates: []tls.Certificate{serverCert.tls},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS13,
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)

	cases := []struct {
		name    string
		cert    *certKey
		want    int // 0: the handshake fails
		canRead bool
	}{
		{"subject", partner, 200, true},
		{"fingerprint", pinned, 200, true},
		{"unmapped", stranger, 401, false},
		{"no certificate", nil, 401, false},
		{"other CA", impostor, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}
			if tc.cert != nil {
				tr.TLSClientConfig.Certificates = []tls.Certificate{tc.cert.tls}
			}
			t.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			hr, _ := http.NewRequest("GET", ts.URL+"/api1/collections/"+colA+"/", nil)
			hr.Header.Set("Accept", MediaType)
			resp, err := client.Do(hr)
			if tc.want == 0 {
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusUnauthorized {
						t.Fatalf("request with a certificate from another CA got %d", resp.StatusCode)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if tc.want == 200 && !decode[collectionResource](t, body).CanRead {
				t.Errorf("can_read false: %s", body)
			}
		})
	}
}

func TestClientCertsUnverifiedSubject(t *testing.T) {
	// A self-signed certificate with a mapped subject, on a server that
	// does not verify chains (RequireAnyClientCert): the subject must
	// not be trusted, only a fingerprint.
	self := issue(t, "us-partner", nil, false, x509.ExtKeyUsageClientAuth)
	r := httptest.NewRequest("GET", "https://x/taxii2/", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{self.cert}}
	_, err := ClientCerts{Subjects: map[string]string{"us-partner": "us"}}.Authenticate(r)
	if err == nil {
		t.Fatal("unverified subject accepted")
	}
	p, err := ClientCerts{Fingerprints: map[string]string{CertFingerprint(self.cert): "us"}}.Authenticate(r)
	if err != nil || p.Name != "us" {
		t.Errorf("pinned fingerprint: %v, %v", p, err)
	}
}
