package formula

import (
	"errors"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/xlbatch/xlbatch/udf"
)

// builtin is a built-in function the evaluator knows. It gets its argument
// nodes unevaluated so IF and IFERROR can be lazy, as in Excel.
type builtin struct {
	min, max int // argument counts; max < 0 means any
	fn       func(e *evaluator, args []Node) (udf.Value, error)
}

var builtins map[string]builtin

func init() {
	builtins = map[string]builtin{
		"IF":          {1, 3, fnIF},
		"IFERROR":     {2, 2, fnIfError(func(v udf.Value) bool { return v.IsError() })},
		"IFNA":        {2, 2, fnIfError(func(v udf.Value) bool { return v.IsError() && v.Code() == udf.ErrNA })},
		"AND":         {1, -1, fnLogic(true)},
		"OR":          {1, -1, fnLogic(false)},
		"NOT":         {1, 1, scalar1(func(v udf.Value) (udf.Value, error) { return boolFn(v, func(b bool) bool { return !b }) })},
		"TRUE":        {0, 0, func(*evaluator, []Node) (udf.Value, error) { return udf.Bool(true), nil }},
		"FALSE":       {0, 0, func(*evaluator, []Node) (udf.Value, error) { return udf.Bool(false), nil }},
		"CONCATENATE": {1, 255, fnConcatenate},
		"CONCAT":      {1, 254, fnConcat},
		"TEXTJOIN":    {3, 252, fnTextJoin},
		"LEN":         {1, 1, textFn(func(s string) udf.Value { return udf.Number(float64(utf8.RuneCountInString(s))) })},
		"UPPER":       {1, 1, textFn(func(s string) udf.Value { return udf.Text(strings.ToUpper(s)) })},
		"LOWER":       {1, 1, textFn(func(s string) udf.Value { return udf.Text(strings.ToLower(s)) })},
		"TRIM":        {1, 1, textFn(func(s string) udf.Value { return udf.Text(trimSpaces(s)) })},
		"LEFT":        {1, 2, fnLeftRight(true)},
		"RIGHT":       {1, 2, fnLeftRight(false)},
		"MID":         {3, 3, fnMid},
		"ROUND":       {2, 2, fnRound(roundHalfAway)},
		"ROUNDUP":     {2, 2, fnRound(roundAway)},
		"ROUNDDOWN":   {2, 2, fnRound(roundToward)},
		"ABS":         {1, 1, numFn(math.Abs)},
		"INDEX":       {2, 3, fnIndex},
		"ISERROR":     {1, 1, isFn(func(v udf.Value) bool { return v.IsError() })},
		"ISERR":       {1, 1, isFn(func(v udf.Value) bool { return v.IsError() && v.Code() != udf.ErrNA })},
		"ISNA":        {1, 1, isFn(func(v udf.Value) bool { return v.IsError() && v.Code() == udf.ErrNA })},
		"ISBLANK":     {1, 1, isFn(func(v udf.Value) bool { return v.IsEmpty() })},
		"ISNUMBER":    {1, 1, isFn(func(v udf.Value) bool { return v.Kind() == udf.KindNumber })},
		"ISTEXT":      {1, 1, isFn(func(v udf.Value) bool { return v.Kind() == udf.KindText })},
		"ISLOGICAL":   {1, 1, isFn(func(v udf.Value) bool { return v.Kind() == udf.KindBool })},
		"SUM":         {1, 255, fnAggregate("SUM")},
		"MIN":         {1, 255, fnAggregate("MIN")},
		"MAX":         {1, 255, fnAggregate("MAX")},
		"AVERAGE":     {1, 255, fnAggregate("AVERAGE")},
		"VALUE":       {1, 1, fnValue},
		"TEXT":        {2, 2, fnText},
		"SINGLE":      {1, 1, fnSingle},
	}
}

// scalarArg evaluates an argument that must be one value.
func (e *evaluator) scalarArg(n Node) (udf.Value, error) {
	v, err := e.eval(n)
	if err != nil {
		return v, err
	}
	if v.Kind() == udf.KindArray {
		return udf.Value{}, unsupported("an array where one value is expected")
	}
	return v, nil
}

// evalAll evaluates every argument before reporting ErrPending, so one round
// collects every registered call a formula needs.
func (e *evaluator) evalAll(args []Node, eval func(Node) (udf.Value, error)) ([]udf.Value, error) {
	out := make([]udf.Value, len(args))
	var errs []error
	for i, a := range args {
		v, err := eval(a)
		if err != nil {
			errs = append(errs, err)
		}
		out[i] = v
	}
	return out, firstErr(errs...)
}

func fnIF(e *evaluator, args []Node) (udf.Value, error) {
	c, err := e.scalarArg(args[0])
	if err != nil {
		return c, err
	}
	b, ev, err := toBool(c)
	if err != nil || ev != nil {
		return deref(ev), err
	}
	switch {
	case b && len(args) >= 2:
		return e.eval(args[1])
	case b:
		return udf.Bool(true), nil
	case len(args) == 3:
		return e.eval(args[2])
	}
	return udf.Bool(false), nil
}

func fnIfError(match func(udf.Value) bool) func(*evaluator, []Node) (udf.Value, error) {
	return func(e *evaluator, args []Node) (udf.Value, error) {
		v, err := e.eval(args[0])
		if err != nil {
			return v, err
		}
		if v.Kind() != udf.KindArray {
			if match(v) {
				return e.eval(args[1])
			}
			return v, nil
		}
		var fb *udf.Value
		return lift1(v, func(x udf.Value) (udf.Value, error) {
			if !match(x) {
				return x, nil
			}
			if fb == nil {
				f, err := e.scalarArg(args[1])
				if err != nil {
					return f, err
				}
				fb = &f
			}
			return *fb, nil
		})
	}
}

func fnLogic(and bool) func(*evaluator, []Node) (udf.Value, error) {
	return func(e *evaluator, args []Node) (udf.Value, error) {
		vals, err := e.evalAll(args, e.rangeArg)
		if err != nil {
			return udf.Value{}, err
		}
		res, seen := and, false
		for i, v := range vals {
			for _, x := range flatten(v) {
				if x.IsError() {
					return x, nil
				}
				_, isRef := args[i].(RefNode)
				if x.IsEmpty() || (x.Kind() == udf.KindText && (isRef || v.Kind() == udf.KindArray)) {
					continue // blanks and text in ranges are skipped
				}
				b, ev, err := toBool(x)
				if err != nil || ev != nil {
					return deref(ev), err
				}
				seen = true
				if and {
					res = res && b
				} else {
					res = res || b
				}
			}
		}
		if !seen {
			return udf.Error(udf.ErrValue, ""), nil
		}
		return udf.Bool(res), nil
	}
}

func flatten(v udf.Value) []udf.Value {
	if v.Kind() != udf.KindArray {
		return []udf.Value{v}
	}
	var out []udf.Value
	for _, r := range v.Rows() {
		out = append(out, r...)
	}
	return out
}

func boolFn(v udf.Value, f func(bool) bool) (udf.Value, error) {
	b, ev, err := toBool(v)
	if err != nil || ev != nil {
		return deref(ev), err
	}
	return udf.Bool(f(b)), nil
}

// scalar1 lifts a one-argument function over arrays.
func scalar1(f func(udf.Value) (udf.Value, error)) func(*evaluator, []Node) (udf.Value, error) {
	return func(e *evaluator, args []Node) (udf.Value, error) {
		v, err := e.eval(args[0])
		if err != nil {
			return v, err
		}
		return lift1(v, f)
	}
}

func textFn(f func(string) udf.Value) func(*evaluator, []Node) (udf.Value, error) {
	return scalar1(func(v udf.Value) (udf.Value, error) {
		if v.IsError() {
			return v, nil
		}
		s, err := toText(v)
		if err != nil {
			return udf.Value{}, err
		}
		return f(s), nil
	})
}

func numFn(f func(float64) float64) func(*evaluator, []Node) (udf.Value, error) {
	return scalar1(func(v udf.Value) (udf.Value, error) {
		n, ev, err := toNumber(v)
		if err != nil || ev != nil {
			return deref(ev), err
		}
		return number(f(n)), nil
	})
}

func isFn(f func(udf.Value) bool) func(*evaluator, []Node) (udf.Value, error) {
	return func(e *evaluator, args []Node) (udf.Value, error) {
		v, err := e.rangeArg(args[0])
		if err != nil {
			return v, err
		}
		return lift1(v, func(x udf.Value) (udf.Value, error) { return udf.Bool(f(x)), nil })
	}
}

// scalarNums evaluates arguments that must be single numbers.
func (e *evaluator) scalarNums(args []Node) ([]float64, *udf.Value, error) {
	vals, err := e.evalAll(args, e.scalarArg)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float64, len(vals))
	for i, v := range vals {
		n, ev, err := toNumber(v)
		if err != nil || ev != nil {
			return nil, ev, err
		}
		out[i] = n
	}
	return out, nil, nil
}

// IsUnsupported reports whether err says a formula cannot be evaluated faithfully.
func IsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }
