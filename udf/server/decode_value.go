package server

import (
	"fmt"
	"strconv"

	"github.com/xlbatch/xlbatch/udf"
)

// The spreadsheet values of a call's arguments, read straight from the
// frame with the mapping of the wire protocol.

// value reads one spreadsheet value at nesting depth (0: an argument, 1: a
// row, 2: a cell). bad describes valid JSON that is not a protocol value.
func (d *decoder) value(depth int) (v udf.Value, bad string, err error) {
	switch c := d.peek(); {
	case c == '"':
		s, err := d.str()
		return udf.Text(s), "", err
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.pos
		if err := d.number(); err != nil {
			return v, "", err
		}
		f, perr := strconv.ParseFloat(string(d.data[start:d.pos]), 64)
		if perr != nil {
			return v, "number out of range", nil
		}
		return udf.Number(f), "", nil
	case d.literal("true"):
		return udf.Bool(true), "", nil
	case d.literal("false"):
		return udf.Bool(false), "", nil
	case d.literal("null"):
		return udf.Empty(), "", nil
	case c == '{':
		return d.errorValue()
	case c == '[':
		if depth >= 2 {
			err := d.skip()
			return v, "arrays cannot be nested", err
		}
		return d.array(depth)
	}
	return v, "", d.errorf("invalid value")
}

// array reads a range: an array of rows of scalars, never ragged.
func (d *decoder) array(depth int) (udf.Value, string, error) {
	// depth is 0 here: value refuses arrays inside cells.
	d.pos++                 // [
	rows := [][]udf.Value{} // empty, not nil, as udf.Value's own decoding gives
	bad := ""
	d.space()
	if d.peek() == ']' {
		d.pos++
		return udf.Array(rows), "", nil
	}
	for {
		if d.peek() != '[' {
			if err := d.skip(); err != nil {
				return udf.Value{}, "", err
			}
			if bad == "" {
				bad = "an array value must be an array of rows"
			}
		} else {
			d.pos++
			row := []udf.Value{}
			d.space()
			if d.peek() == ']' {
				d.pos++
			} else {
				for {
					cell, cbad, err := d.value(depth + 2)
					if err != nil {
						return udf.Value{}, "", err
					}
					if cbad != "" && bad == "" {
						bad = cbad
					}
					row = append(row, cell)
					if end, err := d.listNext(']', "in a row"); err != nil {
						return udf.Value{}, "", err
					} else if end {
						break
					}
				}
			}
			if len(rows) > 0 && len(row) != len(rows[0]) && bad == "" {
				bad = fmt.Sprintf("ragged array: row %d has %d values, row 1 has %d", len(rows)+1, len(row), len(rows[0]))
			}
			rows = append(rows, row)
		}
		if end, err := d.listNext(']', "in an array"); err != nil {
			return udf.Value{}, "", err
		} else if end {
			break
		}
	}
	return udf.Array(rows), bad, nil
}

// errorValue reads {"error": code, "message": optional}.
func (d *decoder) errorValue() (udf.Value, string, error) {
	d.pos++ // {
	var code, msg string
	hasCode, bad := false, ""
	d.space()
	if d.peek() == '}' {
		d.pos++
		return udf.Value{}, `an object value must be {"error": code}`, nil
	}
	for {
		key, err := d.strBytes()
		if err != nil {
			return udf.Value{}, "", err
		}
		d.space()
		if d.next() != ':' {
			d.pos--
			return udf.Value{}, "", d.errorf("expected : after an object key")
		}
		d.space()
		switch k := string(key); {
		case k == "error" && d.peek() == '"':
			code, err = d.str()
			hasCode = true
		case k == "message" && d.peek() == '"':
			msg, err = d.str()
		default:
			err = d.skip()
			if k == "error" || k == "message" {
				bad = "an error's code and message must be strings"
			}
		}
		if err != nil {
			return udf.Value{}, "", err
		}
		if end, err := d.listNext('}', "in an object"); err != nil {
			return udf.Value{}, "", err
		} else if end {
			break
		}
	}
	if bad == "" && (!hasCode || !udf.ErrorCode(code).Valid()) {
		bad = `an object value must be {"error": code} with one of the seven Excel error codes`
	}
	if bad != "" {
		return udf.Value{}, bad, nil
	}
	return udf.Error(udf.ErrorCode(code), msg), "", nil
}
