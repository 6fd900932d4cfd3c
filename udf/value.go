// Package udf is the spreadsheet-function model shared by the live server and
// the workbook filler: values, errors, function specs and the registry.
package udf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the type of a spreadsheet value.
type Kind uint8

const (
	KindEmpty Kind = iota // a blank cell or an omitted optional argument
	KindNumber
	KindText
	KindBool
	KindError
	KindArray
)

// ErrorCode is one of the seven Excel error values a custom function can produce.
type ErrorCode string

const (
	ErrNull  ErrorCode = "#NULL!"
	ErrDiv0  ErrorCode = "#DIV/0!"
	ErrValue ErrorCode = "#VALUE!"
	ErrRef   ErrorCode = "#REF!"
	ErrName  ErrorCode = "#NAME?"
	ErrNum   ErrorCode = "#NUM!"
	ErrNA    ErrorCode = "#N/A"
)

// Valid reports whether c is one of the seven codes.
func (c ErrorCode) Valid() bool {
	switch c {
	case ErrNull, ErrDiv0, ErrValue, ErrRef, ErrName, ErrNum, ErrNA:
		return true
	}
	return false
}

// MessageAllowed reports whether Office can show a custom message with the
// code: only #VALUE! and #N/A carry one.
func (c ErrorCode) MessageAllowed() bool { return c == ErrValue || c == ErrNA }

// ErrorCodes lists the seven codes in Excel's order.
func ErrorCodes() []ErrorCode {
	return []ErrorCode{ErrNull, ErrDiv0, ErrValue, ErrRef, ErrName, ErrNum, ErrNA}
}

// ParseErrorCode recognises a typed error constant such as "#n/a"
// (case-insensitive, surrounding spaces ignored).
func ParseErrorCode(s string) (ErrorCode, bool) {
	c := ErrorCode(strings.ToUpper(strings.TrimSpace(s)))
	return c, c.Valid()
}

// Value is an immutable spreadsheet value. The zero Value is empty.
type Value struct {
	kind Kind
	code errCode   // KindError
	num  float64   // KindNumber; KindBool as 0/1
	str  string    // KindText; KindError message
	rows [][]Value // KindArray, never ragged
}

// errCode stores an ErrorCode in one byte, keeping Value small: the hot
// path of a cached call allocates a few of them.
type errCode uint8

var errCodes = [...]ErrorCode{"", ErrNull, ErrDiv0, ErrValue, ErrRef, ErrName, ErrNum, ErrNA}

func toErrCode(c ErrorCode) errCode {
	for i, e := range errCodes {
		if e == c && i > 0 {
			return errCode(i)
		}
	}
	return 0
}

// ErrorCode returns the code's text.
func (c errCode) ErrorCode() ErrorCode { return errCodes[c] }

// MessageAllowed reports whether Office shows a message with the code.
func (c errCode) MessageAllowed() bool { return c.ErrorCode().MessageAllowed() }

// Empty returns the blank value.
func Empty() Value { return Value{} }

// Number returns a number value.
func Number(f float64) Value { return Value{kind: KindNumber, num: f} }

// Text returns a text value.
func Text(s string) Value { return Value{kind: KindText, str: s} }

// Bool returns TRUE or FALSE.
func Bool(b bool) Value {
	v := Value{kind: KindBool}
	if b {
		v.num = 1
	}
	return v
}

// Error returns an error value with an optional message (shown by Excel for #VALUE! and #N/A).
func Error(code ErrorCode, message string) Value {
	if !code.Valid() {
		// Not one of the seven: Excel would show #VALUE!, so do we, keeping
		// the message and naming the bad code.
		return Value{kind: KindError, code: toErrCode(ErrValue), str: strings.TrimSpace(string(code) + " " + message)}
	}
	return Value{kind: KindError, code: toErrCode(code), str: message}
}

// Errorf returns an error value with a formatted message.
func Errorf(code ErrorCode, format string, args ...any) Value {
	return Error(code, fmt.Sprintf(format, args...))
}

// Array returns a 2-D array value. Rows must all have the same length.
func Array(rows [][]Value) Value { return Value{kind: KindArray, rows: rows} }

// Kind returns the value's type.
func (v Value) Kind() Kind { return v.kind }

// IsEmpty, IsError report the value's kind.
func (v Value) IsEmpty() bool { return v.kind == KindEmpty }
func (v Value) IsError() bool { return v.kind == KindError }

// Num returns the number of a KindNumber value.
func (v Value) Num() float64 { return v.num }

// Str returns the text of a KindText value.
func (v Value) Str() string {
	if v.kind == KindText {
		return v.str
	}
	return ""
}

// Truth returns the boolean of a KindBool value.
func (v Value) Truth() bool { return v.kind == KindBool && v.num != 0 }

// Code and Message describe a KindError value.
func (v Value) Code() ErrorCode { return v.code.ErrorCode() }
func (v Value) Message() string {
	if v.kind == KindError {
		return v.str
	}
	return ""
}

// Rows returns the rows of a KindArray value. Callers must not modify them.
func (v Value) Rows() [][]Value { return v.rows }

// String renders the value as a cell would show it.
func (v Value) String() string {
	switch v.kind {
	case KindNumber:
		return strconv.FormatFloat(v.num, 'g', -1, 64)
	case KindText:
		return v.str
	case KindBool:
		if v.num != 0 {
			return "TRUE"
		}
		return "FALSE"
	case KindError:
		return string(v.code.ErrorCode())
	case KindArray:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return ""
}

// MarshalJSON encodes the value as the wire protocol says: numbers, strings,
// booleans, null, {"error": code}, arrays of rows.
func (v Value) MarshalJSON() ([]byte, error) {
	return v.AppendJSON(nil)
}

// AppendJSON appends the JSON encoding of v to b.
func (v Value) AppendJSON(b []byte) ([]byte, error) {
	switch v.kind {
	case KindEmpty:
		return append(b, "null"...), nil
	case KindNumber:
		if math.IsNaN(v.num) || math.IsInf(v.num, 0) {
			return append(b, `{"error":"#NUM!"}`...), nil
		}
		return strconv.AppendFloat(b, v.num, 'g', -1, 64), nil
	case KindText:
		s, err := json.Marshal(v.str)
		return append(b, s...), err
	case KindBool:
		return strconv.AppendBool(b, v.num != 0), nil
	case KindError:
		b = append(b, `{"error":`...)
		b = strconv.AppendQuote(b, string(v.code.ErrorCode()))
		return append(b, '}'), nil
	case KindArray:
		b = append(b, '[')
		for i, row := range v.rows {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for j, cell := range row {
				if j > 0 {
					b = append(b, ',')
				}
				var err error
				if b, err = cell.AppendJSON(b); err != nil {
					return nil, err
				}
			}
			b = append(b, ']')
		}
		return append(b, ']'), nil
	}
	return nil, fmt.Errorf("udf: unknown value kind %d", v.kind)
}

// UnmarshalJSON decodes a value in the wire protocol's mapping. A 1-D array is
// rejected: ranges are arrays of rows, never ragged.
func (v *Value) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return fmt.Errorf("udf: empty value")
	}
	switch data[0] {
	case 'n':
		if string(data) != "null" {
			return fmt.Errorf("udf: invalid value %q", data)
		}
		*v = Empty()
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(data, &b); err != nil {
			return fmt.Errorf("udf: invalid value %q", data)
		}
		*v = Bool(b)
	case '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*v = Text(s)
	case '{':
		var e struct {
			Error   *ErrorCode `json:"error"`
			Message string     `json:"message"`
		}
		if err := json.Unmarshal(data, &e); err != nil || e.Error == nil || !e.Error.Valid() {
			return fmt.Errorf("udf: an object value must be {\"error\": code} with one of the seven Excel error codes")
		}
		*v = Error(*e.Error, e.Message)
	case '[':
		var rows []json.RawMessage
		if err := json.Unmarshal(data, &rows); err != nil {
			return err
		}
		out := make([][]Value, len(rows))
		width := -1
		for i, raw := range rows {
			raw = bytes.TrimSpace(raw)
			if len(raw) == 0 || raw[0] != '[' {
				return fmt.Errorf("udf: an array value must be an array of rows")
			}
			if err := json.Unmarshal(raw, &out[i]); err != nil {
				return err
			}
			if width >= 0 && len(out[i]) != width {
				return fmt.Errorf("udf: ragged array: row %d has %d values, row 1 has %d", i+1, len(out[i]), width)
			}
			width = len(out[i])
			for _, c := range out[i] {
				if c.kind == KindArray {
					return fmt.Errorf("udf: arrays cannot be nested")
				}
			}
		}
		*v = Array(out)
	default:
		var f float64
		if err := json.Unmarshal(data, &f); err != nil {
			return fmt.Errorf("udf: invalid value %q", data)
		}
		*v = Number(f)
	}
	return nil
}
