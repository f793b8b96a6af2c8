package stix

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// exampleFiles returns the vendored OASIS example bundles.
func exampleFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/examples/*.json")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("testdata/examples/threat-reports/*.json")
	files = append(files, more...)
	if len(files) < 8 {
		t.Fatalf("only %d example files", len(files))
	}
	return files
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestExamplesRoundTrip parses, validates and re-marshals every OASIS
// example: nothing is lost, unknown properties included.
func TestExamplesRoundTrip(t *testing.T) {
	for _, f := range exampleFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var bu Bundle
			if o, err := Parse(b); err == nil && o.Type != "bundle" {
				bu.Type, bu.ID, bu.Objects = "bundle", "bundle--00000000-0000-4000-8000-000000000000", []Object{o}
			} else {
				if err := ValidateBundle(b); err != nil {
					t.Fatalf("ValidateBundle: %v", err)
				}
				if bu, err = ParseBundle(b); err != nil {
					t.Fatalf("ParseBundle: %v", err)
				}
			}
			for _, o := range bu.Objects {
				if err := Validate(o.Raw()); err != nil {
					t.Errorf("Validate(%s): %v", o.ID, err)
				}
				if o.Type == "" || IDType(o.ID) != o.Type {
					t.Errorf("object %s: type %q", o.ID, o.Type)
				}
			}
			var out []byte
			if bu.ID == "bundle--00000000-0000-4000-8000-000000000000" {
				out, err = json.Marshal(bu.Objects[0])
			} else {
				out, err = json.Marshal(bu)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, b, out) {
				t.Errorf("round trip changed the bundle:\n%s", out)
			}
		})
	}
}

// TestUnknownPropertiesKept checks that a custom property and a custom
// object survive parsing and a new version.
func TestUnknownPropertiesKept(t *testing.T) {
	in := []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","pattern":"[ipv4-addr:value = '198.51.100.7']",
		"pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","x_acme_score":{"a":[1,2]}}`)
	o, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(o.Raw()); err != nil {
		t.Fatal(err)
	}
	v, err := o.NewVersion(o.Modified.AddDate(0, 0, 1), map[string]any{"name": "renamed"})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := v.Property("x_acme_score"); !ok || string(p) != `{"a":[1,2]}` {
		t.Errorf("custom property after NewVersion: %s, %v", p, ok)
	}
	custom := []byte(`{"type":"x-acme-widget","spec_version":"2.1","id":"x-acme-widget--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","size":3}`)
	if err := Validate(custom); err != nil {
		t.Errorf("custom SDO: %v", err)
	}
	if err := ValidateOutgoing(custom); err == nil {
		t.Error("ValidateOutgoing accepted a custom object")
	}
}
