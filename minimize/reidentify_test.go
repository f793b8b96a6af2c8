package minimize

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/flow"
)

// auditLog is a test Auditor.
type auditLog struct {
	entries []AuditEntry
	fail    error
}

func (a *auditLog) AuditReidentification(_ context.Context, e AuditEntry) error {
	if a.fail != nil {
		return a.fail
	}
	a.entries = append(a.entries, e)
	return nil
}

// verifier accepts authorizations whose proof is "ok".
type verifier struct{}

func (verifier) VerifyReidentification(_ context.Context, a Authorization) error {
	if string(a.Proof) != "ok" {
		return errors.New("bad signatures")
	}
	return nil
}

func TestReidentify(t *testing.T) {
	log := &auditLog{}
	s, next := testScreen(t, func(_ *Config, d *Deps) {
		d.Auditor, d.Verifier = log, verifier{}
	})
	real4, real6 := addr("198.51.100.42"), addr("2001:db8:100:7::42")
	s.Consume(batch(
		flow.Record{SrcAddr: foreign, DstAddr: real4, Start: t0.UnixMilli()},
		flow.Record{SrcAddr: real6, DstAddr: foreign, Start: t0.UnixMilli()},
	))
	p4 := Pseudonym{Epoch: next.recs[0].KeyEpoch, Addr: next.recs[0].DstAddr.Netip()}
	p6 := Pseudonym{Epoch: next.recs[1].KeyEpoch, Addr: next.recs[1].SrcAddr.Netip()}
	foreignP := Pseudonym{Epoch: p4.Epoch, Addr: foreign.Netip()}
	good := Authorization{CaseID: "case-1", Pseudonyms: []Pseudonym{p4, p6, foreignP}, NotAfter: t0.Add(time.Hour), Proof: []byte("ok")}

	tests := []struct {
		name    string
		auth    Authorization
		p       Pseudonym
		want    netip.Addr
		wantErr error
	}{
		{"v4 granted", good, p4, real4.Netip(), nil},
		{"v6 granted", good, p6, real6.Netip(), nil},
		{"not covered", good, Pseudonym{Epoch: p4.Epoch + 1, Addr: p4.Addr}, netip.Addr{}, ErrNotAuthorized},
		{"no case", Authorization{Pseudonyms: good.Pseudonyms, Proof: []byte("ok")}, p4, netip.Addr{}, ErrNotAuthorized},
		{"expired", Authorization{CaseID: "case-1", Pseudonyms: good.Pseudonyms, NotAfter: t0.Add(-time.Second), Proof: []byte("ok")}, p4, netip.Addr{}, ErrNotAuthorized},
		{"forged", Authorization{CaseID: "case-1", Pseudonyms: good.Pseudonyms, Proof: []byte("forged")}, p4, netip.Addr{}, ErrNotAuthorized},
		{"not a pseudonym", good, foreignP, netip.Addr{}, ErrNotPseudonym},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Reidentify(context.Background(), "alice", tt.auth, tt.p)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Reidentify() error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Reidentify() = %v, want %v", got, tt.want)
			}
			if len(log.entries) != i+1 {
				t.Fatalf("audit entries = %d, want %d: every call is audited", len(log.entries), i+1)
			}
			e := log.entries[i]
			if e.Granted != (tt.wantErr == nil) || e.Actor != "alice" || e.Pseudonym != tt.p || e.Time.IsZero() {
				t.Errorf("audit entry = %+v", e)
			}
			if s := fmt.Sprintf("%+v", e); strings.Contains(s, real4.String()) || strings.Contains(s, real6.String()) {
				t.Errorf("audit entry holds the address in clear: %s", s)
			}
		})
	}
}

func TestReidentifyRefusesWithoutAuditOrVerifier(t *testing.T) {
	p := Pseudonym{Epoch: 1, Addr: netip.MustParseAddr("198.51.100.1")}
	auth := Authorization{CaseID: "c", Pseudonyms: []Pseudonym{p}, Proof: []byte("ok")}

	s, _ := testScreen(t, func(_ *Config, d *Deps) { d.Verifier = verifier{} })
	if _, err := s.Reidentify(context.Background(), "a", auth, p); !errors.Is(err, ErrNoAuditor) {
		t.Errorf("without auditor: %v, want ErrNoAuditor", err)
	}
	log := &auditLog{}
	s, _ = testScreen(t, func(_ *Config, d *Deps) { d.Auditor = log })
	if _, err := s.Reidentify(context.Background(), "a", auth, p); !errors.Is(err, ErrNoVerifier) {
		t.Errorf("without verifier: %v, want ErrNoVerifier", err)
	}
	if len(log.entries) != 1 || log.entries[0].Granted {
		t.Errorf("refusal not audited: %+v", log.entries)
	}
	failing := &auditLog{fail: errors.New("disk full")}
	s, _ = testScreen(t, func(_ *Config, d *Deps) { d.Auditor, d.Verifier = failing, verifier{} })
	if _, err := s.Reidentify(context.Background(), "a", auth, p); err == nil || !strings.Contains(err.Error(), "unable to write the audit log") {
		t.Errorf("with a failing audit log: %v, want refusal", err)
	}
}
