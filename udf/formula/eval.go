package formula

import (
	"errors"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
)

// ErrPending is returned by an Env, and passed up by Eval, when a value is
// not known yet: a registered function's result still to be computed, or a
// cell that waits for one. Evaluating again later completes the formula.
var ErrPending = errors.New("pending")

// MaxRangeCells bounds the ranges the evaluator reads; bigger ones are unsupported.
const MaxRangeCells = 100_000

// Env connects the evaluator to a workbook and to the registered functions.
type Env interface {
	// Cell returns one cell's value: Empty for a blank cell. It may fail with
	// ErrPending or an error wrapping ErrUnsupported.
	Cell(sheet string, row, col int) (udf.Value, error)
	// DefinedName returns the definition of a name as seen from sheet.
	DefinedName(sheet, name string) (*Formula, error)
	// Registered returns the spec of a registered function, for any written form of its name.
	Registered(name Name) (*udf.Spec, bool)
	// Call returns a registered function's result, or ErrPending until it is known.
	Call(name Name, args []udf.Value) (udf.Value, error)
}

// Pos is where a formula is evaluated: the cell, and the offset of that cell
// from the cell the formula text was written for (a shared formula's master).
type Pos struct {
	Sheet    string
	Row, Col int
	DR, DC   int
}

// Eval evaluates a formula at a position. The result is a scalar or an
// array; Excel error results are values, not Go errors. The error is
// ErrPending, or wraps ErrUnsupported with the reason.
func Eval(env Env, f *Formula, at Pos) (udf.Value, error) {
	e := &evaluator{env: env, at: at}
	v, err := e.eval(f.Root)
	if err != nil {
		return udf.Value{}, err
	}
	return checkResult(v)
}

// checkResult refuses results that cannot be stored as they are.
func checkResult(v udf.Value) (udf.Value, error) {
	if v.Kind() == udf.KindArray {
		for _, row := range v.Rows() {
			for _, c := range row {
				if _, err := checkResult(c); err != nil {
					return udf.Value{}, err
				}
			}
		}
		return v, nil
	}
	if v.IsError() && !v.Code().Valid() {
		return udf.Value{}, unsupported("error value %s", v.Message())
	}
	if v.Kind() == udf.KindText && len([]rune(v.Str())) > 32767 {
		return udf.Value{}, unsupported("text longer than 32,767 characters")
	}
	return v, nil
}

type evaluator struct {
	env   Env
	at    Pos
	depth int // defined-name nesting, to stop cycles
}

// eval evaluates a node in value context: ranges of more than one cell are
// refused there, because Excel would intersect them with the formula's row
// or column, which this package does not model.
func (e *evaluator) eval(n Node) (udf.Value, error) {
	switch x := n.(type) {
	case Lit:
		return x.V, nil
	case MissingNode:
		return udf.Empty(), nil
	case ArrayNode:
		return udf.Array(x.Rows), nil
	case RefNode:
		r, v, err := e.ref(x.Ref)
		if err != nil || v != nil {
			return deref(v), err
		}
		if r.Kind != RefCell {
			return udf.Value{}, unsupported("range %s used as a single value", r)
		}
		return e.env.Cell(r.Sheet, r.R1, r.C1)
	case NameNode:
		def, err := e.name(x.Name)
		if err != nil {
			return udf.Value{}, err
		}
		e.depth++
		defer func() { e.depth-- }()
		return e.eval(def)
	case UnaryNode:
		v, err := e.eval(x.X)
		if err != nil {
			return v, err
		}
		return lift1(v, func(a udf.Value) (udf.Value, error) { return unaryOp(x.Op, a) })
	case BinaryNode:
		l, errL := e.eval(x.L)
		r, errR := e.eval(x.R)
		if err := firstErr(errL, errR); err != nil {
			return udf.Value{}, err
		}
		return lift2(l, r, func(a, b udf.Value) (udf.Value, error) { return binaryOp(x.Op, a, b) })
	case *CallNode:
		return e.call(x)
	}
	return udf.Value{}, unsupported("unknown node %T", n)
}

func deref(v *udf.Value) udf.Value {
	if v == nil {
		return udf.Value{}
	}
	return *v
}

// firstErr prefers an unsupported error over ErrPending: waiting is pointless
// when the formula cannot be evaluated anyway.
func firstErr(errs ...error) error {
	var pending error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, ErrPending) {
			pending = err
			continue
		}
		return err
	}
	return pending
}

// ref resolves a reference against the position: the sheet filled in and the
// shared-formula offset applied. A reference that left the sheet yields a
// #REF! value (second result) instead.
func (e *evaluator) ref(r Ref) (Ref, *udf.Value, error) {
	if r.External != "" {
		return r, nil, unsupported("reference to another workbook %s", r)
	}
	if r.Kind == RefError {
		v := udf.Error(udf.ErrRef, "")
		return r, &v, nil
	}
	s, ok := r.Shift(e.at.DR, e.at.DC)
	if !ok {
		v := udf.Error(udf.ErrRef, "")
		return r, &v, nil
	}
	if s.Sheet == "" {
		s.Sheet = e.at.Sheet
	}
	return s, nil, nil
}

// name returns the node a defined name stands for.
func (e *evaluator) name(n Name) (Node, error) {
	if n.Structured {
		return nil, unsupported("structured reference %s[…]", n.Name)
	}
	if n.External != "" {
		return nil, unsupported("name in another workbook %s%s", n.External, n.Name)
	}
	if e.depth > 32 {
		return nil, unsupported("defined names nested too deeply at %s", n.Name)
	}
	sheet := n.Sheet
	if sheet == "" {
		sheet = e.at.Sheet
	}
	f, err := e.env.DefinedName(sheet, n.Name)
	if err != nil {
		return nil, err
	}
	// Relative references in a name are relative to the cell using it, in a
	// way that depends on where the name was defined; only absolute ones are
	// evaluated.
	relative := false
	Walk(f.Root, func(x Node) {
		if rn, ok := x.(RefNode); ok && rn.Ref.Kind != RefError {
			r := rn.Ref
			relative = relative || (r.Kind != RefCols && !(r.AbsR1 && r.AbsR2)) || (r.Kind != RefRows && !(r.AbsC1 && r.AbsC2))
		}
	})
	if relative {
		return nil, unsupported("defined name %s has relative references", n.Name)
	}
	return f.Root, nil
}

// rangeArg evaluates an argument that may be a range: references and names
// of references give every cell's value as an array.
func (e *evaluator) rangeArg(n Node) (udf.Value, error) {
	switch x := n.(type) {
	case RefNode:
		r, v, err := e.ref(x.Ref)
		if err != nil || v != nil {
			return deref(v), err
		}
		return e.readRange(r)
	case NameNode:
		def, err := e.name(x.Name)
		if err != nil {
			return udf.Value{}, err
		}
		e.depth++
		defer func() { e.depth-- }()
		return e.rangeArg(def)
	}
	return e.eval(n)
}

func (e *evaluator) readRange(r Ref) (udf.Value, error) {
	if r.Kind == RefCell {
		return e.env.Cell(r.Sheet, r.R1, r.C1)
	}
	if r.Cells() > MaxRangeCells {
		return udf.Value{}, unsupported("range %s is larger than %d cells", r, MaxRangeCells)
	}
	rows := make([][]udf.Value, r.R2-r.R1+1)
	var pending error
	for i := range rows {
		rows[i] = make([]udf.Value, r.C2-r.C1+1)
		for j := range rows[i] {
			v, err := e.env.Cell(r.Sheet, r.R1+i, r.C1+j)
			if err != nil {
				if !errors.Is(err, ErrPending) {
					return udf.Value{}, err
				}
				pending = err
			}
			rows[i][j] = v
		}
	}
	if pending != nil {
		return udf.Value{}, pending
	}
	return udf.Array(rows), nil
}

// call evaluates a built-in wrapper or a registered function.
func (e *evaluator) call(c *CallNode) (udf.Value, error) {
	if c.Name.External == "" && c.Name.Sheet == "" {
		if b, ok := builtins[builtinName(c.Name.Name)]; ok {
			if len(c.Args) < b.min || (b.max >= 0 && len(c.Args) > b.max) {
				return udf.Value{}, unsupported("%s with %d arguments", c.Name.Name, len(c.Args))
			}
			return b.fn(e, c.Args)
		}
	}
	spec, ok := e.env.Registered(c.Name)
	if !ok {
		return udf.Value{}, unsupported("function %s", c.Name.Name)
	}
	args := make([]udf.Value, len(c.Args))
	var errs []error
	for i, a := range c.Args {
		v, err := e.udfArg(spec, i, a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		args[i] = v
	}
	if err := firstErr(errs...); err != nil {
		return udf.Value{}, err
	}
	return e.env.Call(c.Name, args)
}

// udfArg evaluates argument i of a registered function the way Excel passes
// it: a range to a matrix parameter as an array of rows, a single value to a
// matrix parameter as a 1×1 array.
func (e *evaluator) udfArg(spec *udf.Spec, i int, n Node) (udf.Value, error) {
	dim := udf.Scalar
	if len(spec.Params) > 0 {
		p := spec.Params[len(spec.Params)-1]
		if i < len(spec.Params) {
			p = spec.Params[i]
		}
		dim = p.Dim
	}
	if _, missing := n.(MissingNode); missing {
		return udf.Empty(), nil
	}
	if dim == udf.Matrix {
		v, err := e.rangeArg(n)
		if err != nil {
			return v, err
		}
		if v.Kind() != udf.KindArray {
			v = udf.Array([][]udf.Value{{v}})
		}
		return v, nil
	}
	v, err := e.rangeArg(n)
	if err != nil {
		return v, err
	}
	if v.Kind() == udf.KindArray {
		rows := v.Rows()
		if len(rows) == 1 && len(rows[0]) == 1 {
			return rows[0][0], nil
		}
		return udf.Value{}, unsupported("an array passed to %s's single-value parameter %d", spec.Name, i+1)
	}
	return v, nil
}

// builtinName strips the prefixes Excel stores before newer built-in functions.
func builtinName(s string) string {
	u := strings.ToUpper(s)
	u = strings.TrimPrefix(u, "_XLFN.")
	u = strings.TrimPrefix(u, "_XLWS.")
	return u
}
