package jcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestNumbersRFC8785 checks the IEEE 754 samples of RFC 8785 appendix B.
func TestNumbersRFC8785(t *testing.T) {
	for _, tc := range []struct{ bits, want string }{
		{"0000000000000000", "0"},
		{"8000000000000000", "0"},
		{"0000000000000001", "5e-324"},
		{"8000000000000001", "-5e-324"},
		{"7fefffffffffffff", "1.7976931348623157e+308"},
		{"ffefffffffffffff", "-1.7976931348623157e+308"},
		{"4340000000000000", "9007199254740992"},
		{"c340000000000000", "-9007199254740992"},
		{"4430000000000000", "295147905179352830000"},
		{"44b52d02c7e14af5", "9.999999999999997e+22"},
		{"44b52d02c7e14af6", "1e+23"},
		{"44b52d02c7e14af7", "1.0000000000000001e+23"},
		{"444b1ae4d6e2ef4e", "999999999999999700000"},
		{"444b1ae4d6e2ef4f", "999999999999999900000"},
		{"444b1ae4d6e2ef50", "1e+21"},
		{"3eb0c6f7a0b5ed8c", "9.999999999999997e-7"},
		{"3eb0c6f7a0b5ed8d", "0.000001"},
		{"41b3de4355555553", "333333333.3333332"},
		{"41b3de4355555554", "333333333.33333325"},
		{"41b3de4355555555", "333333333.3333333"},
		{"41b3de4355555556", "333333333.3333334"},
		{"41b3de4355555557", "333333333.33333343"},
		{"becbf647612f3696", "-0.0000033333333333333333"},
		{"43143ff3c1cb0959", "1424953923781206.2"},
		// Not in the RFC: the boundaries of the plain notation.
		{strconv.FormatUint(math.Float64bits(1e-7), 16), "1e-7"},
		{strconv.FormatUint(math.Float64bits(123e18), 16), "123000000000000000000"},
		{strconv.FormatUint(math.Float64bits(1.5), 16), "1.5"},
	} {
		u, err := strconv.ParseUint(tc.bits, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		f := math.Float64frombits(u)
		got, err := AppendNumber(nil, f)
		if err != nil {
			t.Errorf("%s: %v", tc.bits, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%s (%g): got %s, want %s", tc.bits, f, got, tc.want)
		}
	}
	for _, bits := range []uint64{0x7fffffffffffffff, 0x7ff0000000000000, 0xfff0000000000000} {
		if _, err := AppendNumber(nil, math.Float64frombits(bits)); !errors.Is(err, ErrNumber) {
			t.Errorf("%016x: got %v, want ErrNumber", bits, err)
		}
	}
}

// TestCanonicalizeRFC8785 checks the examples of RFC 8785 sections 3.2.2
// to 3.2.4 and the sorting sample of its reference implementation.
func TestCanonicalizeRFC8785(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{
			"3.2.2 primitives",
			`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
			  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
			  "literals": [null, true, false]}`,
			`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			"3.2.3 sorting",
			`{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
			  "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
			  "\u00f6": "Latin Small Letter O With Diaeresis"}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\"," +
				"\"\u20ac\":\"Euro Sign\",\"\U0001f600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{
			"weird names",
			`{"\u20ac": "Euro Sign", "1": "One", "\u0080": "Control\u007f", "\ud83d\ude02": "Smiley",
			  "\u00f6": "Latin Small Letter O With Diaeresis", "\ufb33": "Hebrew Letter Dalet With Dagesh",
			  "</script>": "Browser Challenge"}`,
			"{\"1\":\"One\",\"</script>\":\"Browser Challenge\",\"\u0080\":\"Control\u007f\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\"," +
				"\"\u20ac\":\"Euro Sign\",\"\U0001f602\":\"Smiley\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{"nested", ` { "b" : [ {"z":1,"a":2}, [] , {} ], "a" : "\u2028" } `, "{\"a\":\"\u2028\",\"b\":[{\"a\":2,\"z\":1},[],{}]}"},
		{"scalar", ` -0.0 `, `0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestUTF8Hex checks the byte-level output of RFC 8785 section 3.2.4.
func TestUTF8Hex(t *testing.T) {
	got, err := Canonicalize([]byte(`{"numbers":[1E30,4.50,6,2e-3,0.000000000000000000000000001],` +
		`"escaping":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","other":[null,true,false]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := "7b226573636170696e67223a22e282ac245c75303030665c6e41274" +
		"25c225c5c5c5c5c222f222c226e756d62657273223a5b31652b33302c342e352c362c302e" +
		"3030322c31652d32375d2c226f74686572223a5b6e756c6c2c747275652c66616c73655d7d"
	if h := hexString(got); h != want {
		t.Errorf("got  %s\nwant %s", h, want)
	}
}

func hexString(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteString(strconv.FormatUint(uint64(c)|0x100, 16)[1:])
	}
	return sb.String()
}

func TestCanonicalizeRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"duplicate", `{"a":1,"a":2}`, `duplicate member name "a"`},
		{"lone high surrogate", `"\ud83d"`, "lone surrogate"},
		{"lone low surrogate", `"\ude00x"`, "lone surrogate"},
		{"high then non-low", `"\ud83d\u0041"`, "lone surrogate"},
		{"invalid utf-8", "\"\xff\"", "invalid UTF-8"},
		{"overflow", `1e400`, "outside the range"},
		{"trailing", `{} x`, "after the value"},
		{"trailing comma", `[1,]`, "unexpected"},
		{"leading zero", `01`, "after the value"},
		{"bare dot", `1.`, "no digit after"},
		{"control", "\"a\tb\"", "control character"},
		{"bad escape", `"\x"`, "invalid escape"},
		{"empty", ``, "end of input"},
		{"unterminated", `{"a":1`, "unterminated object"},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "nesting deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Canonicalize([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	type inner struct {
		Z int     `json:"z"`
		A float64 `json:"a"`
	}
	got, err := Marshal(map[string]any{"s": "<&>", "in": inner{Z: 3, A: 1e21}, "n": json.Number("1.50")})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"in":{"a":1e+21,"z":3},"n":1.5,"s":"<&>"}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if _, err := Marshal(math.NaN()); err == nil {
		t.Error("NaN: no error")
	}
}

// FuzzCanonicalize checks that whatever Canonicalize accepts, it writes
// as JSON that encoding/json reads back to the same value, and that the
// canonical form is its own canonical form.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		`{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001]}`,
		`{"\u20ac":1,"\r":2,"\ufb33":3,"1":4,"\ud83d\ude00":5,"\u0080":6,"\u00f6":7}`,
		`[null,true,false,"a\"b\\c\/\b\f\n\r\t\u0001\u001f\u007f\u2028"]`,
		`{"a":{"b":[1,-0,5e-324,1.7976931348623157e308,-1e-7,123456789012345678901234]}}`,
		`"\ud83d\ude00"`, `0`, `{"a":1,"a":2}`, `[1,]`, `1e999`, "\"\xed\xa0\x80\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			return
		}
		again, err := Canonicalize(out)
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", out, err)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("not idempotent:\n%q\n%q", out, again)
		}
		var v1, v2 any
		if err := json.Unmarshal(in, &v1); err != nil {
			t.Fatalf("accepted %q which encoding/json refuses: %v", in, err)
		}
		if err := json.Unmarshal(out, &v2); err != nil {
			t.Fatalf("encoding/json refuses the canonical form %q: %v", out, err)
		}
		if !reflect.DeepEqual(v1, v2) {
			t.Fatalf("value changed:\nin  %q -> %#v\nout %q -> %#v", in, v1, out, v2)
		}
	})
}
