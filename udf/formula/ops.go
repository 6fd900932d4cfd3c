package formula

import (
	"math"
	"strconv"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
)

// lift1 applies f to a scalar, or to every element of an array.
func lift1(v udf.Value, f func(udf.Value) (udf.Value, error)) (udf.Value, error) {
	if v.Kind() != udf.KindArray {
		return f(v)
	}
	in := v.Rows()
	out := make([][]udf.Value, len(in))
	for i, row := range in {
		out[i] = make([]udf.Value, len(row))
		for j, c := range row {
			r, err := f(c)
			if err != nil {
				return udf.Value{}, err
			}
			out[i][j] = r
		}
	}
	return udf.Array(out), nil
}

// lift2 applies f pairwise the way Excel broadcasts arrays: a single row or
// column is repeated, and positions one operand lacks give #N/A.
func lift2(a, b udf.Value, f func(x, y udf.Value) (udf.Value, error)) (udf.Value, error) {
	if a.Kind() != udf.KindArray && b.Kind() != udf.KindArray {
		return f(a, b)
	}
	ar, br := asRows(a), asRows(b)
	h := max(len(ar), len(br))
	w := max(len(ar[0]), len(br[0]))
	at := func(rows [][]udf.Value, i, j int) (udf.Value, bool) {
		if len(rows) == 1 {
			i = 0
		}
		if len(rows[0]) == 1 {
			j = 0
		}
		if i >= len(rows) || j >= len(rows[0]) {
			return udf.Value{}, false
		}
		return rows[i][j], true
	}
	out := make([][]udf.Value, h)
	for i := range out {
		out[i] = make([]udf.Value, w)
		for j := range out[i] {
			x, ok1 := at(ar, i, j)
			y, ok2 := at(br, i, j)
			if !ok1 || !ok2 {
				out[i][j] = udf.Error(udf.ErrNA, "")
				continue
			}
			r, err := f(x, y)
			if err != nil {
				return udf.Value{}, err
			}
			out[i][j] = r
		}
	}
	return udf.Array(out), nil
}

func asRows(v udf.Value) [][]udf.Value {
	if v.Kind() == udf.KindArray && len(v.Rows()) > 0 && len(v.Rows()[0]) > 0 {
		return v.Rows()
	}
	return [][]udf.Value{{v}}
}

func unaryOp(op byte, v udf.Value) (udf.Value, error) {
	n, ev, err := toNumber(v)
	if err != nil || ev != nil {
		return deref(ev), err
	}
	switch op {
	case '-':
		return number(-n), nil
	case '%':
		return number(n / 100), nil
	}
	return number(n), nil
}

func binaryOp(op string, a, b udf.Value) (udf.Value, error) {
	switch op {
	case "&":
		if a.IsError() {
			return a, nil
		}
		if b.IsError() {
			return b, nil
		}
		x, err := toText(a)
		if err != nil {
			return udf.Value{}, err
		}
		y, err := toText(b)
		if err != nil {
			return udf.Value{}, err
		}
		return udf.Text(x + y), nil
	case "=", "<>", "<", ">", "<=", ">=":
		if a.IsError() {
			return a, nil
		}
		if b.IsError() {
			return b, nil
		}
		c, err := compare(a, b, op == "=" || op == "<>")
		if err != nil {
			return udf.Value{}, err
		}
		switch op {
		case "=":
			return udf.Bool(c == 0), nil
		case "<>":
			return udf.Bool(c != 0), nil
		case "<":
			return udf.Bool(c < 0), nil
		case ">":
			return udf.Bool(c > 0), nil
		case "<=":
			return udf.Bool(c <= 0), nil
		}
		return udf.Bool(c >= 0), nil
	}
	x, ev, err := toNumber(a)
	if err != nil || ev != nil {
		return deref(ev), err
	}
	y, ev, err := toNumber(b)
	if err != nil || ev != nil {
		return deref(ev), err
	}
	switch op {
	case "+":
		return number(x + y), nil
	case "-":
		return number(x - y), nil
	case "*":
		return number(x * y), nil
	case "/":
		if y == 0 {
			return udf.Error(udf.ErrDiv0, ""), nil
		}
		return number(x / y), nil
	case "^":
		if x == 0 && y == 0 {
			return udf.Error(udf.ErrNum, ""), nil
		}
		if x == 0 && y < 0 {
			return udf.Error(udf.ErrDiv0, ""), nil
		}
		return number(math.Pow(x, y)), nil
	}
	return udf.Value{}, unsupported("operator %s", op)
}

// number turns NaN and infinities into #NUM!, as Excel does.
func number(f float64) udf.Value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return udf.Error(udf.ErrNum, "")
	}
	if f == 0 {
		f = 0 // no negative zero
	}
	return udf.Number(f)
}

// toNumber coerces for arithmetic. The second result is set when the value
// is an Excel error (its own, or #VALUE! for text that is not a number).
// Text Excel might read as a date, time, percentage or currency is refused.
func toNumber(v udf.Value) (float64, *udf.Value, error) {
	switch v.Kind() {
	case udf.KindNumber:
		return v.Num(), nil, nil
	case udf.KindBool:
		if v.Truth() {
			return 1, nil, nil
		}
		return 0, nil, nil
	case udf.KindEmpty:
		return 0, nil, nil
	case udf.KindError:
		return 0, &v, nil
	case udf.KindText:
		s := strings.TrimSpace(v.Str())
		if plainNumber(s) {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				return f, nil, nil
			}
		}
		if strings.ContainsAny(s, "0123456789") {
			return 0, nil, unsupported("text %q used as a number", v.Str())
		}
		e := udf.Error(udf.ErrValue, "")
		return 0, &e, nil
	}
	return 0, nil, unsupported("an array used as a number")
}

func plainNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789.eE+-", rune(s[i])) {
			return false
		}
	}
	return true
}

// toText converts for & and text functions. Errors must be handled first.
func toText(v udf.Value) (string, error) {
	switch v.Kind() {
	case udf.KindText:
		return v.Str(), nil
	case udf.KindEmpty:
		return "", nil
	case udf.KindBool:
		return v.String(), nil
	case udf.KindNumber:
		return GeneralText(v.Num())
	}
	return "", unsupported("an array used as text")
}

// GeneralText formats a number as Excel's General format turns it into
// text: up to 15 significant digits, no exponent. Numbers Excel would write
// with an exponent are refused rather than guessed.
func GeneralText(f float64) (string, error) {
	if f == 0 {
		return "0", nil
	}
	s := strconv.FormatFloat(f, 'g', 15, 64)
	if strings.ContainsAny(s, "eE") {
		return "", unsupported("text form of %g", f)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s, nil
}

// toBool coerces a condition.
func toBool(v udf.Value) (bool, *udf.Value, error) {
	switch v.Kind() {
	case udf.KindBool:
		return v.Truth(), nil, nil
	case udf.KindNumber:
		return v.Num() != 0, nil, nil
	case udf.KindEmpty:
		return false, nil, nil
	case udf.KindError:
		return false, &v, nil
	case udf.KindText:
		switch strings.ToUpper(v.Str()) {
		case "TRUE":
			return true, nil, nil
		case "FALSE":
			return false, nil, nil
		}
		e := udf.Error(udf.ErrValue, "")
		return false, &e, nil
	}
	return false, nil, unsupported("an array used as a condition")
}

// compare orders two scalars the way Excel's comparison operators do:
// numbers < text < booleans, text case-insensitively, blank as 0, "" or FALSE.
// Ordering text beyond letters, digits and spaces depends on Excel's
// collation and is refused.
func compare(a, b udf.Value, equality bool) (int, error) {
	rank := func(v udf.Value) int {
		switch v.Kind() {
		case udf.KindNumber:
			return 0
		case udf.KindText:
			return 1
		case udf.KindBool:
			return 2
		}
		return -1
	}
	if a.Kind() == udf.KindArray || b.Kind() == udf.KindArray {
		return 0, unsupported("an array compared")
	}
	if a.IsEmpty() && b.IsEmpty() {
		return 0, nil
	}
	if a.IsEmpty() {
		c, err := compare(b, a, equality)
		return -c, err
	}
	if b.IsEmpty() {
		switch a.Kind() {
		case udf.KindNumber:
			b = udf.Number(0)
		case udf.KindText:
			b = udf.Text("")
		case udf.KindBool:
			b = udf.Bool(false)
		}
	}
	ra, rb := rank(a), rank(b)
	if ra != rb {
		if ra < rb {
			return -1, nil
		}
		return 1, nil
	}
	switch a.Kind() {
	case udf.KindNumber:
		return cmpFloat(a.Num(), b.Num()), nil
	case udf.KindBool:
		return cmpFloat(boolNum(a), boolNum(b)), nil
	}
	x, y := a.Str(), b.Str()
	if strings.EqualFold(x, y) {
		return 0, nil
	}
	if equality {
		return 1, nil
	}
	if !simpleText(x) || !simpleText(y) {
		return 0, unsupported("ordering of text %q and %q", x, y)
	}
	return strings.Compare(strings.ToLower(x), strings.ToLower(y)), nil
}

func simpleText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLetter(c) || isDigit(c)) {
			return false
		}
	}
	return true
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func boolNum(v udf.Value) float64 {
	if v.Truth() {
		return 1
	}
	return 0
}

// roundMode selects ROUND, ROUNDUP or ROUNDDOWN.
type roundMode int

const (
	roundHalfAway roundMode = iota
	roundAway
	roundToward
)

// roundDecimal rounds x to n decimal places on its 15-significant-digit
// decimal form, which is how Excel gets ROUND(2.675,2) = 2.68 where binary
// floating point alone gives 2.67.
func roundDecimal(x float64, n int, mode roundMode) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	sign := 1.0
	if x < 0 {
		sign = -1
	}
	s := strconv.FormatFloat(math.Abs(x), 'e', 14, 64) // d.dddddddddddddde±XX
	mant, expS, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expS)
	digits := strings.Replace(mant, ".", "", 1) // x = 0.digits × 10^(exp+1)
	k := exp + 1 + n                            // digits to keep
	if k >= len(digits) {
		return x
	}
	unit := sign * math.Pow(10, -float64(n))
	if k <= 0 {
		switch {
		case mode == roundAway, mode == roundHalfAway && k == 0 && digits[0] >= '5':
			return unit
		}
		return 0
	}
	kept, rest := []byte(digits[:k]), digits[k:]
	up := mode == roundHalfAway && rest[0] >= '5' || mode == roundAway && strings.Trim(rest, "0") != ""
	if up {
		i := len(kept) - 1
		for ; i >= 0 && kept[i] == '9'; i-- {
			kept[i] = '0'
		}
		if i < 0 {
			kept = append([]byte("1"), kept...)
		} else {
			kept[i]++
		}
	}
	f, err := strconv.ParseFloat(string(kept)+"e"+strconv.Itoa(-n), 64)
	if err != nil {
		return x
	}
	return sign * f
}
