package police

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/acd-org/acd/audit"
)

// mutate decodes pkg, lets edit change it and encodes it again as Build
// does.
func mutate(t *testing.T, pkg []byte, edit func(f *file)) []byte {
	t.Helper()
	var f file
	if err := json.Unmarshal(pkg, &f); err != nil {
		t.Fatal(err)
	}
	edit(&f)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func replacePart(name, old, new string) func(f *file) {
	return func(f *file) { f.Parts[name] = []byte(strings.Replace(string(f.Parts[name]), old, new, 1)) }
}

// resign rebuilds a package whose content was changed by someone holding
// the key: hashes and signature match, the content checks must catch it.
func resign(t *testing.T, pkg []byte, edit func(p *Package)) []byte {
	t.Helper()
	p, err := Verify(pkg, pub)
	if err != nil {
		t.Fatal(err)
	}
	edit(&p)
	b, err := Build(p, "Example CERT", serverKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyTampered(t *testing.T) {
	pkg := golden(t)
	if _, err := Verify(pkg, pub); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pkg  func(t *testing.T) []byte
		want error
		msg  string
	}{
		{"case part", func(t *testing.T) []byte { return mutate(t, pkg, replacePart(PartCase, "ACD Act", "ACD Law")) }, ErrPart, "part case"},
		{"approvals part", func(t *testing.T) []byte { return mutate(t, pkg, replacePart(PartApprovals, "alice", "alicf")) }, ErrPart, "part approvals"},
		{"evidence part", func(t *testing.T) []byte { return mutate(t, pkg, replacePart(PartEvidence, "0.9", "0.7")) }, ErrPart, "part evidence"},
		{"audit part", func(t *testing.T) []byte { return mutate(t, pkg, replacePart(PartAudit, `"ann"`, `"bob"`)) }, ErrPart, "part audit"},
		{"part removed", func(t *testing.T) []byte { return mutate(t, pkg, func(f *file) { delete(f.Parts, PartAudit) }) }, ErrPart, "missing"},
		{"part added", func(t *testing.T) []byte {
			return mutate(t, pkg, func(f *file) { f.Parts["extra"] = []byte(`{}`) })
		}, ErrPart, `unexpected part "extra"`},
		{"manifest", func(t *testing.T) []byte {
			return mutate(t, pkg, func(f *file) { f.Manifest = bytes.Replace(f.Manifest, []byte(`"npa"`), []byte(`"fbi"`), 1) })
		}, ErrSignature, "does not verify"},
		{"signature", func(t *testing.T) []byte {
			return mutate(t, pkg, func(f *file) {
				s, _ := base64.StdEncoding.DecodeString(f.Signature)
				s[5] ^= 1
				f.Signature = base64.StdEncoding.EncodeToString(s)
			})
		}, ErrSignature, "does not verify"},
		{"signature cut", func(t *testing.T) []byte { return mutate(t, pkg, func(f *file) { f.Signature = f.Signature[:40] }) }, ErrSignature, "64 bytes"},
		{"format", func(t *testing.T) []byte { return mutate(t, pkg, func(f *file) { f.Format = "other" }) }, ErrFormat, "format"},
		{"unknown field", func(t *testing.T) []byte {
			return []byte(strings.Replace(string(pkg), `{"format"`, `{"x":1,"format"`, 1))
		}, ErrFormat, "unknown field"},
		{"trailing data", func(t *testing.T) []byte { return append(append([]byte{}, pkg...), "{}"...) }, ErrFormat, "after"},
		{"evidence resigned", func(t *testing.T) []byte {
			return resign(t, pkg, func(p *Package) { p.Evidence = bytes.Replace(p.Evidence, []byte("0.9"), []byte("0.7"), 1) })
		}, ErrEvidence, "hashes to"},
		{"audit entry edited, resigned", func(t *testing.T) []byte {
			return resign(t, pkg, func(p *Package) { p.Audit[2].Actor = "mallory" })
		}, ErrAudit, "seq 5: content"},
		{"audit link broken, resigned", func(t *testing.T) []byte {
			return resign(t, pkg, func(p *Package) {
				p.Audit[1].Prev = audit.Genesis
				p.Audit[1].Hash = p.Audit[1].ComputeHash()
			})
		}, ErrAudit, "seq 2: prev"},
		{"audit reordered, resigned", func(t *testing.T) []byte {
			return resign(t, pkg, func(p *Package) { p.Audit[1], p.Audit[2] = p.Audit[2], p.Audit[1] })
		}, ErrAudit, "reordered"},
		{"approval of another version, resigned", func(t *testing.T) []byte {
			return resign(t, pkg, func(p *Package) { p.Approvals[0].Version = 2 })
		}, ErrContent, "approval"},
		{"not a police request, resigned", func(t *testing.T) []byte {
			return resign(t, pkg, func(p *Package) { p.Case.Actions[0].Type = "block" })
		}, ErrContent, "not a police request"},
		{"created, resigned", func(t *testing.T) []byte {
			return resign(t, pkg, func(p *Package) { p.Manifest.Created = "yesterday" })
		}, ErrContent, "created"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.pkg(t), pub)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Verify: %v, want %v naming %q", err, tc.want, tc.msg)
			}
		})
	}
}

// FuzzVerify feeds random and mutated packages: Verify must not panic,
// and what it accepts must carry a valid signature and the case's
// evidence.
func FuzzVerify(f *testing.F) {
	pkg := goldenFile(f)
	f.Add(pkg)
	f.Add(pkg[:len(pkg)/2])
	f.Add([]byte(`{"format":"acd-evidence-package-v1","manifest":{},"signature":"","parts":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Verify(b, pub)
		if err != nil {
			return
		}
		if p.Manifest.Format != Format || len(p.Evidence) == 0 || p.Case.ID != p.Manifest.Case {
			t.Fatalf("accepted an incoherent package: %+v", p.Manifest)
		}
	})
}

func goldenFile(f *testing.F) []byte {
	f.Helper()
	b, err := readGolden()
	if err != nil {
		f.Fatal(err)
	}
	return b
}
