package abuse

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned returns a TLS config for 127.0.0.1 and the PEM file of its
// certificate.
func selfSigned(t *testing.T) (*tls.Config, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, file
}

func TestStartTLSAndAuth(t *testing.T) {
	cfg, ca := selfSigned(t)
	for _, tc := range []struct {
		name     string
		starttls *bool
		ca       string
		password string
		wantTLS  bool
		err      string
	}{
		{"offered, used", nil, ca, "s3cret", true, ""},
		{"required", ptr(true), ca, "s3cret", true, ""},
		{"unknown CA", nil, "", "s3cret", false, "STARTTLS failed"},
		{"wrong password", nil, ca, "nope", false, "authentication as acd failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rl := startRelayTLS(t, cfg)
			f := newCase(t, "case-8", abuseAction("198.51.100.7", "abuse@net.example"))
			r := newReporter(t, Config{SMTP: &SMTPConfig{Relay: rl.addr, StartTLS: tc.starttls, CAFile: tc.ca,
				Username: "acd", Password: tc.password}}, f)
			err := r.Apply(context.Background(), f.c, f.c.Actions[0])
			msgs := rl.messages()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || len(msgs) != 0 {
					t.Fatalf("Apply: %v, %d messages; want %q and none", err, len(msgs), tc.err)
				}
				if strings.Contains(err.Error(), tc.password) {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 || msgs[0].tls != tc.wantTLS || msgs[0].user != "acd" {
				t.Fatalf("relay got %d messages (%+v), want one over TLS from user acd", len(msgs), msgs)
			}
		})
	}
}
