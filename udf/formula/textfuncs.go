package formula

import (
	"math"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
)

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
