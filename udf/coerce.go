package udf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// coerceArgs checks a call's arguments against spec and converts them as
// Excel converts a cell's value for a typed parameter. It returns the
// converted arguments (omitted trailing optionals as Empty), or, when the
// call cannot run, the value that answers it instead: the first error value
// among scalar arguments (Excel propagates it), or #VALUE! with a message
// naming the argument.
//
// With sc, the result and one scalar wrapped for a matrix parameter are
// built in sc's storage when they fit, saving allocations on the hot path.
func coerceArgs(spec *Spec, args []Value, sc *scratch) ([]Value, Value, bool) {
	min, max := spec.minArgs(), spec.maxArgs()
	n := len(args)
	// Trailing omitted optionals may arrive as explicit nulls; they do not
	// count against the maximum.
	for n > min && args[n-1].kind == KindEmpty {
		n--
	}
	if n < min {
		return nil, Errorf(ErrValue, "%s needs %s, got %d: missing %s",
			spec.Name, plural(min, "argument"), len(args), spec.Params[len(args)].Name), false
	}
	if max >= 0 && n > max {
		return nil, Errorf(ErrValue, "%s takes at most %s, got %d (%s)",
			spec.Name, plural(max, "argument"), n, spec.Signature()), false
	}
	size := len(spec.Params)
	if n > size {
		size = n
	}
	var out []Value
	if sc != nil && size <= len(sc.args) {
		out = sc.args[:size]
	} else {
		out = make([]Value, size)
	}
	for i := range out {
		p := spec.paramAt(i)
		var v Value
		if i < len(args) {
			v = args[i]
		}
		if v.kind == KindEmpty && p.Optional {
			continue // omitted: the function applies its default
		}
		c, ok := coerceParam(p, v, sc)
		if !ok {
			if !isErrorArgument(v) {
				c = Errorf(ErrValue, "%s argument %s: %s", spec.Name, p.Name, c.str)
			}
			return nil, c, false
		}
		out[i] = c
	}
	return out, Value{}, true
}

// scratch is storage for one call's coerced arguments, allocated together
// with the call's other per-call state.
type scratch struct {
	args [5]Value
	rows [1][]Value
	cell [1]Value
	used bool // rows and cell hold a wrapped scalar already
}

// single wraps v as a 1×1 array, in sc's storage the first time.
func (sc *scratch) single(v Value) Value {
	if sc == nil || sc.used {
		return Single(v)
	}
	sc.used = true
	sc.cell[0] = v
	sc.rows[0] = sc.cell[:]
	return Array(sc.rows[:])
}

// Single returns a 1×1 array holding v, in one allocation.
func Single(v Value) Value {
	p := &struct {
		rows [1][]Value
		cell [1]Value
	}{}
	p.cell[0] = v
	p.rows[0] = p.cell[:]
	return Array(p.rows[:])
}

// Pair returns a 1×2 array [a, b], in one allocation.
func Pair(a, b Value) Value {
	p := &struct {
		rows  [1][]Value
		cells [2]Value
	}{}
	p.cells[0], p.cells[1] = a, b
	p.rows[0] = p.cells[:]
	return Array(p.rows[:])
}

// isErrorArgument reports an error value, alone or as a single cell: the
// argument coerceParam propagates unchanged.
func isErrorArgument(v Value) bool {
	if v.kind == KindArray && len(v.rows) == 1 && len(v.rows[0]) == 1 {
		v = v.rows[0][0]
	}
	return v.kind == KindError
}

// paramAt returns the parameter the i-th argument binds to; arguments past
// the end bind to the repeating last parameter.
func (s *Spec) paramAt(i int) Param {
	if i < len(s.Params) {
		return s.Params[i]
	}
	return s.Params[len(s.Params)-1]
}

// coerceParam converts one argument. On failure it returns an error value:
// the argument itself when it is an error, else #VALUE! with a message that
// the caller prefixes with the argument's name.
func coerceParam(p Param, v Value, sc *scratch) (Value, bool) {
	if p.Dim == Matrix {
		if v.kind != KindArray {
			v = sc.single(v)
		}
		if len(v.rows) == 0 || len(v.rows[0]) == 0 {
			return Error(ErrValue, "empty range"), false
		}
		// Elements are converted one by one; an element that cannot be is
		// replaced by its error so one bad cell spoils only its own result.
		var rows [][]Value
		for i, row := range v.rows {
			for j, c := range row {
				e := c
				if c.kind != KindEmpty && c.kind != KindError {
					var ok bool
					if e, ok = coerceScalar(p.Type, c); !ok {
						e = Errorf(ErrValue, "argument %s, row %d, column %d: %s", p.Name, i+1, j+1, e.str)
					}
				}
				if rows == nil && !same(e, c) {
					rows = cloneRows(v.rows)
				}
				if rows != nil {
					rows[i][j] = e
				}
			}
		}
		if rows == nil {
			return v, true
		}
		return Array(rows), true
	}
	if v.kind == KindArray {
		if len(v.rows) != 1 || len(v.rows[0]) != 1 {
			return Errorf(ErrValue, "expected a single value, got a %s", shape(v)), false
		}
		v = v.rows[0][0]
	}
	if v.kind == KindError {
		return v, false
	}
	return coerceScalar(p.Type, v)
}

// coerceScalar converts a non-array, non-error value to t.
func coerceScalar(t Type, v Value) (Value, bool) {
	switch t {
	case TypeNumber:
		switch v.kind {
		case KindNumber:
			return v, true
		case KindBool, KindEmpty:
			return Number(v.num), true // TRUE is 1, FALSE and a blank cell 0
		case KindText:
			if f, ok := ParseNumber(v.str); ok {
				return Number(f), true
			}
			return Errorf(ErrValue, "expected a number, got text %q", clip(v.str)), false
		}
	case TypeString:
		switch v.kind {
		case KindText:
			return v, true
		case KindEmpty:
			return Text(""), true
		case KindNumber, KindBool:
			return Text(v.Display()), true
		}
	case TypeBoolean:
		switch v.kind {
		case KindBool:
			return v, true
		case KindEmpty:
			return Bool(false), true
		case KindNumber:
			return Bool(v.num != 0), true
		case KindText:
			switch strings.ToUpper(strings.TrimSpace(v.str)) {
			case "TRUE":
				return Bool(true), true
			case "FALSE":
				return Bool(false), true
			}
			return Errorf(ErrValue, "expected TRUE or FALSE, got text %q", clip(v.str)), false
		}
	case TypeAny:
		return v, true
	}
	return Errorf(ErrValue, "cannot use %s as %s", v.kind, t), false
}

// ParseNumber reads text the way Excel reads a number typed into a cell:
// surrounding spaces, a sign, thousands separators in groups of three, a
// decimal point, an exponent and a trailing percent sign. Dates and
// currencies are not recognised.
func ParseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	percent := false
	if strings.HasSuffix(s, "%") {
		percent = true
		s = strings.TrimSpace(s[:len(s)-1])
	}
	if s == "" {
		return 0, false
	}
	if strings.ContainsRune(s, ',') {
		var ok bool
		if s, ok = dropThousands(s); !ok {
			return 0, false
		}
	}
	// strconv accepts forms Excel does not: hex, underscores, inf and nan.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	if percent {
		f /= 100
	}
	return f, true
}

// dropThousands removes thousands separators from the integer part, which
// must be in groups of three ("1,234,567.5"), or fails.
func dropThousands(s string) (string, bool) {
	sign := ""
	if s[0] == '-' || s[0] == '+' {
		sign, s = s[:1], s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	groups := strings.Split(intPart, ",")
	if len(groups[0]) < 1 || len(groups[0]) > 3 {
		return "", false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 {
			return "", false
		}
	}
	out := sign + strings.Join(groups, "")
	if hasFrac {
		out += "." + frac
	}
	return out, true
}

// Display renders a scalar as Excel's General format shows it when it turns
// a number or boolean into text: up to 15 significant digits, plain notation
// for ordinary magnitudes, E notation otherwise.
func (v Value) Display() string {
	switch v.kind {
	case KindNumber:
		f := v.num
		if f == 0 {
			return "0"
		}
		a := math.Abs(f)
		if a >= 1e-9 && a < 1e15 {
			s := strconv.FormatFloat(f, 'f', -1, 64)
			if p, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 15, 64), 64); err == nil {
				s = strconv.FormatFloat(p, 'f', -1, 64)
			}
			return s
		}
		return strconv.FormatFloat(f, 'E', -1, 64)
	case KindEmpty:
		return ""
	}
	return v.String()
}

func (k Kind) String() string {
	switch k {
	case KindEmpty:
		return "a blank"
	case KindNumber:
		return "a number"
	case KindText:
		return "text"
	case KindBool:
		return "a boolean"
	case KindError:
		return "an error"
	case KindArray:
		return "a range"
	}
	return "an unknown value"
}

func shape(v Value) string {
	cols := 0
	if len(v.rows) > 0 {
		cols = len(v.rows[0])
	}
	return fmt.Sprintf("%d×%d range", len(v.rows), cols)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// clip shortens text quoted in a message.
func clip(s string) string {
	const max = 40
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

// same reports whether a and b are the same scalar, without comparing arrays.
func same(a, b Value) bool {
	return a.kind == b.kind && a.num == b.num && a.str == b.str && a.code == b.code && a.kind != KindArray
}

func cloneRows(rows [][]Value) [][]Value {
	out := make([][]Value, len(rows))
	for i, r := range rows {
		out[i] = append([]Value(nil), r...)
	}
	return out
}
