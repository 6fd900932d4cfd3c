package formula

import (
	"errors"
	"math"
	"strconv"
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

// trimSpaces is Excel's TRIM: spaces at both ends removed, runs inside collapsed to one.
func trimSpaces(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " ")
}

func fnConcatenate(e *evaluator, args []Node) (udf.Value, error) {
	vals, err := e.evalAll(args, e.eval)
	if err != nil {
		return udf.Value{}, err
	}
	acc := udf.Text("")
	for _, v := range vals {
		if acc, err = lift2(acc, v, func(a, b udf.Value) (udf.Value, error) { return binaryOp("&", a, b) }); err != nil {
			return acc, err
		}
	}
	return acc, nil
}

func joinText(vals []udf.Value, sep string, skipEmpty bool) (udf.Value, error) {
	var b strings.Builder
	first := true
	for _, v := range vals {
		for _, x := range flatten(v) {
			if x.IsError() {
				return x, nil
			}
			s, err := toText(x)
			if err != nil {
				return udf.Value{}, err
			}
			if skipEmpty && s == "" {
				continue
			}
			if !first {
				b.WriteString(sep)
			}
			first = false
			b.WriteString(s)
		}
	}
	if b.Len() > 32767 {
		return udf.Error(udf.ErrValue, ""), nil
	}
	return udf.Text(b.String()), nil
}

func fnConcat(e *evaluator, args []Node) (udf.Value, error) {
	vals, err := e.evalAll(args, e.rangeArg)
	if err != nil {
		return udf.Value{}, err
	}
	return joinText(vals, "", false)
}

func fnTextJoin(e *evaluator, args []Node) (udf.Value, error) {
	vals, err := e.evalAll(args, e.rangeArg)
	if err != nil {
		return udf.Value{}, err
	}
	if vals[0].Kind() == udf.KindArray {
		return udf.Value{}, unsupported("TEXTJOIN with several delimiters")
	}
	if vals[0].IsError() {
		return vals[0], nil
	}
	sep, err := toText(vals[0])
	if err != nil {
		return udf.Value{}, err
	}
	skip, ev, err := toBool(vals[1])
	if err != nil || ev != nil {
		return deref(ev), err
	}
	return joinText(vals[2:], sep, skip)
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

func fnLeftRight(left bool) func(*evaluator, []Node) (udf.Value, error) {
	return func(e *evaluator, args []Node) (udf.Value, error) {
		v, err := e.scalarArg(args[0])
		if err != nil || v.IsError() {
			return v, err
		}
		n := 1.0
		if len(args) == 2 {
			ns, ev, err := e.scalarNums(args[1:])
			if err != nil || ev != nil {
				return deref(ev), err
			}
			n = math.Trunc(ns[0])
		}
		if n < 0 {
			return udf.Error(udf.ErrValue, ""), nil
		}
		s, err := toText(v)
		if err != nil {
			return udf.Value{}, err
		}
		r := []rune(s)
		k := min(int(min(n, float64(len(r)))), len(r))
		if left {
			return udf.Text(string(r[:k])), nil
		}
		return udf.Text(string(r[len(r)-k:])), nil
	}
}

func fnMid(e *evaluator, args []Node) (udf.Value, error) {
	v, err := e.scalarArg(args[0])
	if err != nil || v.IsError() {
		return v, err
	}
	ns, ev, err := e.scalarNums(args[1:])
	if err != nil || ev != nil {
		return deref(ev), err
	}
	start, n := math.Trunc(ns[0]), math.Trunc(ns[1])
	if start < 1 || n < 0 {
		return udf.Error(udf.ErrValue, ""), nil
	}
	s, err := toText(v)
	if err != nil {
		return udf.Value{}, err
	}
	r := []rune(s)
	if start > float64(len(r)) {
		return udf.Text(""), nil
	}
	from := int(start) - 1
	to := len(r)
	if float64(from)+n < float64(len(r)) {
		to = from + int(n)
	}
	return udf.Text(string(r[from:to])), nil
}

func fnRound(mode roundMode) func(*evaluator, []Node) (udf.Value, error) {
	return func(e *evaluator, args []Node) (udf.Value, error) {
		x, err := e.eval(args[0])
		if err != nil {
			return x, err
		}
		ns, ev, err := e.scalarNums(args[1:])
		if err != nil || ev != nil {
			return deref(ev), err
		}
		digits := int(math.Trunc(ns[0]))
		return lift1(x, func(v udf.Value) (udf.Value, error) {
			n, ev, err := toNumber(v)
			if err != nil || ev != nil {
				return deref(ev), err
			}
			return number(roundDecimal(n, digits, mode)), nil
		})
	}
}

func fnIndex(e *evaluator, args []Node) (udf.Value, error) {
	arr, err := e.rangeArg(args[0])
	if err != nil {
		return arr, err
	}
	ns, ev, err := e.scalarNums(args[1:])
	if err != nil || ev != nil {
		return deref(ev), err
	}
	if arr.IsError() {
		return arr, nil
	}
	rows := asRows(arr)
	r, c := int(ns[0]), 1
	if len(ns) == 2 {
		c = int(ns[1])
	} else if len(rows) == 1 {
		r, c = 1, int(ns[0]) // INDEX(row, n) counts along the row
	}
	if r < 1 || c < 1 {
		if r == 0 || c == 0 {
			return udf.Value{}, unsupported("INDEX of a whole row or column")
		}
		return udf.Error(udf.ErrValue, ""), nil
	}
	if r > len(rows) || c > len(rows[0]) {
		return udf.Error(udf.ErrRef, ""), nil
	}
	return rows[r-1][c-1], nil
}

// fnAggregate is SUM, MIN, MAX and AVERAGE: numbers in ranges and arrays
// count, their text, booleans and blanks are skipped; single arguments are
// coerced to numbers.
func fnAggregate(name string) func(*evaluator, []Node) (udf.Value, error) {
	return func(e *evaluator, args []Node) (udf.Value, error) {
		vals, err := e.evalAll(args, e.rangeArg)
		if err != nil {
			return udf.Value{}, err
		}
		var nums []float64
		for i, v := range vals {
			_, isRef := args[i].(RefNode)
			if v.Kind() == udf.KindArray || isRef {
				for _, x := range flatten(v) {
					if x.IsError() {
						return x, nil
					}
					if x.Kind() == udf.KindNumber {
						nums = append(nums, x.Num())
					}
				}
				continue
			}
			n, ev, err := toNumber(v)
			if err != nil || ev != nil {
				return deref(ev), err
			}
			nums = append(nums, n)
		}
		switch name {
		case "SUM":
			s := 0.0
			for _, n := range nums {
				s += n
			}
			return number(s), nil
		case "AVERAGE":
			if len(nums) == 0 {
				return udf.Error(udf.ErrDiv0, ""), nil
			}
			s := 0.0
			for _, n := range nums {
				s += n
			}
			return number(s / float64(len(nums))), nil
		}
		if len(nums) == 0 {
			return udf.Number(0), nil
		}
		m := nums[0]
		for _, n := range nums[1:] {
			if name == "MIN" {
				m = math.Min(m, n)
			} else {
				m = math.Max(m, n)
			}
		}
		return number(m), nil
	}
}

func fnValue(e *evaluator, args []Node) (udf.Value, error) {
	v, err := e.scalarArg(args[0])
	if err != nil || v.IsError() {
		return v, err
	}
	if v.Kind() == udf.KindBool {
		return udf.Error(udf.ErrValue, ""), nil
	}
	if v.Kind() == udf.KindText && strings.TrimSpace(v.Str()) == "" {
		return udf.Error(udf.ErrValue, ""), nil
	}
	n, ev, err := toNumber(v)
	if err != nil || ev != nil {
		return deref(ev), err
	}
	return number(n), nil
}

// fnText supports the formats whose output does not depend on the locale:
// "@", "General", "0", "0.0…" and "#,##0…" is refused.
func fnText(e *evaluator, args []Node) (udf.Value, error) {
	vals, err := e.evalAll(args, e.scalarArg)
	if err != nil {
		return udf.Value{}, err
	}
	v, fv := vals[0], vals[1]
	if v.IsError() {
		return v, nil
	}
	if fv.IsError() {
		return fv, nil
	}
	format, err := toText(fv)
	if err != nil {
		return udf.Value{}, err
	}
	if v.Kind() == udf.KindText || v.Kind() == udf.KindBool {
		if format == "@" || strings.EqualFold(format, "General") || decimalsOf(format) >= 0 {
			s, _ := toText(v)
			return udf.Text(s), nil
		}
		return udf.Value{}, unsupported("TEXT format %q", format)
	}
	n, ev, err := toNumber(v)
	if err != nil || ev != nil {
		return deref(ev), err
	}
	if format == "@" || strings.EqualFold(format, "General") {
		s, err := GeneralText(n)
		if err != nil {
			return udf.Value{}, err
		}
		return udf.Text(s), nil
	}
	d := decimalsOf(format)
	if d < 0 {
		return udf.Value{}, unsupported("TEXT format %q", format)
	}
	r := roundDecimal(n, d, roundHalfAway)
	if math.Abs(r) >= 1e15 {
		return udf.Value{}, unsupported("TEXT of %g", n)
	}
	s := strconv.FormatFloat(r, 'f', d, 64)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-")
	}
	return udf.Text(s), nil
}

// decimalsOf returns n for the formats "0" and "0." followed by n zeros, else -1.
func decimalsOf(f string) int {
	if f == "0" {
		return 0
	}
	if !strings.HasPrefix(f, "0.") || len(f) == 2 || strings.Trim(f[2:], "0") != "" {
		return -1
	}
	return len(f) - 2
}

// fnSingle is the @ operator (stored as _xlfn.SINGLE): the first element of
// an array; ranges would be intersected with the formula's row or column, so
// only single cells are accepted.
func fnSingle(e *evaluator, args []Node) (udf.Value, error) {
	v, err := e.eval(args[0])
	if err != nil {
		return v, err
	}
	if v.Kind() == udf.KindArray {
		return asRows(v)[0][0], nil
	}
	return v, nil
}

// IsUnsupported reports whether err says a formula cannot be evaluated faithfully.
func IsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }
