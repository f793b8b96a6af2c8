package cases

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/acd-org/acd/cases/jcs"
	"github.com/acd-org/acd/detect"
)

// Evidence is a frozen evidence document: the canonical JSON (RFC 8785)
// of the suspects a case rests on, as detection reported them, and its
// SHA-256. The hash goes into the case and so into what commissioners
// sign; the document is kept beside the case.
type Evidence struct {
	Doc  []byte // {"suspects":[...]} in canonical JSON, suspects sorted by address
	Hash string // SHA-256 of Doc, lower-case hex
}

// FreezeEvidence freezes the suspects' evidence. Suspects are sorted by
// address (then key epoch) so that the same suspects give the same hash
// whatever their order; a suspect given twice is refused.
func FreezeEvidence(suspects []detect.Suspect) (Evidence, error) {
	if len(suspects) == 0 {
		return Evidence{}, fmt.Errorf("unable to freeze evidence: no suspect")
	}
	ss := slices.Clone(suspects)
	slices.SortFunc(ss, func(a, b detect.Suspect) int {
		return cmp.Or(bytes.Compare(a.Addr[:], b.Addr[:]), cmp.Compare(a.Bits, b.Bits), cmp.Compare(a.KeyEpoch, b.KeyEpoch))
	})
	for i := 1; i < len(ss); i++ {
		if ss[i].Key == ss[i-1].Key {
			return Evidence{}, fmt.Errorf("unable to freeze evidence: suspect %s given twice", ss[i].Key)
		}
	}
	raw, err := json.Marshal(map[string]any{"suspects": ss})
	if err != nil {
		return Evidence{}, fmt.Errorf("unable to freeze evidence: %w", err)
	}
	doc, err := jcs.Canonicalize(raw)
	if err != nil {
		return Evidence{}, fmt.Errorf("unable to freeze evidence: %w", err)
	}
	return Evidence{Doc: doc, Hash: hashHex(doc)}, nil
}

// SuspectAddrs returns the suspects' addresses as a case lists them.
func SuspectAddrs(suspects []detect.Suspect) []string {
	out := make([]string, 0, len(suspects))
	for _, s := range suspects {
		out = append(out, s.Key.String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// VerifyEvidence checks that doc is the frozen document hash names: its
// SHA-256 matches and it is in canonical form.
func VerifyEvidence(doc []byte, hash string) error {
	if got := hashHex(doc); got != hash {
		return fmt.Errorf("evidence document hashes to %s, not %s", got, hash)
	}
	c, err := jcs.Canonicalize(doc)
	if err != nil {
		return fmt.Errorf("evidence document: %w", err)
	}
	if string(c) != string(doc) {
		return fmt.Errorf("evidence document is not in canonical form")
	}
	return nil
}

func hashHex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
