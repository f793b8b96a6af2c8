package stix

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// obj builds a JSON object from base with changes applied (nil deletes).
func obj(t testing.TB, base map[string]any, changes map[string]any) []byte {
	t.Helper()
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	testIdentity  = "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"
	baseIndicator = map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"created": "2026-01-02T03:04:05.000Z", "modified": "2026-01-02T03:04:05.000Z",
		"created_by_ref": testIdentity, "indicator_types": []string{"malicious-activity"},
		"pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-01-02T03:04:05.000Z",
		"object_marking_refs": []string{TLPAmber.MarkingID()},
	}
	baseRelationship = map[string]any{
		"type": "relationship", "spec_version": "2.1", "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
		"created": "2026-01-02T03:04:05.000Z", "modified": "2026-01-02T03:04:05.000Z", "created_by_ref": testIdentity,
		"relationship_type": "indicates", "source_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"target_ref": "infrastructure--38c47d93-d984-4fd9-b87b-d69d0841628d", "object_marking_refs": []string{TLPGreen.MarkingID()},
	}
	baseSighting = map[string]any{
		"type": "sighting", "spec_version": "2.1", "id": "sighting--ee20065d-2555-424f-ad9e-0f8428623c75",
		"created": "2026-01-02T03:04:05.000Z", "modified": "2026-01-02T03:04:05.000Z", "created_by_ref": testIdentity,
		"sighting_of_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "where_sighted_refs": []string{testIdentity},
		"observed_data_refs": []string{"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"}, "count": 3,
		"first_seen": "2026-01-01T00:00:00.000Z", "last_seen": "2026-01-02T00:00:00.000Z",
		"object_marking_refs": []string{TLPClear.MarkingID()},
	}
	baseObserved = map[string]any{
		"type": "observed-data", "spec_version": "2.1", "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
		"created": "2026-01-02T03:04:05.000Z", "modified": "2026-01-02T03:04:05.000Z", "created_by_ref": testIdentity,
		"first_observed": "2026-01-01T00:00:00Z", "last_observed": "2026-01-01T00:00:00Z", "number_observed": 1,
		"object_refs":         []string{"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
		"object_marking_refs": []string{TLPClear.MarkingID()},
	}
)

func TestValidateBroken(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  []byte
		rule string // "" valid
		msg  string // part of the message
	}{
		{"indicator ok", obj(t, baseIndicator, nil), "", ""},
		{"relationship ok", obj(t, baseRelationship, nil), "", ""},
		{"sighting ok", obj(t, baseSighting, nil), "", ""},
		{"observed-data ok", obj(t, baseObserved, nil), "", ""},
		{"not json", []byte(`{"type":`), "json", ""},
		{"array", []byte(`[1]`), "json", "not a JSON object"},
		{"id prefix", obj(t, baseIndicator, map[string]any{"id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}), "id", "does not start with its type"},
		{"id not uuid", obj(t, baseIndicator, map[string]any{"id": "indicator--8e2e2d2b-17d4-4cbf-938f"}), "id", "not an RFC 4122 UUID"},
		{"id bad variant", obj(t, baseIndicator, map[string]any{"id": "indicator--8e2e2d2b-17d4-4cbf-138f-98ee46b3cd3f"}), "id", "not an RFC 4122"},
		{"no type", obj(t, baseIndicator, map[string]any{"type": nil}), "id", ""},
		{"missing pattern", obj(t, baseIndicator, map[string]any{"pattern": nil}), "schema", "pattern"},
		{"missing valid_from", obj(t, baseIndicator, map[string]any{"valid_from": nil}), "schema", "valid_from"},
		{"missing created", obj(t, baseIndicator, map[string]any{"created": nil}), "schema", "created"},
		{"bad spec_version", obj(t, baseIndicator, map[string]any{"spec_version": "3.0"}), "schema", "spec_version"},
		{"created without millis", obj(t, baseIndicator, map[string]any{"created": "2026-01-02T03:04:05Z"}), "schema", "created"},
		{"timestamp with offset", obj(t, baseIndicator, map[string]any{"valid_from": "2026-01-02T03:04:05+09:00"}), "schema", "valid_from"},
		{"confidence 101", obj(t, baseIndicator, map[string]any{"confidence": 101}), "schema", "confidence"},
		{"confidence string", obj(t, baseIndicator, map[string]any{"confidence": "high"}), "schema", "confidence"},
		{"empty labels", obj(t, baseIndicator, map[string]any{"labels": []string{}}), "schema", "labels"},
		{"bad marking ref", obj(t, baseIndicator, map[string]any{"object_marking_refs": []string{"not-an-id"}}), "schema", "object_marking_refs"},
		{"modified before created", obj(t, baseIndicator, map[string]any{"modified": "2026-01-01T03:04:05.000Z"}), "modified", "before created"},
		{"valid_until before valid_from", obj(t, baseIndicator, map[string]any{"valid_until": "2025-01-01T00:00:00Z"}), "valid_until", ""},
		{"valid_until equal valid_from", obj(t, baseIndicator, map[string]any{"valid_until": "2026-01-02T03:04:05.000Z"}), "valid_until", "not after"},
		{"pattern syntax", obj(t, baseIndicator, map[string]any{"pattern": "[ipv4-addr:value = '198.51.100.7'"}), "pattern", "offset 33"},
		{"pattern other type not parsed", obj(t, baseIndicator, map[string]any{"pattern_type": "snort", "pattern": "alert tcp any any"}), "", ""},
		{"created_by_ref not identity", obj(t, baseIndicator, map[string]any{"created_by_ref": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}), "created_by_ref", "not an identity"},
		{"marking ref not marking", obj(t, baseIndicator, map[string]any{"object_marking_refs": []string{testIdentity}}), "object_marking_refs", "not a marking-definition"},
		{"granular marking ref", obj(t, baseIndicator, map[string]any{"granular_markings": []map[string]any{{"marking_ref": testIdentity, "selectors": []string{"pattern"}}}}), "schema", "marking_ref"},
		{"relationship to SCO indicates", obj(t, baseRelationship, map[string]any{"target_ref": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"}), "target_ref", "to an SCO"},
		{"relationship from SCO", obj(t, baseRelationship, map[string]any{"source_ref": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"}), "source_ref", "from an SCO"},
		{"relationship communicates-with SCO", obj(t, baseRelationship, map[string]any{"relationship_type": "communicates-with", "target_ref": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"}), "", ""},
		{"relationship to sighting", obj(t, baseRelationship, map[string]any{"target_ref": "sighting--ee20065d-2555-424f-ad9e-0f8428623c75"}), "schema", "target_ref"},
		{"relationship stop before start", obj(t, baseRelationship, map[string]any{"start_time": "2026-01-02T00:00:00Z", "stop_time": "2026-01-01T00:00:00Z"}), "stop_time", ""},
		{"relationship missing target", obj(t, baseRelationship, map[string]any{"target_ref": nil}), "schema", "target_ref"},
		{"sighting of SCO", obj(t, baseSighting, map[string]any{"sighting_of_ref": "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"}), "sighting_of_ref", "not an SDO"},
		{"sighting of relationship", obj(t, baseSighting, map[string]any{"sighting_of_ref": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"}), "schema", "sighting_of_ref"},
		{"where sighted indicator", obj(t, baseSighting, map[string]any{"where_sighted_refs": []string{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}}), "schema", "where_sighted_refs"},
		{"where sighted location", obj(t, baseSighting, map[string]any{"where_sighted_refs": []string{"location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64"}}), "", ""},
		{"observed data refs", obj(t, baseSighting, map[string]any{"observed_data_refs": []string{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}}), "schema", "observed_data_refs"},
		{"sighting last before first", obj(t, baseSighting, map[string]any{"last_seen": "2025-01-01T00:00:00Z"}), "last_seen", ""},
		{"observed-data refs SDO", obj(t, baseObserved, map[string]any{"object_refs": []string{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}}), "schema", "object_refs"},
		{"observed-data number 0", obj(t, baseObserved, map[string]any{"number_observed": 0}), "schema", "number_observed"},
		{"ipv4-addr ok", []byte(`{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`), "", ""},
		{"ipv4-addr no value", []byte(`{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"}`), "schema", "value"},
		{"network-traffic no protocols", []byte(`{"type":"network-traffic","id":"network-traffic--28bb3599-77cd-5a82-a950-b5bc3caf07c4","dst_port":443}`), "schema", "protocols"},
		{"network-traffic port range", []byte(`{"type":"network-traffic","id":"network-traffic--28bb3599-77cd-5a82-a950-b5bc3caf07c4","protocols":["tcp"],"dst_ref":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","dst_port":70000}`), "schema", "dst_port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.obj)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a ValidationError of rule %s", err, tc.rule)
			}
			if ve.Rule != tc.rule || !strings.Contains(ve.Msg, tc.msg) {
				t.Errorf("Validate = %v, want rule %q and %q in the message", err, tc.rule, tc.msg)
			}
		})
	}
}

func TestValidateOutgoing(t *testing.T) {
	md, err := TLPRed.MarkingDefinition()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		obj  []byte
		msg  string // "" valid
	}{
		{"ok", obj(t, baseIndicator, nil), ""},
		{"no creator", obj(t, baseIndicator, map[string]any{"created_by_ref": nil}), "created_by_ref"},
		{"no marking", obj(t, baseIndicator, map[string]any{"object_marking_refs": nil}), "0 TLP markings"},
		{"statement only", obj(t, baseIndicator, map[string]any{"object_marking_refs": []string{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41db"}}), "0 TLP markings"},
		{"two TLP", obj(t, baseIndicator, map[string]any{"object_marking_refs": []string{TLPGreen.MarkingID(), TLPRed.MarkingID()}}), "2 TLP markings"},
		{"TLP plus statement", obj(t, baseIndicator, map[string]any{"object_marking_refs": []string{TLPGreen.MarkingID(), "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41db"}}), ""},
		{"TLP 1.0", obj(t, baseIndicator, map[string]any{"object_marking_refs": []string{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"}}), "TLP 1.0"},
		{"granular TLP", obj(t, baseIndicator, map[string]any{"granular_markings": []map[string]any{{"marking_ref": TLPRed.MarkingID(), "selectors": []string{"pattern"}}}}), "granular"},
		{"invalid anyway", obj(t, baseIndicator, map[string]any{"pattern": "[oops"}), "pattern"},
		{"TLP marking definition", md.Raw(), ""},
		{"other marking definition", []byte(`{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41db","created":"2026-01-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"x"}}`), "OASIS TLP 2.0"},
		{"SCO with TLP", []byte(`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3","object_marking_refs":["` + TLPClear.MarkingID() + `"]}`), ""},
		{"SCO without TLP", []byte(`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`), "0 TLP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateOutgoing(tc.obj)
			switch {
			case tc.msg == "" && err != nil:
				t.Fatalf("ValidateOutgoing: %v", err)
			case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
				t.Fatalf("ValidateOutgoing = %v, want %q", err, tc.msg)
			}
		})
	}
}

func TestValidateBundleErrors(t *testing.T) {
	good := obj(t, baseIndicator, nil)
	bad := obj(t, baseIndicator, map[string]any{"modified": "2020-01-01T00:00:00.000Z"})
	mk := func(id string, objs ...[]byte) []byte {
		raw := make([]json.RawMessage, len(objs))
		for i, o := range objs {
			raw[i] = o
		}
		b, _ := json.Marshal(map[string]any{"type": "bundle", "id": id, "objects": raw})
		return b
	}
	id := "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"
	if err := ValidateBundle(mk(id, good, good)); err != nil {
		t.Fatalf("good bundle: %v", err)
	}
	if err := ValidateBundle(mk(id, good, bad)); err == nil || !strings.Contains(err.Error(), "object 1") {
		t.Errorf("bad object: %v", err)
	}
	if err := ValidateBundle(mk("bundle--nope", good)); err == nil {
		t.Error("bad bundle id accepted")
	}
	if err := ValidateBundle([]byte(`{"type":"indicator"}`)); err == nil {
		t.Error("non-bundle accepted")
	}
}

func FuzzValidate(f *testing.F) {
	for _, file := range exampleFiles(f) {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		bu, err := ParseBundle(b)
		if err != nil {
			f.Add(b)
			continue
		}
		for i, o := range bu.Objects {
			if i < 20 {
				f.Add([]byte(o.Raw()))
			}
		}
	}
	f.Add(obj(f, baseSighting, nil))
	f.Add(obj(f, baseRelationship, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Validate(b)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate error %v is not a ValidationError", err)
			}
			return
		}
		// A valid object parses and its TLP can be asked for.
		o, err := Parse(b)
		if err != nil {
			t.Fatalf("valid object does not Parse: %v", err)
		}
		_, _ = TLPOf(o)
		_ = ValidateOutgoing(b)
	})
}

// BenchmarkValidate measures validation of typical incoming objects.
func BenchmarkValidate(b *testing.B) {
	objs := [][]byte{obj(b, baseIndicator, nil), obj(b, baseRelationship, nil), obj(b, baseSighting, nil), obj(b, baseObserved, nil)}
	if err := Validate(objs[0]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := Validate(objs[n%len(objs)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "objects/s")
}
