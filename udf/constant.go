package udf

import (
	"fmt"
	"strings"
)

// ParseConstant reads text as Excel reads a constant typed into a cell or a
// formula: "" is blank, TRUE and FALSE (any case) are booleans, a number
// (see ParseNumber) is a number, an error literal such as #N/A is that
// error, a leading apostrophe forces text ("'42" is the text 42), and an
// array constant {1,2;"a",TRUE} is a 2-D array (commas separate columns,
// semicolons rows, text in double quotes with "" for a quote). Anything
// else is text as written. Only a malformed array constant is an error.
func ParseConstant(s string) (Value, error) {
	switch {
	case s == "":
		return Empty(), nil
	case s[0] == '\'':
		return Text(s[1:]), nil
	case strings.HasPrefix(strings.TrimSpace(s), "{"):
		return parseArrayConstant(strings.TrimSpace(s))
	}
	return scalarConstant(s), nil
}

func scalarConstant(s string) Value {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TRUE":
		return Bool(true)
	case "FALSE":
		return Bool(false)
	}
	if f, ok := ParseNumber(s); ok {
		return Number(f)
	}
	if c, ok := ParseErrorCode(s); ok {
		return Error(c, "")
	}
	return Text(s)
}

// parseArrayConstant reads {a,b;c,d}. Elements are numbers, booleans,
// errors or quoted text; rows must have equal lengths.
func parseArrayConstant(s string) (Value, error) {
	if !strings.HasSuffix(s, "}") {
		return Value{}, fmt.Errorf("array constant %q: missing closing }", clip(s))
	}
	body := s[1 : len(s)-1]
	var rows [][]Value
	row := []Value{}
	i := 0
	for {
		for i < len(body) && body[i] == ' ' {
			i++
		}
		var v Value
		if i < len(body) && body[i] == '"' {
			var b strings.Builder
			i++
			for {
				if i >= len(body) {
					return Value{}, fmt.Errorf("array constant %q: unterminated text", clip(s))
				}
				if body[i] == '"' {
					if i+1 < len(body) && body[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(body[i])
				i++
			}
			v = Text(b.String())
			for i < len(body) && body[i] == ' ' {
				i++
			}
		} else {
			j := i
			for j < len(body) && body[j] != ',' && body[j] != ';' {
				j++
			}
			tok := strings.TrimSpace(body[i:j])
			if tok == "" {
				return Value{}, fmt.Errorf("array constant %q: empty element", clip(s))
			}
			v = scalarConstant(tok)
			if v.Kind() == KindText {
				return Value{}, fmt.Errorf("array constant %q: text %q must be in double quotes", clip(s), tok)
			}
			i = j
		}
		row = append(row, v)
		if i >= len(body) {
			break
		}
		switch body[i] {
		case ',':
		case ';':
			rows = append(rows, row)
			row = []Value{}
		default:
			return Value{}, fmt.Errorf("array constant %q: expected , or ; after an element", clip(s))
		}
		i++
	}
	rows = append(rows, row)
	for r := range rows {
		if len(rows[r]) != len(rows[0]) {
			return Value{}, fmt.Errorf("array constant %q: row %d has %d values, row 1 has %d", clip(s), r+1, len(rows[r]), len(rows[0]))
		}
	}
	return Array(rows), nil
}
