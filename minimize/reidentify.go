package minimize

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/acd-org/acd/flow"
)

// Pseudonym names one pseudonymized address: the address as it appears in
// screened records, and the key epoch it was made under
// (flow.Record.KeyEpoch).
type Pseudonym struct {
	Epoch uint32     `json:"epoch"`
	Addr  netip.Addr `json:"addr"`
}

func (p Pseudonym) String() string { return fmt.Sprintf("%s@%d", p.Addr, p.Epoch) }

// Authorization permits lifting the pseudonyms it lists, for one case.
// The cases stage issues it once the commission approved a "reidentify"
// action; Proof carries what lets the Verifier check it (the approvals'
// signatures).
type Authorization struct {
	CaseID     string      `json:"case_id"`
	Pseudonyms []Pseudonym `json:"pseudonyms"`
	NotAfter   time.Time   `json:"not_after"`
	Proof      []byte      `json:"proof"`
}

// Verifier checks that an authorization is genuine and in force.
type Verifier interface {
	VerifyReidentification(ctx context.Context, a Authorization) error
}

// AuditEntry records one re-identification attempt. It never holds the
// address in clear.
type AuditEntry struct {
	Time      time.Time
	Actor     string // who asked
	CaseID    string
	Pseudonym Pseudonym
	Granted   bool
	Reason    string // why refused; empty when granted
}

// Auditor writes re-identification attempts to the audit log. The audit
// package implements it; Audit returns only once the entry is durable.
type Auditor interface {
	AuditReidentification(ctx context.Context, e AuditEntry) error
}

// Re-identification refusals.
var (
	ErrNoAuditor     = errors.New("minimize: re-identification refused: no audit log configured")
	ErrNoVerifier    = errors.New("minimize: re-identification refused: no authorization verifier configured")
	ErrNotAuthorized = errors.New("minimize: re-identification refused: not authorized")
	ErrNotPseudonym  = errors.New("minimize: re-identification refused: not a pseudonym of a domestic address")
)

// Reidentify is the one door from a pseudonym back to the address. It
// refuses unless auth names a case and covers p, is in force, and is
// accepted by the Verifier. Every call, granted or refused, is written to
// the audit log first; if the audit log cannot be written, the address is
// not returned.
func (s *Screen) Reidentify(ctx context.Context, actor string, auth Authorization, p Pseudonym) (netip.Addr, error) {
	addr, why := s.reveal(ctx, auth, p)
	entry := AuditEntry{Time: s.deps.Now().UTC(), Actor: actor, CaseID: auth.CaseID, Pseudonym: p, Granted: why == nil}
	if why != nil {
		entry.Reason = why.Error()
	}
	if s.deps.Auditor == nil {
		return netip.Addr{}, ErrNoAuditor
	}
	if err := s.deps.Auditor.AuditReidentification(ctx, entry); err != nil {
		return netip.Addr{}, fmt.Errorf("minimize: re-identification refused: unable to write the audit log: %w", err)
	}
	if why != nil {
		return netip.Addr{}, why
	}
	return addr, nil
}

// reveal checks the authorization and inverts the pseudonym.
func (s *Screen) reveal(ctx context.Context, auth Authorization, p Pseudonym) (netip.Addr, error) {
	switch {
	case s.deps.Verifier == nil:
		return netip.Addr{}, ErrNoVerifier
	case auth.CaseID == "":
		return netip.Addr{}, fmt.Errorf("%w: the authorization names no case", ErrNotAuthorized)
	case !slices.Contains(auth.Pseudonyms, p):
		return netip.Addr{}, fmt.Errorf("%w: %s is not covered by case %s", ErrNotAuthorized, p, auth.CaseID)
	case !auth.NotAfter.IsZero() && s.deps.Now().After(auth.NotAfter):
		return netip.Addr{}, fmt.Errorf("%w: the authorization of case %s expired at %s", ErrNotAuthorized, auth.CaseID, auth.NotAfter.UTC().Format(time.RFC3339))
	case !p.Addr.IsValid():
		return netip.Addr{}, fmt.Errorf("%w: invalid address", ErrNotPseudonym)
	}
	if err := s.deps.Verifier.VerifyReidentification(ctx, auth); err != nil {
		return netip.Addr{}, fmt.Errorf("%w: %v", ErrNotAuthorized, err)
	}
	clear := s.cipher(p.Epoch).DeanonymizeAddr(flow.AddrFromNetip(p.Addr))
	// A pseudonym always decodes to a domestic address; anything else was
	// not made by this stage (or the space has changed since).
	if set := s.space.Load(); set == nil || !set.Contains(clear) {
		return netip.Addr{}, ErrNotPseudonym
	}
	return clear.Netip(), nil
}
