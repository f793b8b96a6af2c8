package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/detect"
)

// testPKI is a CA and certificates it signed, written as PEM files.
type testPKI struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	dir   string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &testPKI{ca: ca, caKey: key, dir: t.TempDir()}
	p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue makes a certificate for cn (a server's when server), returning
// the cert and key files and the pair.
func (p *testPKI) issue(t *testing.T, cn string, server bool) (string, string, tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := p.write(t, cn+".pem", "CERTIFICATE", der), p.write(t, cn+".key", "EC PRIVATE KEY", kder)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

// TestTAXIIOverMTLS: acd's TAXII server over TLS names a partner by its
// client certificate's subject (mTLS), refuses a certificate from
// another CA, and still takes the partner's key.
func TestTAXIIOverMTLS(t *testing.T) {
	pki := newTestPKI(t)
	srvCert, srvKey, _ := pki.issue(t, "acd-jp", true)
	_, _, usPair := pki.issue(t, "us-gateway", false)
	other := newTestPKI(t)
	_, _, strangerPair := other.issue(t, "us-gateway", false)

	bin := buildAcd(t)
	jp := newSharingInstance(t, "jp", nil)
	cfg, _ := os.ReadFile(jp.cfg)
	cfg = []byte(strings.Replace(string(cfg), "    listen: 127.0.0.1:0\n", "    listen: 127.0.0.1:0\n    tls: {cert: "+srvCert+", key: "+srvKey+
		", client_ca: "+filepath.Join(pki.dir, "ca.pem")+", client_subjects: {us-gateway: us}}\n", 1))
	if err := os.WriteFile(jp.cfg, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	agreement := filepath.Join(jp.dir, "us.yaml")
	if err := os.WriteFile(agreement, []byte("outgoing: {collections: ["+colJPtoUS+"], max_tlp: amber}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, key, errOut := runCmd(t, nil, "partner", "add", "us", "-c", jp.cfg, "--agreement", agreement)
	if code != 0 {
		t.Fatal(errOut)
	}
	addr := jp.start(t, bin)
	roots := x509.NewCertPool()
	roots.AddCert(pki.ca)
	get := func(cert *tls.Certificate, apiKey string) (int, []map[string]any) {
		t.Helper()
		tc := &tls.Config{RootCAs: roots}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/acd/collections/", nil)
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		if apiKey != "" {
			req.Header.Set("X-API-Key", apiKey)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var body struct {
			Collections []map[string]any `json:"collections"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Collections
	}
	code, cols := get(&usPair, "")
	if code != http.StatusOK || len(cols) != 1 || cols[0]["id"] != colJPtoUS || cols[0]["can_read"] != true {
		t.Fatalf("us by certificate: %d %v", code, cols)
	}
	if code, _ := get(&strangerPair, ""); code == http.StatusOK {
		t.Error("a certificate from another CA got in")
	}
	if code, _ := get(nil, ""); code != http.StatusUnauthorized {
		t.Errorf("no credentials: %d", code)
	}
	if code, cols := get(nil, strings.TrimSpace(key)); code != http.StatusOK || len(cols) != 1 {
		t.Errorf("us by key: %d %v", code, cols)
	}
	if resp, err := http.Get("http://" + addr + "/taxii2/"); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("the TLS listener answered plain HTTP")
	}
}

func TestOwnDetection(t *testing.T) {
	book := detect.NewBook(10, nil)
	add := func(addr, det string) {
		k, _ := detect.ParseKey(addr)
		book.Add(detect.Finding{Addr: k.Addr, Role: detect.RoleC2, Evidence: detect.Evidence{Detector: det, Score: 0.8, Reason: "x"}})
	}
	add("100.65.0.1", "beacon")
	add("100.65.0.2", "partner:us")
	add("100.65.0.3", "partner:us")
	add("100.65.0.3", "scan")
	for _, tt := range []struct {
		suspects []string
		want     bool
	}{
		{[]string{"100.65.0.1"}, true},
		{[]string{"100.65.0.2"}, false},
		{[]string{"100.65.0.3"}, true},
		{[]string{"100.65.0.9"}, false},
		{[]string{"100.65.0.2", "100.65.0.1"}, true},
	} {
		if got := ownDetection(book, tt.suspects); got != tt.want {
			t.Errorf("ownDetection(%v) = %v, want %v", tt.suspects, got, tt.want)
		}
	}
}
