package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TLP is a Traffic Light Protocol 2.0 level. Levels are ordered from the
// least to the most restrictive: Clear < Green < Amber < AmberStrict <
// Red, so "t may leave under limit" is t <= limit. The zero TLP is no
// level.
type TLP uint8

// TLP 2.0 levels.
const (
	TLPClear TLP = iota + 1
	TLPGreen
	TLPAmber
	TLPAmberStrict
	TLPRed
)

// TLP2Extension is the OASIS extension defining TLP 2.0 markings.
const TLP2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

// tlp2Created is when the OASIS TLP 2.0 marking definitions were created.
var tlp2Created = time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC)

var tlpInfo = [...]struct {
	name, value, id2, id1 string
}{
	TLPClear:       {"TLP:CLEAR", "clear", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"},
	TLPGreen:       {"TLP:GREEN", "green", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"},
	TLPAmber:       {"TLP:AMBER", "amber", "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"},
	TLPAmberStrict: {"TLP:AMBER+STRICT", "amber+strict", "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", ""},
	TLPRed:         {"TLP:RED", "red", "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"},
}

// TLPs returns the levels in order.
func TLPs() []TLP { return []TLP{TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed} }

// Valid reports whether t is one of the five levels.
func (t TLP) Valid() bool { return t >= TLPClear && t <= TLPRed }

// String returns the level's name ("TLP:AMBER+STRICT").
func (t TLP) String() string {
	if !t.Valid() {
		return fmt.Sprintf("TLP(%d)", uint8(t))
	}
	return tlpInfo[t].name
}

// MayLeave reports whether data marked t may go where at most limit may.
func (t TLP) MayLeave(limit TLP) bool { return t.Valid() && limit.Valid() && t <= limit }

// MarkingID returns the id of the level's OASIS TLP 2.0 marking definition.
func (t TLP) MarkingID() string {
	if !t.Valid() {
		return ""
	}
	return tlpInfo[t].id2
}

// MarkingDefinition returns the level's OASIS TLP 2.0 marking definition.
func (t TLP) MarkingDefinition() (Object, error) {
	if !t.Valid() {
		return Object{}, fmt.Errorf("unable to make a marking definition: %w", ErrNoTLP)
	}
	ext, _ := json.Marshal(map[string]string{"extension_type": "property-extension", "tlp_2_0": tlpInfo[t].value})
	return NewObject(&MarkingDefinition{
		Common: Common{Type: TypeMarkingDefinition, SpecVersion: SpecVersion, ID: tlpInfo[t].id2,
			Created: TS(tlp2Created), Extensions: map[string]json.RawMessage{TLP2Extension: ext}},
		Name: tlpInfo[t].name,
	})
}

// ParseTLP reads a level: "clear", "green", "amber", "amber+strict",
// "red", with or without "TLP:", in any case; TLP 1.0's "white" is clear.
func ParseTLP(s string) (TLP, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "tlp:")
	if v == "white" {
		return TLPClear, nil
	}
	for _, t := range TLPs() {
		if tlpInfo[t].value == v {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown TLP %q (clear, green, amber, amber+strict, red)", s)
}

// MarshalText implements encoding.TextMarshaler ("amber+strict").
func (t TLP) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, ErrNoTLP
	}
	return []byte(tlpInfo[t].value), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseTLP.
func (t *TLP) UnmarshalText(b []byte) error {
	v, err := ParseTLP(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// TLP errors.
var (
	ErrNoTLP = errors.New("stix: no TLP marking")
)

// TLPOfMarking maps the id of a TLP marking definition, 2.0 or 1.0
// (WHITE is CLEAR), to its level.
func TLPOfMarking(id string) (TLP, bool) {
	for _, t := range TLPs() {
		if id == tlpInfo[t].id2 || (id == tlpInfo[t].id1 && id != "") {
			return t, true
		}
	}
	return 0, false
}

// TLPOf returns the TLP level of an object: the most restrictive TLP
// marking among its object markings and granular markings (a part
// marked RED makes the object RED as far as sharing goes). An object
// without TLP marking returns ErrNoTLP. The TLP marking definitions
// themselves are TLP:CLEAR.
func TLPOf(o Object) (TLP, error) {
	if t, ok := TLPOfMarking(o.ID); ok && o.Type == TypeMarkingDefinition && t.Valid() {
		return TLPClear, nil
	}
	var level TLP
	for _, id := range o.ObjectMarkingRefs {
		if t, ok := TLPOfMarking(id); ok {
			level = max(level, t)
		}
	}
	for _, g := range o.GranularMarkings {
		if t, ok := TLPOfMarking(g.MarkingRef); ok {
			level = max(level, t)
		}
	}
	if level == 0 {
		return 0, fmt.Errorf("%s: %w", o.ID, ErrNoTLP)
	}
	return level, nil
}
