// Package pattern parses, checks, builds and reads STIX 2.1 patterns.
//
// The parser is a hand-written recursive-descent parser for the grammar
// of the STIX 2.1 specification, section 9 (OASIS STIXPattern.g4):
//
//	pattern      = obsExprs EOF
//	obsExprs     = obsOr { "FOLLOWEDBY" obsOr }
//	obsOr        = obsAnd { "OR" obsAnd }
//	obsAnd       = obsQual { "AND" obsQual }
//	obsQual      = ( "[" compOr "]" | "(" obsExprs ")" ) { qualifier }
//	qualifier    = "START" t'…' "STOP" t'…' | "WITHIN" number "SECONDS" | "REPEATS" int "TIMES"
//	compOr       = compAnd { "OR" compAnd }
//	compAnd      = propTest { "AND" propTest }
//	propTest     = path ["NOT"] op literal | "(" compOr ")" | ["NOT"] "EXISTS" path
//	op           = "=" "==" "!=" "<>" "<" "<=" ">" ">=" "IN" "LIKE" "MATCHES" "ISSUBSET" "ISSUPERSET"
//	path         = type ":" (ident | 'string') { "." (ident | 'string') | "[" (int | "*") "]" }
//
// Operators are left-associative; AND binds tighter than OR, which binds
// tighter than FOLLOWEDBY. Beyond the grammar, Parse enforces what the
// specification says in prose: at most one qualifier of each kind on an
// observation expression, REPEATS and WITHIN positive, STOP after START,
// binary and timestamp literals well formed, MATCHES a valid regular
// expression (Go RE2 syntax, which covers PCRE's common subset).
//
// Errors are *Error values carrying the byte offset where the parser
// failed. The String methods render a canonical form that parses back
// to the same tree.
package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Pattern is a parsed STIX pattern.
type Pattern struct {
	Expr ObsExpr
}

// String renders the pattern canonically.
func (p *Pattern) String() string { return p.Expr.String() }

// ObsExpr is an observation expression: *Observation, *ObsBinary or
// *Qualified.
type ObsExpr interface {
	fmt.Stringer
	obsExpr()
}

// ObsBinary joins two observation expressions with AND, OR or FOLLOWEDBY.
type ObsBinary struct {
	Op   string // "AND", "OR", "FOLLOWEDBY"
	L, R ObsExpr
}

// Observation is one bracketed comparison expression: [ … ].
type Observation struct {
	Comp CompExpr
}

// Qualified is an observation expression with one qualifier.
type Qualified struct {
	Expr ObsExpr
	Q    Qualifier
}

// Qualifier is a WITHIN, REPEATS or START/STOP qualifier; exactly one of
// the groups of fields is set, according to Kind.
type Qualifier struct {
	Kind        string  // "WITHIN", "REPEATS", "START"
	Seconds     float64 // WITHIN
	SecondsText string  // WITHIN, as written
	Times       int64   // REPEATS
	Start, Stop Literal // START/STOP (timestamps)
}

// CompExpr is a comparison expression: *CompBinary, *Comparison or *Exists.
type CompExpr interface {
	fmt.Stringer
	compExpr()
}

// CompBinary joins two comparison expressions with AND or OR.
type CompBinary struct {
	Op   string // "AND", "OR"
	L, R CompExpr
}

// Comparison tests an object path against a literal (or a set for IN).
type Comparison struct {
	Path  Path
	Not   bool
	Op    string    // "=", "!=", "<", "<=", ">", ">=", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"
	Value Literal   // all operators but IN
	Set   []Literal // IN
}

// Exists tests whether an object path is present.
type Exists struct {
	Not  bool
	Path Path
}

// Path is an object path: type:property followed by steps.
type Path struct {
	Type  string
	Steps []Step // the first step is the property (a Key)
}

// Step is one object path step: a key (.name or .'name'), a list index
// ([n]) or any index ([*]).
type Step struct {
	Key   string
	Index int64
	Kind  StepKind
}

// StepKind says which kind of step a Step is.
type StepKind uint8

// Step kinds.
const (
	StepKey StepKind = iota
	StepIndex
	StepAny
)

// Kind is the type of a literal.
type Kind uint8

// Literal kinds.
const (
	KindString Kind = iota + 1
	KindInt
	KindFloat
	KindBool
	KindBinary
	KindHex
	KindTimestamp
)

// Literal is a constant in a pattern. Str holds the string value
// (unescaped) of string literals, the text of numbers and timestamps;
// Bytes the value of binary and hex literals.
type Literal struct {
	Kind  Kind
	Str   string
	Int   int64
	Float float64
	Bool  bool
	Bytes []byte
	Time  time.Time
}

func (*ObsBinary) obsExpr()   {}
func (*Observation) obsExpr() {}
func (*Qualified) obsExpr()   {}
func (*CompBinary) compExpr() {}
func (*Comparison) compExpr() {}
func (*Exists) compExpr()     {}

// String renders the expression with the parentheses the tree needs
// (none for a left-associative chain), so that the rendering parses back
// to the same tree.
func (e *ObsBinary) String() string {
	return obsOperand(e.L, obsPrec[e.Op]) + " " + e.Op + " " + obsOperand(e.R, obsPrec[e.Op]+1)
}

// obsPrec and compPrec rank operators, higher binding tighter.
var (
	obsPrec  = map[string]int{"FOLLOWEDBY": 1, "OR": 2, "AND": 3}
	compPrec = map[string]int{"OR": 1, "AND": 2}
)

// obsOperand renders e, in parentheses when it is a binary expression
// binding less tightly than prec.
func obsOperand(e ObsExpr, prec int) string {
	if b, ok := e.(*ObsBinary); ok && obsPrec[b.Op] < prec {
		return "(" + e.String() + ")"
	}
	return e.String()
}

// String renders the observation.
func (o *Observation) String() string { return "[" + o.Comp.String() + "]" }

// String renders the qualified expression.
func (q *Qualified) String() string { return obsOperand(q.Expr, 4) + " " + q.Q.String() }

// String renders the qualifier.
func (q Qualifier) String() string {
	switch q.Kind {
	case "WITHIN":
		return "WITHIN " + q.SecondsText + " SECONDS"
	case "REPEATS":
		return "REPEATS " + strconv.FormatInt(q.Times, 10) + " TIMES"
	default:
		return "START " + q.Start.String() + " STOP " + q.Stop.String()
	}
}

// String renders the comparison expression.
func (e *CompBinary) String() string {
	return compOperand(e.L, compPrec[e.Op]) + " " + e.Op + " " + compOperand(e.R, compPrec[e.Op]+1)
}

// compOperand renders e, in parentheses when it is a binary expression
// binding less tightly than prec.
func compOperand(e CompExpr, prec int) string {
	if b, ok := e.(*CompBinary); ok && compPrec[b.Op] < prec {
		return "(" + e.String() + ")"
	}
	return e.String()
}

// String renders the comparison.
func (c *Comparison) String() string {
	var b strings.Builder
	b.WriteString(c.Path.String())
	if c.Not {
		b.WriteString(" NOT")
	}
	b.WriteString(" " + c.Op + " ")
	if c.Op == "IN" {
		b.WriteByte('(')
		for i, l := range c.Set {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(l.String())
		}
		b.WriteByte(')')
	} else {
		b.WriteString(c.Value.String())
	}
	return b.String()
}

// String renders the test.
func (e *Exists) String() string {
	if e.Not {
		return "NOT EXISTS " + e.Path.String()
	}
	return "EXISTS " + e.Path.String()
}

// String renders the path.
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.Type + ":")
	for i, s := range p.Steps {
		switch s.Kind {
		case StepKey:
			if i > 0 {
				b.WriteByte('.')
			}
			if isIdent(s.Key) {
				b.WriteString(s.Key)
			} else {
				b.WriteString(Quote(s.Key))
			}
		case StepIndex:
			b.WriteString("[" + strconv.FormatInt(s.Index, 10) + "]")
		case StepAny:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// isIdent reports whether s can be written as an unquoted property name.
func isIdent(s string) bool {
	if s == "" || keywords[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// String renders the literal in pattern syntax.
func (l Literal) String() string {
	switch l.Kind {
	case KindString:
		return Quote(l.Str)
	case KindBool:
		return strconv.FormatBool(l.Bool)
	case KindBinary:
		return "b'" + base64.StdEncoding.EncodeToString(l.Bytes) + "'"
	case KindHex:
		return "h'" + hex.EncodeToString(l.Bytes) + "'"
	case KindTimestamp:
		return "t'" + l.Str + "'"
	default: // numbers keep their text
		return l.Str
	}
}

// Quote renders s as a pattern string literal, escaping ' and \.
func Quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
