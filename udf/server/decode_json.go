package server

import (
	"unicode/utf16"
	"unicode/utf8"
)

// JSON's lexical parts for the frame decoder: numbers, strings and values
// skipped whole, each checked against RFC 8259.

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
	b, err := d.strBytes()
	return string(b), err
}

// strBytes reads a JSON string without allocating when it has no escapes:
// the result then aliases the frame, so callers copy what they keep.
func (d *decoder) strBytes() ([]byte, error) {
	if d.next() != '"' {
		d.pos--
		return nil, d.errorf("expected a string")
	}
	start := d.pos
	// Fast path: no escapes, plain ASCII or valid UTF-8.
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			s := d.data[start:d.pos]
			d.pos++
			if utf8.Valid(s) {
				return s, nil
			}
			return []byte(string([]rune(string(s)))), nil // replaces invalid bytes with U+FFFD
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return nil, d.errorf("control character in string")
		}
		d.pos++
	}
	buf := append([]byte(nil), d.data[start:d.pos]...)
	for {
		if d.pos >= len(d.data) {
			return nil, d.errorf("unterminated string")
		}
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if utf8.Valid(buf) {
				return buf, nil
			}
			return []byte(string([]rune(string(buf)))), nil
		case c < 0x20:
			return nil, d.errorf("control character in string")
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
				return nil, d.errorf("invalid \\u escape")
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
			return nil, d.errorf("invalid escape in string")
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
		_, err := d.strBytes()
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
				if _, err := d.strBytes(); err != nil {
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
			if end, err := d.listNext(closer, ""); end || err != nil {
				return err
			}
		}
	}
	return d.errorf("invalid value")
}

// listNext reads what follows an element of a JSON array or object: the
// closer, which ends the list (end is true), or a comma before the next
// element. Anything else is an error naming where the list was.
func (d *decoder) listNext(closer byte, where string) (end bool, err error) {
	d.space()
	switch d.next() {
	case closer:
		return true, nil
	case ',':
		d.space()
		return false, nil
	}
	d.pos--
	if where == "" {
		return false, d.errorf("expected , or %c", closer)
	}
	return false, d.errorf("expected , or %c %s", closer, where)
}
