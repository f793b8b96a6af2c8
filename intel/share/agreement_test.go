package share

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/acd-org/acd/intel/stix"
	"github.com/google/go-cmp/cmp"
)

func TestDefaultAgreementValidates(t *testing.T) {
	a := DefaultAgreement()
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "partner: missing name") {
		t.Fatalf("default without partner: %v, want partner error", err)
	}
	a.Partner = "jp"
	if err := a.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestLoadAgreement(t *testing.T) {
	data, err := os.ReadFile("testdata/agreement.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadAgreement(data)
	if err != nil {
		t.Fatal(err)
	}
	want := Agreement{
		Partner:  "us-cisa",
		Identity: "identity--0b0a4a57-5e8e-4b3a-8c9d-3a4f1c2d7e10",
		Outgoing: OutgoingTerms{
			Collections: []string{"91a7b528-80eb-42ed-a74d-c6fbd5a26116"}, MaxTLP: stix.TLPAmber,
			Types:         []string{"identity", "marking-definition", "indicator", "infrastructure", "relationship", "course-of-action"},
			MinConfidence: 60, Delay: time.Hour, Domestic: true,
		},
		Incoming: IncomingTerms{
			Collections: []string{"52892447-4d7e-4f70-b94d-d7f22742ff63"}, Trust: 80, MaxAge: 720 * time.Hour,
			Types: []string{"identity", "marking-definition", "indicator", "infrastructure", "relationship"},
		},
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("LoadAgreement (-got, +want):\n%s", d)
	}
	if !got.Pushes("91a7b528-80eb-42ed-a74d-c6fbd5a26116") || got.Pushes("52892447-4d7e-4f70-b94d-d7f22742ff63") {
		t.Error("Pushes")
	}
	if !got.Polls("52892447-4d7e-4f70-b94d-d7f22742ff63") || got.Polls("91a7b528-80eb-42ed-a74d-c6fbd5a26116") {
		t.Error("Polls")
	}
	// Defaults fill what the file leaves out.
	min, err := LoadAgreement([]byte("partner: jp\n"))
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultAgreement()
	def.Partner = "jp"
	if d := cmp.Diff(min, def); d != "" {
		t.Errorf("minimal file (-got, +want):\n%s", d)
	}
}

// TestBadAgreements loads each testdata/bad/*.yaml and checks that the
// error holds every line of the paired .err file.
func TestBadAgreements(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadAgreement(data)
			if err == nil {
				t.Fatal("loaded, want an error")
			}
			for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
				if !strings.Contains(err.Error(), line) {
					t.Errorf("error %q does not say %q", err, line)
				}
			}
		})
	}
}
