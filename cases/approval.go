package cases

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acd-org/acd/cases/jcs"
)

// Decision is a commissioner's answer.
type Decision string

// Decisions.
const (
	DecisionApprove Decision = "approve"
	DecisionReject  Decision = "reject" // needs a reason
)

// Approval is a commissioner's signed decision on one version of one
// case. Signature is an Ed25519 signature, by the key KeyID, over the
// message Message builds: the case's canonical payload together with
// every other field here (decision, reason, signer, key, time), under
// Purpose.
type Approval struct {
	Case         string    `json:"case"`
	Version      int       `json:"version"`
	Commissioner string    `json:"commissioner"` // the user the key belongs to
	KeyID        string    `json:"key_id"`
	Decision     Decision  `json:"decision"`
	Reason       string    `json:"reason,omitempty"` // required for a rejection
	SignedAt     time.Time `json:"signed_at"`
	Signature    []byte    `json:"signature"`
}

func (a Approval) String() string {
	return fmt.Sprintf("%s of case %s v%d by %s (key %s)", a.Decision, a.Case, a.Version, a.Commissioner, a.KeyID)
}

// check validates the fields a signer sets.
func (a Approval) check() error {
	switch {
	case a.Case == "" || a.Version < 1:
		return fmt.Errorf("approval names no case version")
	case a.Commissioner == "" || a.KeyID == "":
		return fmt.Errorf("approval names no commissioner or key")
	case a.Decision != DecisionApprove && a.Decision != DecisionReject:
		return fmt.Errorf("approval decision %q: approve or reject", a.Decision)
	case a.Decision == DecisionReject && strings.TrimSpace(a.Reason) == "":
		return fmt.Errorf("a rejection needs a reason")
	case a.SignedAt.IsZero():
		return fmt.Errorf("approval has no signing time")
	}
	return nil
}

// Message returns the bytes an approval's signature covers: the
// canonical JSON of
//
//	{"approval":{"case","version","commissioner","key_id","decision","reason","signed_at"},
//	 "payload":<the case's canonical payload>,"purpose":"acd case approval v1"}
//
// payload must be the case payload (Payload) of the case and version the
// approval names: a CLI signs what the server showed, after checking it.
func Message(payloadJSON []byte, a Approval) ([]byte, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	pv, err := jcs.Parse(payloadJSON)
	if err != nil {
		return nil, fmt.Errorf("approval payload: %w", err)
	}
	pm, ok := pv.(map[string]any)
	if !ok || pm["case"] != a.Case || pm["version"] != float64(a.Version) {
		return nil, fmt.Errorf("%w: the payload is not that of case %s version %d", ErrReplay, a.Case, a.Version)
	}
	head := map[string]any{
		"case": a.Case, "version": float64(a.Version), "commissioner": a.Commissioner, "key_id": a.KeyID,
		"decision": string(a.Decision), "reason": a.Reason, "signed_at": fmtTime(a.SignedAt),
	}
	return jcs.Append(nil, map[string]any{"approval": head, "payload": pv, "purpose": Purpose})
}

// Sign signs a with key over the case payload (see Message) and returns
// it with Signature set. The CLI calls it with the commissioner's key;
// the server never needs the private half.
func Sign(payloadJSON []byte, a Approval, key ed25519.PrivateKey) (Approval, error) {
	if len(key) != ed25519.PrivateKeySize {
		return Approval{}, fmt.Errorf("unable to sign: not an Ed25519 private key")
	}
	msg, err := Message(payloadJSON, a)
	if err != nil {
		return Approval{}, fmt.Errorf("unable to sign: %w", err)
	}
	a.Signature = ed25519.Sign(key, msg)
	return a, nil
}

// SignCase signs a decision on case c: the approval names c's id and
// version and signs c's payload.
func SignCase(c Case, commissioner, keyID string, d Decision, reason string, at time.Time, key ed25519.PrivateKey) (Approval, error) {
	p, err := Payload(c)
	if err != nil {
		return Approval{}, err
	}
	return Sign(p, Approval{Case: c.ID, Version: c.Version, Commissioner: commissioner, KeyID: keyID,
		Decision: d, Reason: reason, SignedAt: at}, key)
}

// Verify checks a's signature by pub over the payload; errors wrap
// ErrSignature (or ErrReplay when the payload is another case version's).
func Verify(payloadJSON []byte, a Approval, pub ed25519.PublicKey) error {
	msg, err := Message(payloadJSON, a)
	if err != nil {
		if errors.Is(err, ErrReplay) {
			return err
		}
		return fmt.Errorf("%w: %s: %v", ErrSignature, a, err)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, a.Signature) {
		return fmt.Errorf("%w: %s does not verify with key %s", ErrSignature, a, a.KeyID)
	}
	return nil
}

// KeyID returns the id acd gives an Ed25519 public key: the first 8 bytes
// of its SHA-256 in hex (16 digits), as the store registers keys and
// policies list them.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}
