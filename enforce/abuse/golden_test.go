package abuse

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/acd-org/acd/cases"
	"github.com/google/go-cmp/cmp"
)

// TestGolden writes each format's report into a directory with a fixed
// clock and Message-ID and compares it with testdata/ (go test -update
// rewrites them).
func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		name, format, target, golden string
	}{
		{"arf address", FormatARF, "198.51.100.7", "report-arf.eml"},
		{"arf prefix", FormatARF, "198.51.100.0/24", "report-arf-prefix.eml"},
		{"xarf address", FormatXARF, "198.51.100.7", "report-xarf.eml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCase(t, "case-7", abuseAction(tc.target, ""))
			dir := t.TempDir()
			cfg := Config{Format: tc.format, From: "CERT acd <reports@cert.example>", Contact: "cert@cert.example",
				Organization: "Example CERT", Dir: dir, StateDir: filepath.Join(t.TempDir(), "state"),
				Contacts: []Contact{{Prefix: "198.51.100.0/24", Email: "abuse@net.example"}}}
			r := newReporter(t, cfg, f)
			r.deps.MessageID = func(c cases.Case, idx int, rcpt string) string { return "<fixed-1@cert.example>" }
			if err := r.Apply(context.Background(), f.c, f.c.Actions[0]); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dir, "acd-case-7-v1-a0.eml"))
			if err != nil {
				t.Fatal(err)
			}
			checkNoLeak(t, string(got))
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if d := cmp.Diff(string(got), string(want)); d != "" {
				t.Errorf("report differs from %s (-got, +want):\n%s", path, d)
			}
			_, _, _, parts := parseMessage(t, got)
			if want := map[string]int{FormatARF: 3, FormatXARF: 2}[tc.format]; len(parts) != want {
				t.Errorf("%d parts, want %d", len(parts), want)
			}
		})
	}
}
