package server

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xlbatch/xlbatch/udf"
)

// A hand-written decoder for client frames. encoding/json spent more time
// on a cached call's frame than everything else the server does for it, as
// arguments had to be decoded twice (raw, then as values). This one reads a
// frame in one pass straight into messages and values. It accepts exactly
// RFC 8259 JSON; a well-formed argument that is not a protocol value (a
// ragged array, an unknown error code) spoils only its own call.

// decoder reads one frame.
type decoder struct {
	data []byte
	pos  int
	// slab holds the frame's argument values; each call's Values is a
	// piece of it, which saves an allocation per call.
	slab []udf.Value
	// names interns function names across a connection's frames, so a
	// call of a known function allocates no string for its name.
	names map[string]string
}

var errSyntax = errors.New("syntax error")

// decodeFrame decodes a frame: one message object or an array of them.
func decodeFrame(data []byte, names map[string]string) ([]inMessage, error) {
	d := decoder{data: data, names: names}
	d.space()
	// Every message has a "type", so this count bounds the messages
	// (closely: the word rarely appears inside an argument).
	msgs := make([]inMessage, 0, bytes.Count(data, []byte(`"type"`)))
	if d.peek() == '[' {
		d.pos++
		d.space()
		if d.peek() == ']' {
			d.pos++
		} else {
			for {
				var m inMessage
				if err := d.message(&m); err != nil {
					return nil, err
				}
				msgs = append(msgs, m)
				d.space()
				c := d.next()
				if c == ']' {
					break
				}
				if c != ',' {
					return nil, d.errorf("expected , or ] after a message")
				}
				d.space()
			}
		}
	} else {
		var m inMessage
		if err := d.message(&m); err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	d.space()
	if d.pos != len(d.data) {
		return nil, d.errorf("unexpected data after the frame's JSON value")
	}
	return msgs, nil
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%s at byte %d", fmt.Sprintf(format, args...), d.pos)
}

func (d *decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decoder) next() byte {
	if d.pos < len(d.data) {
		c := d.data[d.pos]
		d.pos++
		return c
	}
	d.pos++
	return 0
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\r', '\n':
			d.pos++
		default:
			return
		}
	}
}

// message decodes one message object. Fields of the wrong JSON type are
// errors, as encoding/json would report; unknown fields are skipped.
func (d *decoder) message(m *inMessage) error {
	if d.next() != '{' {
		d.pos--
		return d.errorf("expected a message object")
	}
	d.space()
	if d.peek() == '}' {
		d.pos++
		return nil
	}
	for {
		key, err := d.str()
		if err != nil {
			return err
		}
		d.space()
		if d.next() != ':' {
			return d.errorf("expected : after an object key")
		}
		d.space()
		switch key {
		case "type":
			m.Type, err = d.internField("type")
		case "id":
			m.ID, err = d.intField("id")
			m.HasID = true
		case "protocol":
			var n int64
			n, err = d.intField("protocol")
			p := int(n)
			m.Protocol = &p
		case "fn":
			m.Fn, err = d.internField("fn")
		case "caller":
			m.Caller, err = d.strField("caller")
		case "client":
			m.Client, err = d.strField("client")
		case "token":
			var t string
			t, err = d.strField("token")
			m.Token = &t
		case "preview":
			m.Preview, err = d.boolField("preview")
		case "args":
			err = d.args(m)
		default:
			err = d.skip()
		}
		if err != nil {
			return err
		}
		d.space()
		switch d.next() {
		case ',':
			d.space()
		case '}':
			return nil
		default:
			d.pos--
			return d.errorf("expected , or } in a message")
		}
	}
}

// strField reads a string field; null leaves it empty.
func (d *decoder) strField(name string) (string, error) {
	if d.literal("null") {
		return "", nil
	}
	if d.peek() != '"' {
		return "", d.errorf("%q must be a string", name)
	}
	return d.str()
}

// internField reads a string field whose values repeat (type, fn)
// without allocating for values seen before.
func (d *decoder) internField(name string) (string, error) {
	start := d.pos
	s, err := d.strField(name)
	if err != nil || d.names == nil {
		return s, err
	}
	raw := d.data[start:d.pos]
	if v, ok := d.names[string(raw)]; ok {
		return v, nil
	}
	if len(d.names) < 256 {
		d.names[string(raw)] = s
	}
	return s, nil
}

// intField reads an integer field.
func (d *decoder) intField(name string) (int64, error) {
	start := d.pos
	if err := d.number(); err != nil {
		return 0, d.errorf("%q must be an integer", name)
	}
	n, err := strconv.ParseInt(string(d.data[start:d.pos]), 10, 64)
	if err != nil {
		return 0, d.errorf("%q must be an integer", name)
	}
	return n, nil
}

func (d *decoder) boolField(name string) (bool, error) {
	switch {
	case d.literal("true"):
		return true, nil
	case d.literal("false"), d.literal("null"):
		return false, nil
	}
	return false, d.errorf("%q must be true or false", name)
}

// literal consumes word if it is next.
func (d *decoder) literal(word string) bool {
	if len(d.data)-d.pos >= len(word) && string(d.data[d.pos:d.pos+len(word)]) == word {
		d.pos += len(word)
		return true
	}
	return false
}

// args reads a call's arguments. A value that is valid JSON but not a
// protocol value is kept as the call's #VALUE! answer in m.argErr.
func (d *decoder) args(m *inMessage) error {
	if d.literal("null") {
		return nil
	}
	if d.next() != '[' {
		d.pos--
		return d.errorf(`"args" must be an array`)
	}
	d.space()
	if d.peek() == ']' {
		d.pos++
		return nil
	}
	start := len(d.slab)
	for i := 1; ; i++ {
		v, bad, err := d.value(0)
		if err != nil {
			return err
		}
		if bad != "" && m.argErr == "" {
			m.argErr = fmt.Sprintf("argument %d: %s", i, bad)
		}
		if len(d.slab) == cap(d.slab) && len(d.slab)-start < 64 {
			// Keep this call's values together in the new array.
			grown := make([]udf.Value, len(d.slab)-start, max(256, 2*(len(d.slab)-start)))
			copy(grown, d.slab[start:])
			d.slab, start = grown, 0
		}
		d.slab = append(d.slab, v)
		d.space()
		switch d.next() {
		case ',':
			d.space()
		case ']':
			m.Values = d.slab[start:len(d.slab):len(d.slab)]
			return nil
		default:
			d.pos--
			return d.errorf(`expected , or ] in "args"`)
		}
	}
}

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
					d.space()
					c := d.next()
					if c == ']' {
						break
					}
					if c != ',' {
						d.pos--
						return udf.Value{}, "", d.errorf("expected , or ] in a row")
					}
					d.space()
				}
			}
			if len(rows) > 0 && len(row) != len(rows[0]) && bad == "" {
				bad = fmt.Sprintf("ragged array: row %d has %d values, row 1 has %d", len(rows)+1, len(row), len(rows[0]))
			}
			rows = append(rows, row)
		}
		d.space()
		c := d.next()
		if c == ']' {
			break
		}
		if c != ',' {
			d.pos--
			return udf.Value{}, "", d.errorf("expected , or ] in an array")
		}
		d.space()
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
		key, err := d.str()
		if err != nil {
			return udf.Value{}, "", err
		}
		d.space()
		if d.next() != ':' {
			d.pos--
			return udf.Value{}, "", d.errorf("expected : after an object key")
		}
		d.space()
		switch {
		case key == "error" && d.peek() == '"':
			code, err = d.str()
			hasCode = true
		case key == "message" && d.peek() == '"':
			msg, err = d.str()
		default:
			err = d.skip()
			if key == "error" || key == "message" {
				bad = "an error's code and message must be strings"
			}
		}
		if err != nil {
			return udf.Value{}, "", err
		}
		d.space()
		c := d.next()
		if c == '}' {
			break
		}
		if c != ',' {
			d.pos--
			return udf.Value{}, "", d.errorf("expected , or } in an object")
		}
		d.space()
	}
	if bad == "" && (!hasCode || !udf.ErrorCode(code).Valid()) {
		bad = `an object value must be {"error": code} with one of the seven Excel error codes`
	}
	if bad != "" {
		return udf.Value{}, bad, nil
	}
	return udf.Error(udf.ErrorCode(code), msg), "", nil
}

// number checks a JSON number and moves past it.
func (d *decoder) number() error {
	start := d.pos
	if d.peek() == '-' {
		d.pos++
	}
	switch c := d.peek(); {
	case c == '0':
		d.pos++
	case c >= '1' && c <= '9':
		for c := d.peek(); c >= '0' && c <= '9'; c = d.peek() {
			d.pos++
		}
	default:
		d.pos = start
		return d.errorf("invalid number")
	}
	if d.peek() == '.' {
		d.pos++
		if c := d.peek(); c < '0' || c > '9' {
			return d.errorf("invalid number")
		}
		for c := d.peek(); c >= '0' && c <= '9'; c = d.peek() {
			d.pos++
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.pos++
		if c := d.peek(); c == '+' || c == '-' {
			d.pos++
		}
		if c := d.peek(); c < '0' || c > '9' {
			return d.errorf("invalid number")
		}
		for c := d.peek(); c >= '0' && c <= '9'; c = d.peek() {
			d.pos++
		}
	}
	return nil
}

// str reads a JSON string. Invalid UTF-8 becomes U+FFFD, as encoding/json does.
func (d *decoder) str() (string, error) {
	if d.next() != '"' {
		d.pos--
		return "", d.errorf("expected a string")
	}
	start := d.pos
	// Fast path: no escapes, plain ASCII or valid UTF-8.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			s := d.data[start:d.pos]
			d.pos++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string([]rune(string(s))), nil // replaces invalid bytes with U+FFFD
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", d.errorf("control character in string")
		}
		d.pos++
	}
	buf := append([]byte(nil), d.data[start:d.pos]...)
	for {
		if d.pos >= len(d.data) {
			return "", d.errorf("unterminated string")
		}
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if utf8.Valid(buf) {
				return string(buf), nil
			}
			return string([]rune(string(buf))), nil
		case c < 0x20:
			return "", d.errorf("control character in string")
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		d.pos++ // backslash
		e := d.next()
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A pair is two escapes; a lone half becomes U+FFFD.
				save := d.pos
				if d.literal(`\u`) {
					if r2, ok := d.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							continue
						}
					}
				}
				d.pos = save
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		default:
			d.pos--
			return "", d.errorf("invalid escape in string")
		}
	}
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}

// skip moves past any JSON value, checking its syntax.
func (d *decoder) skip() error {
	return d.skipDepth(0)
}

const maxDepth = 64

func (d *decoder) skipDepth(depth int) error {
	if depth > maxDepth {
		return d.errorf("JSON nested too deeply")
	}
	switch c := d.peek(); {
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case d.literal("true"), d.literal("false"), d.literal("null"):
		return nil
	case c == '[' || c == '{':
		d.pos++
		closer := byte(']')
		if c == '{' {
			closer = '}'
		}
		d.space()
		if d.peek() == closer {
			d.pos++
			return nil
		}
		for {
			if c == '{' {
				if _, err := d.str(); err != nil {
					return err
				}
				d.space()
				if d.next() != ':' {
					d.pos--
					return d.errorf("expected : after an object key")
				}
				d.space()
			}
			if err := d.skipDepth(depth + 1); err != nil {
				return err
			}
			d.space()
			n := d.next()
			if n == closer {
				return nil
			}
			if n != ',' {
				d.pos--
				return d.errorf("expected , or %c", closer)
			}
			d.space()
		}
	}
	return d.errorf("invalid value")
}
