package jcs

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of arrays and objects Parse accepts.
const MaxDepth = 512

// Parse reads exactly one JSON value (RFC 8259), surrounded by optional
// whitespace, into nil, bool, float64, string, []any and map[string]any.
// It is stricter than encoding/json where canonical form needs it: it
// refuses invalid UTF-8, escaped lone surrogates, duplicate member names,
// numbers outside the range of a double, and nesting beyond MaxDepth.
func Parse(data []byte) (any, error) {
	p := parser{data: data}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.data) {
		return nil, p.errorf("unexpected %q after the value", p.data[p.i])
	}
	return v, nil
}

type parser struct {
	data []byte
	i    int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("jcs: invalid JSON at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *parser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, error) {
	if p.i >= len(p.data) {
		return nil, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		for _, lit := range []struct {
			s string
			v any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if len(p.data)-p.i >= len(lit.s) && string(p.data[p.i:p.i+len(lit.s)]) == lit.s {
				p.i += len(lit.s)
				return lit.v, nil
			}
		}
		return nil, p.errorf("unexpected %q", c)
	}
}

func (p *parser) object(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, p.errorf("nesting deeper than %d", MaxDepth)
	}
	p.i++ // {
	m := map[string]any{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return m, nil
	}
	for {
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, p.errorf("expected a member name")
		}
		at := p.i
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			p.i = at
			return nil, p.errorf("duplicate member name %q", k)
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, p.errorf("expected ':' after member name %q", k)
		}
		p.i++
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
		p.space()
		if p.i >= len(p.data) {
			return nil, p.errorf("unterminated object")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return m, nil
		default:
			return nil, p.errorf("expected ',' or '}' in object, found %q", p.data[p.i])
		}
	}
}

func (p *parser) array(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, p.errorf("nesting deeper than %d", MaxDepth)
	}
	p.i++ // [
	a := []any{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return a, nil
	}
	for {
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.space()
		if p.i >= len(p.data) {
			return nil, p.errorf("unterminated array")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return a, nil
		default:
			return nil, p.errorf("expected ',' or ']' in array, found %q", p.data[p.i])
		}
	}
}

func (p *parser) number() (any, error) {
	start := p.i
	if p.data[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.data) && p.data[p.i] == '0':
		p.i++
	case p.i < len(p.data) && p.data[p.i] >= '1' && p.data[p.i] <= '9':
		p.digits()
	default:
		return nil, p.errorf("invalid number")
	}
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return nil, p.errorf("invalid number: no digit after '.'")
		}
	}
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return nil, p.errorf("invalid number: no digit in the exponent")
		}
	}
	text := string(p.data[start:p.i])
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		p.i = start
		return nil, p.errorf("number %s is outside the range of a double", text)
	}
	return f, nil
}

func (p *parser) digits() int {
	n := 0
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

func (p *parser) str() (string, error) {
	p.i++ // "
	var b []byte
	for {
		if p.i >= len(p.data) {
			return "", p.errorf("unterminated string")
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c == '\\':
			var err error
			if b, err = p.escape(b); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", p.errorf("control character %#02x in string", c)
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			if r == utf8.RuneError && size <= 1 {
				return "", p.errorf("invalid UTF-8 in string")
			}
			b = append(b, p.data[p.i:p.i+size]...)
			p.i += size
		}
	}
}

// escape decodes the escape sequence at p.i (a backslash) onto b.
func (p *parser) escape(b []byte) ([]byte, error) {
	if p.i+1 >= len(p.data) {
		return nil, p.errorf("unterminated escape")
	}
	switch c := p.data[p.i+1]; c {
	case '"', '\\', '/':
		p.i += 2
		return append(b, c), nil
	case 'b', 'f', 'n', 'r', 't':
		p.i += 2
		return append(b, "\b\f\n\r\t"[strings.IndexByte("bfnrt", c)]), nil
	case 'u':
	default:
		return nil, p.errorf("invalid escape \\%c", c)
	}
	r, err := p.hex4()
	if err != nil {
		return nil, err
	}
	if utf16.IsSurrogate(r) {
		if r >= 0xdc00 || p.i+1 >= len(p.data) || p.data[p.i] != '\\' || p.data[p.i+1] != 'u' {
			return nil, p.errorf("lone surrogate \\u%04x", r)
		}
		r2, err := p.hex4()
		if err != nil {
			return nil, err
		}
		if r2 < 0xdc00 || r2 > 0xdfff {
			return nil, p.errorf("lone surrogate \\u%04x", r)
		}
		r = utf16.DecodeRune(r, r2)
	}
	return utf8.AppendRune(b, r), nil
}

// hex4 reads "\uXXXX" at p.i.
func (p *parser) hex4() (rune, error) {
	if p.i+6 > len(p.data) {
		return 0, p.errorf("truncated \\u escape")
	}
	v, err := strconv.ParseUint(string(p.data[p.i+2:p.i+6]), 16, 16)
	if err != nil {
		return 0, p.errorf("invalid \\u escape %q", p.data[p.i:p.i+6])
	}
	p.i += 6
	return rune(v), nil
}
