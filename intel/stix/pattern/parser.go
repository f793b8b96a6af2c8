package pattern

import (
	"fmt"
	"regexp"
	"strconv"
)

// maxDepth bounds the nesting of parentheses and brackets, so that a
// hostile pattern cannot exhaust the stack.
const maxDepth = 200

// Parse parses a STIX pattern.
func Parse(s string) (*Pattern, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.obsExprs()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errf(t, "unexpected %s after the end of the pattern", describe(t))
	}
	return &Pattern{Expr: e}, nil
}

// Validate checks the syntax of a STIX pattern.
func Validate(s string) error {
	_, err := Parse(s)
	return err
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// is reports whether the next token is the keyword or punctuation s.
func (p *parser) is(s string) bool {
	t := p.peek()
	return (t.kind == tKeyword || t.kind == tPunct) && t.text == s
}

func (p *parser) accept(s string) bool {
	if p.is(s) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(s, what string) error {
	if !p.accept(s) {
		t := p.peek()
		return p.errf(t, "expected %s, found %s", what, describe(t))
	}
	return nil
}

func (p *parser) errf(t token, format string, args ...any) error {
	return &Error{Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of pattern"
	case tLiteral:
		return "literal " + t.lit.String()
	case tIdent:
		return fmt.Sprintf("identifier %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf(p.peek(), "nesting deeper than %d", maxDepth)
	}
	return nil
}

// obsBinary parses operands joined by op, left-associatively.
func (p *parser) obsBinary(op string, operand func() (ObsExpr, error)) (ObsExpr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.accept(op) {
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &ObsBinary{Op: op, L: l, R: r}
	}
	return l, nil
}

func (p *parser) obsExprs() (ObsExpr, error) { return p.obsBinary("FOLLOWEDBY", p.obsOr) }
func (p *parser) obsOr() (ObsExpr, error)    { return p.obsBinary("OR", p.obsAnd) }
func (p *parser) obsAnd() (ObsExpr, error)   { return p.obsBinary("AND", p.obsQualified) }

// obsQualified parses an observation expression and its qualifiers.
func (p *parser) obsQualified() (ObsExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	var e ObsExpr
	switch t := p.peek(); {
	case p.accept("["):
		c, err := p.compOr()
		if err != nil {
			return nil, err
		}
		if err := p.expect("]", `"]" closing the observation expression`); err != nil {
			return nil, err
		}
		e = &Observation{Comp: c}
	case p.accept("("):
		inner, err := p.obsExprs()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")", `")" closing the observation expressions`); err != nil {
			return nil, err
		}
		e = inner
	default:
		return nil, p.errf(t, `expected "[" or "(" starting an observation expression, found %s`, describe(t))
	}
	var seen [3]bool // WITHIN, REPEATS, START
	for {
		t := p.peek()
		k := -1
		if t.kind == tKeyword {
			switch t.text {
			case "WITHIN":
				k = 0
			case "REPEATS":
				k = 1
			case "START":
				k = 2
			default:
				k = -1
			}
		}
		if k < 0 {
			return e, nil
		}
		if seen[k] {
			return nil, p.errf(t, "more than one %s qualifier on one observation expression", t.text)
		}
		seen[k] = true
		q, err := p.qualifier()
		if err != nil {
			return nil, err
		}
		e = &Qualified{Expr: e, Q: q}
	}
}

// qualifier parses WITHIN, REPEATS or START/STOP.
func (p *parser) qualifier() (Qualifier, error) {
	t := p.next()
	switch t.text {
	case "WITHIN":
		n := p.next()
		if n.kind != tLiteral || (n.lit.Kind != KindInt && n.lit.Kind != KindFloat) || n.text[0] == '-' {
			return Qualifier{}, p.errf(n, "WITHIN wants a positive number of seconds, found %s", describe(n))
		}
		v := n.lit.Float
		if n.lit.Kind == KindInt {
			v = float64(n.lit.Int)
		}
		if v <= 0 {
			return Qualifier{}, p.errf(n, "WITHIN wants a positive number of seconds, found %s", n.text)
		}
		if err := p.expect("SECONDS", "SECONDS after WITHIN"); err != nil {
			return Qualifier{}, err
		}
		return Qualifier{Kind: "WITHIN", Seconds: v, SecondsText: n.text}, nil
	case "REPEATS":
		n := p.next()
		if n.kind != tLiteral || n.lit.Kind != KindInt || n.lit.Int <= 0 {
			return Qualifier{}, p.errf(n, "REPEATS wants a positive integer, found %s", describe(n))
		}
		if err := p.expect("TIMES", "TIMES after REPEATS"); err != nil {
			return Qualifier{}, err
		}
		return Qualifier{Kind: "REPEATS", Times: n.lit.Int}, nil
	default: // START
		start := p.next()
		if start.kind != tLiteral || start.lit.Kind != KindTimestamp {
			return Qualifier{}, p.errf(start, "START wants a timestamp t'…', found %s", describe(start))
		}
		if err := p.expect("STOP", "STOP after START"); err != nil {
			return Qualifier{}, err
		}
		stop := p.next()
		if stop.kind != tLiteral || stop.lit.Kind != KindTimestamp {
			return Qualifier{}, p.errf(stop, "STOP wants a timestamp t'…', found %s", describe(stop))
		}
		if !stop.lit.Time.After(start.lit.Time) {
			return Qualifier{}, p.errf(stop, "STOP %s is not after START %s", stop.lit, start.lit)
		}
		return Qualifier{Kind: "START", Start: start.lit, Stop: stop.lit}, nil
	}
}

// compBinary parses operands joined by op, left-associatively.
func (p *parser) compBinary(op string, operand func() (CompExpr, error)) (CompExpr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.accept(op) {
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &CompBinary{Op: op, L: l, R: r}
	}
	return l, nil
}

func (p *parser) compOr() (CompExpr, error)  { return p.compBinary("OR", p.compAnd) }
func (p *parser) compAnd() (CompExpr, error) { return p.compBinary("AND", p.propTest) }

// propTest parses one comparison, an EXISTS test or a parenthesized
// comparison expression.
func (p *parser) propTest() (CompExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if p.accept("(") {
		c, err := p.compOr()
		if err != nil {
			return nil, err
		}
		return c, p.expect(")", `")" closing the comparison expression`)
	}
	not := p.accept("NOT")
	if p.accept("EXISTS") {
		path, err := p.path()
		return &Exists{Not: not, Path: path}, err
	}
	if not {
		return nil, p.errf(p.peek(), "expected EXISTS after a leading NOT, found %s", describe(p.peek()))
	}
	path, err := p.path()
	if err != nil {
		return nil, err
	}
	c := &Comparison{Path: path, Not: p.accept("NOT")}
	opTok := p.next()
	c.Op = opTok.text
	switch {
	case opTok.kind == tPunct && (c.Op == "=" || c.Op == "==" || c.Op == "!=" || c.Op == "<>"):
		switch c.Op {
		case "==":
			c.Op = "="
		case "<>":
			c.Op = "!="
		}
		c.Value, err = p.literal(true, "a literal")
	case opTok.kind == tPunct && (c.Op == "<" || c.Op == "<=" || c.Op == ">" || c.Op == ">="):
		c.Value, err = p.literal(false, "an orderable literal (not a boolean)")
	case opTok.kind == tKeyword && c.Op == "IN":
		c.Set, err = p.set()
	case opTok.kind == tKeyword && (c.Op == "LIKE" || c.Op == "MATCHES" || c.Op == "ISSUBSET" || c.Op == "ISSUPERSET"):
		c.Value, err = p.literal(false, "a string literal")
		if err == nil && c.Value.Kind != KindString {
			err = p.errf(p.toks[p.i-1], "%s wants a string literal, found %s", c.Op, describe(p.toks[p.i-1]))
		}
		if err == nil && c.Op == "MATCHES" {
			if _, rerr := regexp.Compile(c.Value.Str); rerr != nil {
				err = p.errf(p.toks[p.i-1], "MATCHES regular expression: %v", rerr)
			}
		}
	default:
		return nil, p.errf(opTok, "expected a comparison operator after %s, found %s", path, describe(opTok))
	}
	return c, err
}

// literal reads one literal; booleans only when allowBool.
func (p *parser) literal(allowBool bool, what string) (Literal, error) {
	t := p.next()
	if t.kind != tLiteral || (!allowBool && t.lit.Kind == KindBool) {
		return Literal{}, p.errf(t, "expected %s, found %s", what, describe(t))
	}
	return t.lit, nil
}

// set reads ( literal, … ) for IN.
func (p *parser) set() ([]Literal, error) {
	if err := p.expect("(", `"(" starting the set of IN`); err != nil {
		return nil, err
	}
	var set []Literal
	if p.accept(")") {
		return set, nil
	}
	for {
		l, err := p.literal(true, "a literal in the set")
		if err != nil {
			return nil, err
		}
		set = append(set, l)
		if p.accept(")") {
			return set, nil
		}
		if err := p.expect(",", `"," or ")" in the set`); err != nil {
			return nil, err
		}
	}
}

// path reads an object path.
func (p *parser) path() (Path, error) {
	t := p.next()
	if t.kind != tIdent {
		return Path{}, p.errf(t, "expected an object type, found %s", describe(t))
	}
	path := Path{Type: t.text}
	if err := p.expect(":", `":" after the object type`); err != nil {
		return Path{}, err
	}
	first, err := p.key()
	if err != nil {
		return Path{}, err
	}
	path.Steps = append(path.Steps, first)
	for {
		switch {
		case p.accept("."):
			k, err := p.key()
			if err != nil {
				return Path{}, err
			}
			path.Steps = append(path.Steps, k)
		case p.accept("["):
			n := p.next()
			switch {
			case n.kind == tPunct && n.text == "*":
				path.Steps = append(path.Steps, Step{Kind: StepAny})
			case n.kind == tLiteral && n.lit.Kind == KindInt:
				path.Steps = append(path.Steps, Step{Kind: StepIndex, Index: n.lit.Int})
			default:
				return Path{}, p.errf(n, "expected a list index or \"*\", found %s", describe(n))
			}
			if err := p.expect("]", `"]" closing the list index`); err != nil {
				return Path{}, err
			}
		default:
			return path, nil
		}
	}
}

// key reads a property name: an identifier without hyphen or a string.
func (p *parser) key() (Step, error) {
	t := p.next()
	switch {
	case t.kind == tIdent && !t.hyphen:
		return Step{Kind: StepKey, Key: t.text}, nil
	case t.kind == tLiteral && t.lit.Kind == KindString:
		return Step{Kind: StepKey, Key: t.lit.Str}, nil
	case t.kind == tIdent:
		return Step{}, p.errf(t, "property name %q has a hyphen: quote it ('%s')", t.text, t.text)
	}
	return Step{}, p.errf(t, "expected a property name, found %s", describe(t))
}

// itoa is strconv.Itoa for int64, used in builders.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
