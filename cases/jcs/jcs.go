// Package jcs implements the JSON Canonicalization Scheme of RFC 8785:
// the one byte string that stands for a JSON value, so that a signature
// over it verifies whatever produced the JSON.
//
// The canonical form has no insignificant whitespace; object members are
// sorted by their names compared as arrays of UTF-16 code units; strings
// escape only '"', '\\' and the control characters below U+0020 (as \b,
// \t, \n, \f, \r or lowercase \u00xx) and are otherwise written as UTF-8;
// numbers are IEEE 754 doubles written as ECMAScript's Number.prototype
// .toString writes them (shortest round-trip digits, exponent form below
// 1e-6 and from 1e21 on, "-0" written "0"). Input that has no canonical
// form is refused: invalid UTF-8, lone surrogates, duplicate member
// names, numbers that overflow a double, NaN and infinities.
package jcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonicalize parses one JSON text and returns its canonical form.
func Canonicalize(data []byte) ([]byte, error) {
	v, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return Append(nil, v)
}

// Marshal encodes v with encoding/json and canonicalizes the result. Go
// values that encode numbers beyond 2^53 lose precision, as they would
// in any I-JSON consumer: keep such values in strings.
func Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("unable to encode JSON: %w", err)
	}
	return Canonicalize(b)
}

// Append appends the canonical form of v to dst. v is a value as Parse
// returns it: nil, bool, float64, string, []any or map[string]any (json.Number,
// int and int64 are accepted too).
func Append(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case float64:
		return AppendNumber(dst, x)
	case int:
		return AppendNumber(dst, float64(x))
	case int64:
		return AppendNumber(dst, float64(x))
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s has no IEEE 754 double value", x)
		}
		return AppendNumber(dst, f)
	case string:
		return AppendString(dst, x)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = Append(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		return appendObject(dst, x)
	default:
		return nil, fmt.Errorf("value of type %T has no JSON form", v)
	}
}

func appendObject(dst []byte, m map[string]any) ([]byte, error) {
	type member struct {
		name  string
		units []uint16
	}
	ms := make([]member, 0, len(m))
	for k := range m {
		if !utf8.ValidString(k) {
			return nil, fmt.Errorf("member name %q is not valid UTF-8", k)
		}
		ms = append(ms, member{k, utf16.Encode([]rune(k))})
	}
	slices.SortFunc(ms, func(a, b member) int { return slices.Compare(a.units, b.units) })
	dst = append(dst, '{')
	for i, mb := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = AppendString(dst, mb.name); err != nil {
			return nil, err
		}
		dst = append(dst, ':')
		if dst, err = Append(dst, m[mb.name]); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// ErrNumber is returned for NaN and infinities, which JSON cannot hold.
var ErrNumber = errors.New("jcs: NaN and infinity have no JSON form")

// AppendNumber appends f as ECMAScript writes it (RFC 8785 section 3.2.2.3).
func AppendNumber(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, ErrNumber
	}
	if f == 0 {
		return append(dst, '0'), nil // also -0
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-trip digits d1d2...dk and exponent: f = 0.d1...dk × 10^n.
	e := strconv.FormatFloat(f, 'e', -1, 64) // "d.ddde±xx"
	mant, exp, _ := bytes.Cut([]byte(e), []byte{'e'})
	digits := bytes.Replace(mant, []byte{'.'}, nil, 1)
	x, _ := strconv.Atoi(string(exp))
	k, n := len(digits), x+1
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, "0."...)
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst, nil
}

// AppendString appends s as a canonical JSON string (RFC 8785 section
// 3.2.2.2). s must be valid UTF-8.
func AppendString(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("string %q is not valid UTF-8", s)
	}
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"'), nil
}
