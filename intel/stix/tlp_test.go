package stix

import (
	"errors"
	"slices"
	"testing"
)

func TestTLPOrder(t *testing.T) {
	if !slices.IsSorted(TLPs()) || TLPClear >= TLPGreen || TLPAmber >= TLPAmberStrict || TLPAmberStrict >= TLPRed {
		t.Fatal("TLP order is not Clear < Green < Amber < AmberStrict < Red")
	}
	for _, tc := range []struct {
		t, limit TLP
		want     bool
	}{
		{TLPClear, TLPGreen, true}, {TLPGreen, TLPGreen, true}, {TLPAmber, TLPGreen, false},
		{TLPAmberStrict, TLPAmber, false}, {TLPRed, TLPAmberStrict, false}, {TLPRed, TLPRed, true}, {0, TLPRed, false}, {TLPClear, 0, false},
	} {
		if got := tc.t.MayLeave(tc.limit); got != tc.want {
			t.Errorf("%s.MayLeave(%s) = %v", tc.t, tc.limit, got)
		}
	}
}

func TestTLPMarkings(t *testing.T) {
	want := map[TLP]string{ // TLP2.md
		TLPClear:       "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
		TLPGreen:       "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
		TLPAmber:       "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
		TLPAmberStrict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
		TLPRed:         "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
	}
	for _, l := range TLPs() {
		if l.MarkingID() != want[l] {
			t.Errorf("%s id %s, want %s", l, l.MarkingID(), want[l])
		}
		md, err := l.MarkingDefinition()
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidateOutgoing(md.Raw()); err != nil {
			t.Errorf("%s definition: %v", l, err)
		}
		if got, err := TLPOf(md); err != nil || got != TLPClear {
			t.Errorf("TLPOf(%s definition) = %v, %v", l, got, err)
		}
		b, _ := l.MarshalText()
		var back TLP
		if err := back.UnmarshalText(b); err != nil || back != l {
			t.Errorf("text round trip of %s: %s, %v", l, back, err)
		}
	}
	md, _ := TLPAmberStrict.MarkingDefinition()
	if string(md.Raw()) != `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003","created":"2022-10-01T00:00:00.000Z","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber+strict"}},"name":"TLP:AMBER+STRICT"}` {
		t.Errorf("AMBER+STRICT definition: %s", md.Raw())
	}
}

func TestParseTLP(t *testing.T) {
	for in, want := range map[string]TLP{"clear": TLPClear, "TLP:WHITE": TLPClear, "Green": TLPGreen, "tlp:amber": TLPAmber,
		"AMBER+STRICT": TLPAmberStrict, " red ": TLPRed} {
		if got, err := ParseTLP(in); err != nil || got != want {
			t.Errorf("ParseTLP(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "amber strict", "black"} {
		if _, err := ParseTLP(bad); err == nil {
			t.Errorf("ParseTLP(%q) accepted", bad)
		}
	}
}

func TestTLPOf(t *testing.T) {
	for _, tc := range []struct {
		name     string
		markings []string
		granular string
		want     TLP // 0: ErrNoTLP
	}{
		{"2.0 green", []string{TLPGreen.MarkingID()}, "", TLPGreen},
		{"1.0 white", []string{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"}, "", TLPClear},
		{"1.0 green", []string{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"}, "", TLPGreen},
		{"1.0 amber", []string{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"}, "", TLPAmber},
		{"1.0 red", []string{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"}, "", TLPRed},
		{"strict", []string{TLPAmberStrict.MarkingID()}, "", TLPAmberStrict},
		{"highest of two", []string{TLPGreen.MarkingID(), TLPAmber.MarkingID()}, "", TLPAmber},
		{"granular red", []string{TLPGreen.MarkingID()}, TLPRed.MarkingID(), TLPRed},
		{"statement only", []string{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41db"}, "", 0},
		{"none", nil, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := map[string]any{"object_marking_refs": tc.markings}
			if tc.markings == nil {
				ch["object_marking_refs"] = nil
			}
			if tc.granular != "" {
				ch["granular_markings"] = []map[string]any{{"marking_ref": tc.granular, "selectors": []string{"pattern"}}}
			}
			o, err := Parse(obj(t, baseIndicator, ch))
			if err != nil {
				t.Fatal(err)
			}
			got, err := TLPOf(o)
			if tc.want == 0 {
				if !errors.Is(err, ErrNoTLP) {
					t.Fatalf("TLPOf = %v, %v; want ErrNoTLP", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("TLPOf = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
