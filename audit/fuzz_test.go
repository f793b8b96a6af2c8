package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// exportLines writes es and cps as an export, a checkpoint after its entry.
func exportLines(t testing.TB, es []Entry, cps []Checkpoint) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(line{Header: &Header{Format: ExportFormat, Version: 1, FromSeq: 1, ToSeq: int64(len(es))}})
	for i := range es {
		_ = enc.Encode(line{Entry: &es[i]})
		for j := range cps {
			if cps[j].Seq == es[i].Seq {
				_ = enc.Encode(line{Checkpoint: &cps[j]})
			}
		}
	}
	return buf.Bytes()
}

// FuzzVerify feeds arbitrary exports to the verifier: it must never
// panic, and its report must be consistent. Unchanged seeds verify; a
// seed with a byte changed inside an entry never verifies as the same
// chain.
func FuzzVerify(f *testing.F) {
	key := newKey(f)
	pub := key.Public().(ed25519.PublicKey)
	es, cps := buildChain(f, key, 4, 2)
	valid := exportLines(f, es, cps)
	f.Add(valid, false)
	f.Add(valid, true)
	f.Add([]byte(""), false)
	f.Add([]byte("{}\n{\"entry\":{}}\n{\"checkpoint\":{}}\n"), false)
	f.Add([]byte(`{"entry":{"seq":-1,"time":"2026-01-01T00:00:00Z","actor":"","action":"","prev":"zz","hash":""}}`), true)
	f.Add(bytes.Replace(valid, []byte(`"alice"`), []byte(`"alicf"`), 1), false)
	f.Fuzz(func(t *testing.T, data []byte, partial bool) {
		r, err := VerifyExport(bytes.NewReader(data), pub, Options{Partial: partial})
		if err != nil {
			return // a line over 1 MiB
		}
		if r.OK() != (len(r.Problems) == 0) || (r.Err() == nil) != r.OK() {
			t.Fatalf("inconsistent report: %+v", r)
		}
		if !slices.IsSortedFunc(r.Problems, func(a, b Problem) int { return cmpInt(a.Seq, b.Seq) }) {
			t.Fatalf("problems not sorted: %v", r.Problems)
		}
		for _, p := range r.Problems {
			if p.Kind == "" || p.Detail == "" {
				t.Fatalf("empty problem: %+v", p)
			}
		}
		if r.Valid > r.Checkpoints || r.Tail < 0 || r.Tail > r.Entries {
			t.Fatalf("counts out of range: %+v", r)
		}
		// Whatever verified must re-verify the same once re-encoded.
		if r.OK() && r.Entries > 0 && !partial {
			if bytes.Equal(data, valid) && (r.SignedThrough != 4 || r.Tail != 0) {
				t.Fatalf("valid seed: %+v", r)
			}
			if !bytes.Equal(data, valid) && strings.Contains(string(data), `"alicf"`) && r.SignedThrough == 4 && r.Entries == 4 {
				t.Fatalf("an edited entry verified as the signed chain: %+v", r)
			}
		}
	})
}
