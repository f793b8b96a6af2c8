package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is a syntax or semantic error at byte offset Pos of the pattern.
type Error struct {
	Pos int
	Msg string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("invalid pattern at offset %d: %s", e.Pos, e.Msg) }

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tKeyword
	tPunct
	tLiteral
)

// token is one lexeme. For tIdent, hyphen says whether the identifier
// holds a hyphen (allowed in object types only). For tLiteral, lit is the
// decoded value.
type token struct {
	kind   tokKind
	text   string
	pos    int
	hyphen bool
	lit    Literal
}

var puncts = []string{"==", "!=", "<>", "<=", ">=", "=", "<", ">", "[", "]", "(", ")", ":", ".", ",", "*"}

var keywords = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "FOLLOWEDBY": true, "LIKE": true, "MATCHES": true,
	"ISSUPERSET": true, "ISSUBSET": true, "EXISTS": true, "LAST": true, "IN": true, "START": true,
	"STOP": true, "SECONDS": true, "true": true, "false": true, "WITHIN": true, "REPEATS": true, "TIMES": true,
}

// lex splits the pattern into tokens.
func lex(s string) ([]token, error) {
	toks := make([]token, 0, len(s)/4+1)
	for i := 0; ; {
		i = skipSpace(s, i)
		if i < 0 {
			return nil, &Error{Pos: -i - 1, Msg: "unterminated comment"}
		}
		if i >= len(s) {
			return append(toks, token{kind: tEOF, pos: i}), nil
		}
		t, n, err := lexOne(s, i)
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		i = n
	}
}

// skipSpace skips white space and comments from i; it returns -(start+1)
// for an unterminated comment starting at start.
func skipSpace(s string, i int) int {
	for i < len(s) {
		switch {
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return -i - 1
			}
			i += end + 4
		case strings.HasPrefix(s[i:], "//"):
			end := strings.IndexAny(s[i:], "\r\n")
			if end < 0 {
				return len(s)
			}
			i += end
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if !isSpace(r) {
				return i
			}
			i += n
		}
	}
	return i
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\r', '\n', '\v', '\f', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

// lexOne reads the token at i and returns it with the offset after it.
func lexOne(s string, i int) (token, int, error) {
	c := s[i]
	switch {
	case c == '\'':
		str, n, err := lexString(s, i)
		return token{kind: tLiteral, pos: i, lit: Literal{Kind: KindString, Str: str}}, n, err
	case (c == 'h' || c == 'b' || c == 't') && i+1 < len(s) && s[i+1] == '\'':
		return lexPrefixed(s, i)
	case isIdentStart(c):
		j, hyphen := i+1, false
		for j < len(s) && (isIdentStart(s[j]) || isDigit(s[j]) || s[j] == '-') {
			hyphen = hyphen || s[j] == '-'
			j++
		}
		w := s[i:j]
		switch {
		case w == "true" || w == "false":
			return token{kind: tLiteral, text: w, pos: i, lit: Literal{Kind: KindBool, Bool: w == "true", Str: w}}, j, nil
		case keywords[w]:
			return token{kind: tKeyword, text: w, pos: i}, j, nil
		}
		return token{kind: tIdent, text: w, pos: i, hyphen: hyphen}, j, nil
	case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]) ||
		(c == '+' || c == '-') && i+1 < len(s) && (isDigit(s[i+1]) || s[i+1] == '.'):
		return lexNumber(s, i)
	}
	for _, p := range puncts {
		if strings.HasPrefix(s[i:], p) {
			return token{kind: tPunct, text: p, pos: i}, i + len(p), nil
		}
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return token{}, 0, &Error{Pos: i, Msg: fmt.Sprintf("unexpected character %q", r)}
}

// lexString reads a quoted string at i (only \' and \\ are escapes).
func lexString(s string, i int) (string, int, error) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\'':
			return b.String(), j + 1, nil
		case '\\':
			if j+1 < len(s) && (s[j+1] == '\'' || s[j+1] == '\\') {
				b.WriteByte(s[j+1])
				j++
				continue
			}
			return "", 0, &Error{Pos: j, Msg: `invalid escape in string literal (only \' and \\ are allowed)`}
		default:
			b.WriteByte(s[j])
		}
	}
	return "", 0, &Error{Pos: i, Msg: "unterminated string literal"}
}

// lexPrefixed reads a h'…', b'…' or t'…' literal at i.
func lexPrefixed(s string, i int) (token, int, error) {
	end := strings.IndexByte(s[i+2:], '\'')
	if end < 0 {
		return token{}, 0, &Error{Pos: i, Msg: "unterminated literal"}
	}
	body, n := s[i+2:i+2+end], i+3+end
	t := token{kind: tLiteral, pos: i, text: s[i:n]}
	switch s[i] {
	case 'h':
		v, err := hex.DecodeString(body)
		if err != nil {
			return t, 0, &Error{Pos: i, Msg: "invalid hex literal: " + err.Error()}
		}
		t.lit = Literal{Kind: KindHex, Bytes: v}
	case 'b':
		v, err := base64.StdEncoding.Strict().DecodeString(body)
		if err != nil || body == "" || strings.ContainsAny(body, "\r\n") {
			return t, 0, &Error{Pos: i, Msg: "invalid binary literal (base64 with padding, at least one byte)"}
		}
		t.lit = Literal{Kind: KindBinary, Bytes: v}
	default:
		ts, err := parseTimestamp(body)
		if err != nil {
			return t, 0, &Error{Pos: i, Msg: err.Error()}
		}
		t.lit = Literal{Kind: KindTimestamp, Str: body, Time: ts}
	}
	return t, n, nil
}

// parseTimestamp checks the grammar's timestamp form
// (YYYY-MM-DDTHH:MM:SS[.s+]Z, second 60 allowed for a leap second) and
// returns the time (a leap second reads as the next second's start).
func parseTimestamp(s string) (time.Time, error) {
	bad := fmt.Errorf("invalid timestamp literal t'%s' (want YYYY-MM-DDTHH:MM:SS[.sss]Z)", s)
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, bad
	}
	num := func(a, b int) int {
		n, err := strconv.Atoi(s[a:b])
		if err != nil || !isDigit(s[a]) {
			return -1
		}
		return n
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 {
		return time.Time{}, bad
	}
	var ns int
	if frac := s[19 : len(s)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 {
			return time.Time{}, bad
		}
		for k := 1; k < len(frac); k++ {
			if !isDigit(frac[k]) {
				return time.Time{}, bad
			}
		}
		f, _ := strconv.ParseFloat("0"+frac, 64)
		ns = int(f * 1e9)
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), nil
}

// lexNumber reads an integer or a float at i.
func lexNumber(s string, i int) (token, int, error) {
	j := i
	if s[j] == '+' || s[j] == '-' {
		j++
	}
	digits := j
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	intDigits := s[digits:j]
	if j < len(s) && s[j] == '.' && j+1 < len(s) && isDigit(s[j+1]) {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		text := s[i:j]
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return token{}, 0, &Error{Pos: i, Msg: fmt.Sprintf("invalid float %q", text)}
		}
		return token{kind: tLiteral, pos: i, text: text, lit: Literal{Kind: KindFloat, Float: f, Str: text}}, j, nil
	}
	if intDigits == "" {
		return token{}, 0, &Error{Pos: i, Msg: "sign without a number"}
	}
	text := s[i:j]
	if len(intDigits) > 1 && intDigits[0] == '0' {
		return token{}, 0, &Error{Pos: i, Msg: fmt.Sprintf("integer %q has a leading zero", text)}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return token{}, 0, &Error{Pos: i, Msg: fmt.Sprintf("integer %q out of range", text)}
	}
	return token{kind: tLiteral, pos: i, text: text, lit: Literal{Kind: KindInt, Int: n, Str: text}}, j, nil
}
