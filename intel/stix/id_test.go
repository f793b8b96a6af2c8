package stix

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestSCOIDs checks deterministic SCO ids. The expected UUIDs were
// computed independently with Python's uuid.uuid5(UUID(SCONamespace),
// canonical JSON) — the spec's own examples use illustrative ids.
func TestSCOIDs(t *testing.T) {
	port := 443
	nt := &NetworkTraffic{SrcRef: "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", DstPort: &port, Protocols: []string{"tcp"}}
	ntID, err := nt.DeterministicID()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ got, want string }{
		{AddrID(netip.MustParsePrefix("198.51.100.3/32")), "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
		{AddrID(netip.MustParsePrefix("::ffff:198.51.100.3/128")), "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
		{DomainNameID("example.com"), "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"},
		{ntID, "network-traffic--" + uuidV5(SCONamespace, []byte(`{"dst_port":443,"protocols":["tcp"],"src_ref":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"}`))},
		// RFC 9562 appendix A.4: UUIDv5 of www.example.com in the DNS namespace.
		{uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", []byte("www.example.com")), "2ed6657d-e927-568b-95e1-2665a8aea6a2"},
		{ACDNamespace, uuidV5("6ba7b811-9dad-11d1-80b4-00c04fd430c8", []byte("https://github.com/acd-org/acd/intel/stix"))},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
	if _, err := (&NetworkTraffic{Common: Common{Extensions: map[string]json.RawMessage{"x-ext": []byte("{}")}}}).DeterministicID(); err == nil {
		t.Error("network-traffic id with extensions: no error")
	}
}

func TestCanonicalJSON(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"value": "198.51.100.3"}, `{"value":"198.51.100.3"}`},
		{map[string]any{"b": 1, "a": []any{"x", true, nil}, "c": map[string]any{"z": "<&>", "y": "\u2028\n\"\\\x01"}},
			`{"a":["x",true,null],"b":1,"c":{"y":"` + "\u2028" + `\n\"\\\u0001","z":"<&>"}}`},
		// RFC 8785 sorts by UTF-16 code units: U+1F600 (D83D…) sorts before U+FB33.
		{map[string]any{"\ufb33": 1, "\U0001f600": 2}, `{"` + "\U0001f600" + `":2,"` + "\ufb33" + `":1}`},
	} {
		var b strings.Builder
		if err := canonical(&b, tc.in); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("canonical = %s, want %s", b.String(), tc.want)
		}
	}
	if _, err := SCOID("x", map[string]any{"f": 1.5}); err == nil {
		t.Error("float accepted")
	}
}

func TestACDIDs(t *testing.T) {
	a := ACDID(TypeIndicator, testIdentity, "198.51.100.7")
	if a != ACDID(TypeIndicator, testIdentity, "198.51.100.7") || a == ACDID(TypeIndicator, "identity--other", "198.51.100.7") {
		t.Error("ACDID not deterministic per creator and name")
	}
	if err := checkID(a, TypeIndicator); err != nil {
		t.Error(err)
	}
	r := RandomID("bundle")
	if err := checkID(r, "bundle"); err != nil || r == RandomID("bundle") {
		t.Errorf("RandomID %s: %v", r, err)
	}
}

func TestVersioning(t *testing.T) {
	o, err := Parse(obj(t, baseIndicator, nil))
	if err != nil {
		t.Fatal(err)
	}
	t1 := o.Modified.Add(time.Hour)
	v2, err := o.NewVersion(t1, map[string]any{"confidence": 90, "labels": nil})
	if err != nil {
		t.Fatal(err)
	}
	if v2.ID != o.ID || !v2.Created.Equal(o.Created.Time) || !v2.Modified.Equal(t1) || *v2.Confidence != 90 {
		t.Errorf("new version: %+v", v2.Common)
	}
	if err := Validate(v2.Raw()); err != nil {
		t.Errorf("new version invalid: %v", err)
	}
	for name, f := range map[string]func() error{
		"same modified": func() error { _, err := v2.NewVersion(t1, nil); return err },
		"older":         func() error { _, err := v2.NewVersion(t1.Add(-time.Second), nil); return err },
		"change id":     func() error { _, err := v2.NewVersion(t1.Add(time.Second), map[string]any{"id": "x"}); return err },
		"change created": func() error {
			_, err := v2.NewVersion(t1.Add(time.Second), map[string]any{"created": "2020-01-01T00:00:00.000Z"})
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	rev, err := v2.Revoke(t1.Add(time.Minute))
	if err != nil || !rev.Revoked {
		t.Fatalf("Revoke: %v, %v", rev.Revoked, err)
	}
	if err := ValidateOutgoing(rev.Raw()); err != nil {
		t.Errorf("revoked version invalid: %v", err)
	}
	if _, err := rev.NewVersion(t1.Add(time.Hour), nil); err == nil {
		t.Error("versioned a revoked object")
	}
	sco, _ := Parse([]byte(`{"type":"ipv4-addr","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`))
	if _, err := sco.NewVersion(t1, nil); err == nil {
		t.Error("versioned an SCO")
	}
}
