package formula

import (
	"math"
	"strconv"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
)

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
