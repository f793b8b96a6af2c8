package police

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/jcs"
)

// Format names the package format.
const Format = "acd-evidence-package-v1"

// Part names, in the manifest's order.
const (
	PartCase      = "case"
	PartApprovals = "approvals"
	PartEvidence  = "evidence"
	PartAudit     = "audit"
)

var partNames = []string{PartCase, PartApprovals, PartEvidence, PartAudit}

// Errors of Verify, each wrapped with what failed.
var (
	ErrFormat    = errors.New("police: not an evidence package")
	ErrSignature = errors.New("police: bad signature")
	ErrPart      = errors.New("police: part does not match the manifest")
	ErrContent   = errors.New("police: inconsistent content")
	ErrEvidence  = errors.New("police: evidence does not match the case")
	ErrAudit     = errors.New("police: audit excerpt broken")
)

// Manifest describes a package and is what its signature covers (in
// RFC 8785 canonical form).
type Manifest struct {
	Format     string     `json:"format"`
	Statement  string     `json:"statement"` // what the package is, in words
	Case       string     `json:"case"`
	Version    int        `json:"version"`
	Action     int        `json:"action"` // index of the police-request action
	ActionType string     `json:"action_type"`
	Target     string     `json:"target"`
	Channel    string     `json:"channel"`
	Created    string     `json:"created"` // RFC 3339, UTC
	KeyID      string     `json:"key_id"`  // the key that signs
	Parts      []PartHash `json:"parts"`
}

// PartHash is one part's digest: SHA-256 (hex) and size of its exact
// bytes in the file.
type PartHash struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// Package is a verified package's content.
type Package struct {
	Manifest  Manifest
	Case      cases.Case
	Approvals []cases.Approval
	Evidence  []byte // the frozen evidence document
	Audit     []audit.Entry
}

// file is the package as written.
type file struct {
	Format    string                     `json:"format"`
	Manifest  json.RawMessage            `json:"manifest"`
	Signature string                     `json:"signature"`
	Parts     map[string]json.RawMessage `json:"parts"`
}

// statement says what the package is and what acd did.
func statement(org string, m *Manifest) string {
	return fmt.Sprintf("Evidence package of case %s (version %d) about %s, handed over by %s to the authorized channel %q "+
		"under an approved police-request action (action %d). It holds the case as approved, the commission's signed approvals, "+
		"the frozen evidence (flow metadata only: addresses, ports, protocols, times, volumes; no content) and an excerpt of "+
		"the hash-chained audit log about the case. acd did nothing beyond handing over this package: it did not access, "+
		"probe or intrude into any third-party system.", m.Case, m.Version, m.Target, org, m.Channel, m.Action)
}

// Build writes the package of p (Manifest without Parts; Statement and
// Format are filled in) signed with key.
func Build(p Package, org string, key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("police: not an Ed25519 private key")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, p.Evidence); err != nil || !bytes.Equal(compact.Bytes(), p.Evidence) {
		return nil, errors.New("police: the evidence is not a compact JSON document (the frozen evidence is canonical JSON)")
	}
	m := p.Manifest
	m.Format, m.Case, m.Version = Format, p.Case.ID, p.Case.Version
	m.Statement = statement(org, &m)
	approvals := p.Approvals
	if approvals == nil {
		approvals = []cases.Approval{}
	}
	entries := p.Audit
	if entries == nil {
		entries = []audit.Entry{}
	}
	parts := map[string]json.RawMessage{PartEvidence: p.Evidence}
	for name, v := range map[string]any{PartCase: p.Case, PartApprovals: approvals, PartAudit: entries} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("police: unable to encode part %s: %w", name, err)
		}
		parts[name] = b
	}
	m.Parts = nil
	for _, name := range partNames {
		sum := sha256.Sum256(parts[name])
		m.Parts = append(m.Parts, PartHash{Name: name, SHA256: hex.EncodeToString(sum[:]), Size: len(parts[name])})
	}
	mb, err := jcs.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("police: unable to encode the manifest: %w", err)
	}
	f := file{Format: Format, Manifest: mb, Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, mb)), Parts: parts}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // parts are embedded byte for byte
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("police: unable to encode the package: %w", err)
	}
	return out.Bytes(), nil
}

// Verify checks a package with acd's public key: the signature over the
// manifest, every part's hash and size, that the parts belong to the
// manifest's case and version, the evidence against the case's
// evidence_hash (cases.VerifyEvidence), and the audit excerpt (each
// entry's hash, increasing sequence numbers, and the prev link between
// consecutive ones; entries of other cases between them are not in the
// excerpt, so links across gaps are checked against the full log only).
// The approvals' signatures need the commissioners' keys: check them
// with cases.Verify. Errors wrap one of the Err* values.
func Verify(pkg []byte, pub ed25519.PublicKey) (Package, error) {
	var f file
	if err := strictDecode(pkg, &f); err != nil {
		return Package{}, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if f.Format != Format {
		return Package{}, fmt.Errorf("%w: format %q, want %q", ErrFormat, f.Format, Format)
	}
	if err := verifySignature(f, pub); err != nil {
		return Package{}, err
	}
	var p Package
	if err := strictDecode(f.Manifest, &p.Manifest); err != nil || p.Manifest.Format != Format {
		return Package{}, fmt.Errorf("%w: manifest: format %q, %v", ErrFormat, p.Manifest.Format, err)
	}
	if err := checkParts(p.Manifest, f.Parts); err != nil {
		return Package{}, err
	}
	if err := p.decodeParts(f.Parts); err != nil {
		return Package{}, err
	}
	if err := cases.VerifyEvidence(p.Evidence, p.Case.EvidenceHash); err != nil {
		return Package{}, fmt.Errorf("%w: %v", ErrEvidence, err)
	}
	if err := VerifyExcerpt(p.Audit); err != nil {
		return Package{}, err
	}
	return p, nil
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}

func verifySignature(f file, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: not an Ed25519 public key", ErrSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: the signature is not 64 bytes of base64", ErrSignature)
	}
	msg, err := jcs.Canonicalize(f.Manifest)
	if err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrFormat, err)
	}
	if !ed25519.Verify(pub, msg, sig) {
		return fmt.Errorf("%w: the manifest's signature does not verify with key %s", ErrSignature, cases.KeyID(pub))
	}
	return nil
}

func checkParts(m Manifest, parts map[string]json.RawMessage) error {
	names := make([]string, len(m.Parts))
	for i, ph := range m.Parts {
		names[i] = ph.Name
	}
	if !slices.Equal(names, partNames) {
		return fmt.Errorf("%w: the manifest lists parts %v, want %v", ErrPart, names, partNames)
	}
	for name := range parts {
		if !slices.Contains(partNames, name) {
			return fmt.Errorf("%w: unexpected part %q", ErrPart, name)
		}
	}
	for _, ph := range m.Parts {
		b, ok := parts[ph.Name]
		if !ok {
			return fmt.Errorf("%w: part %s is missing", ErrPart, ph.Name)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != ph.SHA256 || len(b) != ph.Size {
			return fmt.Errorf("%w: part %s hashes to %s (%d bytes), the manifest says %s (%d bytes)", ErrPart, ph.Name, got, len(b), ph.SHA256, ph.Size)
		}
	}
	return nil
}

func (p *Package) decodeParts(parts map[string]json.RawMessage) error {
	m := &p.Manifest
	if err := json.Unmarshal(parts[PartCase], &p.Case); err != nil {
		return fmt.Errorf("%w: part case: %v", ErrContent, err)
	}
	if p.Case.ID != m.Case || p.Case.Version != m.Version {
		return fmt.Errorf("%w: the case is %s v%d, the manifest says %s v%d", ErrContent, p.Case.ID, p.Case.Version, m.Case, m.Version)
	}
	if m.Action < 0 || m.Action >= len(p.Case.Actions) || p.Case.Actions[m.Action].Type != cases.ActionPoliceRequest {
		return fmt.Errorf("%w: action %d of case %s is not a police request", ErrContent, m.Action, m.Case)
	}
	if err := json.Unmarshal(parts[PartApprovals], &p.Approvals); err != nil {
		return fmt.Errorf("%w: part approvals: %v", ErrContent, err)
	}
	for _, a := range p.Approvals {
		if a.Case != m.Case || a.Version != m.Version {
			return fmt.Errorf("%w: an approval is of case %s v%d, not %s v%d", ErrContent, a.Case, a.Version, m.Case, m.Version)
		}
	}
	p.Evidence = slices.Clone(parts[PartEvidence])
	if err := json.Unmarshal(parts[PartAudit], &p.Audit); err != nil {
		return fmt.Errorf("%w: part audit: %v", ErrContent, err)
	}
	if _, err := time.Parse(time.RFC3339, m.Created); err != nil {
		return fmt.Errorf("%w: created %q: %v", ErrContent, m.Created, err)
	}
	return nil
}

// VerifyExcerpt checks an excerpt of the audit log: every entry's hash
// matches its content (audit.Entry.ComputeHash), sequence numbers
// increase, and an entry that follows its predecessor in the log (seq+1)
// links to its hash. Errors wrap ErrAudit and name the seq.
func VerifyExcerpt(es []audit.Entry) error {
	for i, e := range es {
		if got := e.ComputeHash(); got != e.Hash {
			return fmt.Errorf("%w: entry seq %d: content does not match its hash (edited)", ErrAudit, e.Seq)
		}
		if i == 0 {
			continue
		}
		prev := es[i-1]
		switch {
		case e.Seq <= prev.Seq:
			return fmt.Errorf("%w: entry seq %d follows seq %d (reordered or duplicated)", ErrAudit, e.Seq, prev.Seq)
		case e.Seq == prev.Seq+1 && e.Prev != prev.Hash:
			return fmt.Errorf("%w: entry seq %d: prev is not entry %d's hash (link broken)", ErrAudit, e.Seq, prev.Seq)
		}
	}
	return nil
}
