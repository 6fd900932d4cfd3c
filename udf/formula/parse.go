package formula

import (
	"strconv"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
)

// Node is a node of a parsed formula.
type Node interface{ node() }

// Lit is a constant: number, text, boolean or error literal.
type Lit struct{ V udf.Value }

// RefNode is a reference to cells.
type RefNode struct{ Ref Ref }

// NameNode is a defined name or a structured reference.
type NameNode struct{ Name Name }

// CallNode is a function call. Pos and End span the whole call in the source.
type CallNode struct {
	Name     Name
	Args     []Node
	Pos, End int
}

// UnaryNode is a prefix + or -, or a postfix % (Op '%').
type UnaryNode struct {
	Op byte
	X  Node
}

// BinaryNode is an infix operator: + - * / ^ & = <> < > <= >=.
type BinaryNode struct {
	Op   string
	L, R Node
}

// ArrayNode is an array constant {1,2;3,4}.
type ArrayNode struct{ Rows [][]udf.Value }

// MissingNode is an omitted argument, as in IF(A1,,2).
type MissingNode struct{}

func (Lit) node()         {}
func (RefNode) node()     {}
func (NameNode) node()    {}
func (*CallNode) node()   {}
func (UnaryNode) node()   {}
func (BinaryNode) node()  {}
func (ArrayNode) node()   {}
func (MissingNode) node() {}

// Formula is a parsed formula.
type Formula struct {
	Src  string
	Root Node
}

// Parse parses a formula as stored in a workbook (without the leading "=";
// one is tolerated).
func Parse(src string) (*Formula, error) {
	// Excel stores no longer formula; refusing longer text up front also
	// bounds the work and the memory a hostile cell can ask for.
	if len(src) > MaxFormulaLen {
		return nil, unsupported("formula longer than %d bytes", MaxFormulaLen)
	}
	s := src
	if strings.HasPrefix(s, "=") {
		s = " " + s[1:] // keep offsets: the = becomes a space
	}
	toks, err := Tokenize(s)
	if err != nil {
		return nil, err
	}
	p := parser{toks: toks, src: s}
	root, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.peek().Kind != EOF {
		return nil, unsupported("unexpected %q at %d", p.peek().Text, p.peek().Pos)
	}
	return &Formula{Src: src, Root: root}, nil
}

// MaxFormulaLen is the longest formula text Parse accepts, in bytes: Excel's
// limit of 8,192 characters, written in at most four bytes each.
const MaxFormulaLen = 4 * 8192

// MaxNesting bounds how deeply parentheses, function calls and prefix signs
// may nest. Excel allows 64 levels of function calls; the margin keeps odd but
// valid formulas working while a cell of thousands of "(" gets an error
// instead of a stack the runtime cannot grow.
const MaxNesting = 256

type parser struct {
	toks  []Token
	i     int
	src   string
	depth int
}

// enter counts one more level of nesting and refuses too many; leave undoes it.
func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxNesting {
		return unsupported("more than %d nested levels at %d", MaxNesting, pos)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) peek() Token { return p.toks[p.i] }
func (p *parser) take() Token {
	t := p.toks[p.i]
	if t.Kind != EOF {
		p.i++
	}
	return t
}

func (p *parser) isOp(ops ...string) (string, bool) {
	t := p.peek()
	if t.Kind != Op {
		return "", false
	}
	for _, o := range ops {
		if t.Text == o {
			return o, true
		}
	}
	return "", false
}

func (p *parser) expr() (Node, error) {
	if err := p.enter(p.peek().Pos); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.comparison()
}

func (p *parser) binary(next func() (Node, error), ops ...string) (Node, error) {
	l, err := next()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.isOp(ops...)
		if !ok {
			return l, nil
		}
		p.take()
		r, err := next()
		if err != nil {
			return nil, err
		}
		l = BinaryNode{Op: op, L: l, R: r}
	}
}

func (p *parser) comparison() (Node, error) {
	return p.binary(p.concat, "=", "<>", "<", ">", "<=", ">=")
}
func (p *parser) concat() (Node, error)   { return p.binary(p.additive, "&") }
func (p *parser) additive() (Node, error) { return p.binary(p.term, "+", "-") }
func (p *parser) term() (Node, error)     { return p.binary(p.power, "*", "/") }
func (p *parser) power() (Node, error)    { return p.binary(p.unary, "^") }

// unary handles prefix signs, which in Excel bind tighter than ^ (-2^2 = 4).
func (p *parser) unary() (Node, error) {
	if op, ok := p.isOp("+", "-"); ok {
		t := p.take()
		if err := p.enter(t.Pos); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return UnaryNode{Op: op[0], X: x}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (Node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		if _, ok := p.isOp("%"); ok {
			p.take()
			x = UnaryNode{Op: '%', X: x}
			continue
		}
		if _, ok := p.isOp(":"); ok {
			return nil, unsupported("range operator on an expression at %d", p.peek().Pos)
		}
		// Whitespace followed by another operand is Excel's intersection operator.
		if t := p.peek(); t.Space && startsOperand(t.Kind) {
			return nil, unsupported("intersection operator at %d", t.Pos)
		}
		return x, nil
	}
}

func startsOperand(k Kind) bool {
	switch k {
	case Number, String, Bool, ErrorLit, RefTok, NameTok, Func, LParen, LBrace:
		return true
	}
	return false
}

func (p *parser) primary() (Node, error) {
	t := p.take()
	switch t.Kind {
	case Number:
		f, err := strconv.ParseFloat(t.Text, 64)
		if err != nil {
			return nil, unsupported("bad number %q", t.Text)
		}
		return Lit{udf.Number(f)}, nil
	case String:
		return Lit{udf.Text(unquote(t.Text))}, nil
	case Bool:
		return Lit{udf.Bool(strings.EqualFold(t.Text, "TRUE"))}, nil
	case ErrorLit:
		return Lit{errorValue(t.Text)}, nil
	case RefTok:
		return RefNode{t.Ref}, nil
	case NameTok:
		return NameNode{t.Name}, nil
	case Func:
		return p.call(t)
	case LParen:
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek().Kind == Comma {
			return nil, unsupported("union operator at %d", p.peek().Pos)
		}
		if p.take().Kind != RParen {
			return nil, unsupported("missing ) for ( at %d", t.Pos)
		}
		return x, nil
	case LBrace:
		return p.array(t)
	}
	if t.Kind == EOF {
		return nil, unsupported("formula ends early")
	}
	return nil, unsupported("unexpected %q at %d", t.Text, t.Pos)
}

func (p *parser) call(t Token) (Node, error) {
	c := &CallNode{Name: t.Name, Pos: t.Pos}
	if p.peek().Kind == RParen {
		c.End = p.take().End
		return c, nil
	}
	for {
		if k := p.peek().Kind; k == Comma || k == RParen {
			c.Args = append(c.Args, MissingNode{})
		} else {
			a, err := p.expr()
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, a)
		}
		switch n := p.take(); n.Kind {
		case Comma:
			continue
		case RParen:
			c.End = n.End
			return c, nil
		default:
			return nil, unsupported("expected , or ) in %s( at %d", t.Name.Name, n.Pos)
		}
	}
}

func (p *parser) array(open Token) (Node, error) {
	var rows [][]udf.Value
	row := []udf.Value{}
	for {
		t := p.take()
		neg := false
		if t.Kind == Op && (t.Text == "-" || t.Text == "+") {
			neg = t.Text == "-"
			t = p.take()
			if t.Kind != Number {
				return nil, unsupported("bad array constant at %d", t.Pos)
			}
		}
		var v udf.Value
		switch t.Kind {
		case Number:
			f, err := strconv.ParseFloat(t.Text, 64)
			if err != nil {
				return nil, unsupported("bad number %q", t.Text)
			}
			if neg {
				f = -f
			}
			v = udf.Number(f)
		case String:
			v = udf.Text(unquote(t.Text))
		case Bool:
			v = udf.Bool(strings.EqualFold(t.Text, "TRUE"))
		case ErrorLit:
			v = errorValue(t.Text)
		default:
			return nil, unsupported("bad array constant at %d", t.Pos)
		}
		row = append(row, v)
		switch sep := p.take(); sep.Kind {
		case Comma:
		case Semicolon:
			rows = append(rows, row)
			row = []udf.Value{}
		case RBrace:
			rows = append(rows, row)
			for _, r := range rows {
				if len(r) != len(rows[0]) {
					return nil, unsupported("ragged array constant at %d", open.Pos)
				}
			}
			return ArrayNode{rows}, nil
		default:
			return nil, unsupported("bad array constant at %d", sep.Pos)
		}
	}
}

func unquote(s string) string {
	return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
}

// errorValue maps an error literal to a value; codes outside the seven a
// function can return are kept as #N/A's cousins only through ErrUnsupported
// at evaluation time, so they are marked with an empty code here.
func errorValue(s string) udf.Value {
	c := udf.ErrorCode(strings.ToUpper(s))
	if !c.Valid() {
		return udf.Error("", s)
	}
	return udf.Error(c, "")
}

// Calls returns every function call in the formula, outermost first.
func (f *Formula) Calls() []*CallNode {
	var out []*CallNode
	Walk(f.Root, func(n Node) {
		if c, ok := n.(*CallNode); ok {
			out = append(out, c)
		}
	})
	return out
}

// Walk calls fn for n and every node below it, parents before children.
func Walk(n Node, fn func(Node)) {
	fn(n)
	switch x := n.(type) {
	case *CallNode:
		for _, a := range x.Args {
			Walk(a, fn)
		}
	case UnaryNode:
		Walk(x.X, fn)
	case BinaryNode:
		Walk(x.L, fn)
		Walk(x.R, fn)
	}
}

// Shifted returns the formula text a shared-formula child at (dr, dc) from
// its master holds: every relative reference moved, everything else kept
// byte for byte. A reference that leaves the sheet becomes #REF!.
func (f *Formula) Shifted(dr, dc int) string {
	if dr == 0 && dc == 0 {
		return f.Src
	}
	var b strings.Builder
	last := 0
	src := f.Src
	if strings.HasPrefix(src, "=") {
		src = " " + src[1:]
	}
	toks, err := Tokenize(src)
	if err != nil {
		return f.Src
	}
	for _, t := range toks {
		if t.Kind != RefTok || t.Ref.Kind == RefError {
			continue
		}
		r, ok := t.Ref.Shift(dr, dc)
		b.WriteString(src[last:t.Pos])
		// Keep the sheet qualifier exactly as written.
		b.WriteString(t.Text[:strings.LastIndexByte(t.Text, '!')+1])
		if ok {
			b.WriteString(r.local())
		} else {
			b.WriteString("#REF!")
		}
		last = t.End
	}
	b.WriteString(src[last:])
	if strings.HasPrefix(f.Src, "=") {
		return "=" + b.String()[1:]
	}
	return b.String()
}

// ShapeKey appends to buf a key that is the same for two formulas exactly
// when one is the other moved from (row, col) to another cell: relative
// references are written as offsets. Formulas with equal keys can share one
// parsed tree, evaluated with the offset between their cells, the way Excel
// shares formulas.
func ShapeKey(buf []byte, src string, row, col int) ([]byte, error) {
	l := lexer{src: src}
	for {
		t, err := l.next()
		if err != nil {
			return buf, err
		}
		if t.Kind == EOF {
			return buf, nil
		}
		if t.Space {
			buf = append(buf, ' ')
		}
		if t.Kind != RefTok || t.Ref.Kind == RefError {
			buf = append(buf, t.Text...)
			buf = append(buf, 0)
			continue
		}
		r := t.Ref
		buf = append(buf, t.Text[:strings.LastIndexByte(t.Text, '!')+1]...)
		part := func(v int, abs bool, origin int) {
			if abs {
				buf = append(buf, '$')
				buf = strconv.AppendInt(buf, int64(v), 10)
			} else {
				buf = append(buf, '~')
				buf = strconv.AppendInt(buf, int64(v-origin), 10)
			}
		}
		buf = append(buf, byte('0'+r.Kind))
		if r.Kind != RefCols {
			part(r.R1, r.AbsR1, row)
			part(r.R2, r.AbsR2, row)
		}
		if r.Kind != RefRows {
			part(r.C1, r.AbsC1, col)
			part(r.C2, r.AbsC2, col)
		}
		buf = append(buf, 0)
	}
}
