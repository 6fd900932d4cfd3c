package server

import (
	"bytes"
	"fmt"
	"strconv"

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
				if end, err := d.listNext(']', "after a message"); err != nil {
					return nil, err
				} else if end {
					break
				}
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
		key, err := d.strBytes()
		if err != nil {
			return err
		}
		d.space()
		if d.next() != ':' {
			return d.errorf("expected : after an object key")
		}
		d.space()
		switch string(key) {
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
		if end, err := d.listNext('}', "in a message"); end || err != nil {
			return err
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
	if d.literal("null") {
		return "", nil
	}
	if d.peek() != '"' {
		return "", d.errorf("%q must be a string", name)
	}
	b, err := d.strBytes()
	if err != nil {
		return "", err
	}
	if v, ok := d.names[string(b)]; ok {
		return v, nil
	}
	s := string(b)
	if d.names != nil && len(d.names) < 256 {
		d.names[s] = s
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
		if end, err := d.listNext(']', `in "args"`); err != nil {
			return err
		} else if end {
			m.Values = d.slab[start:len(d.slab):len(d.slab)]
			return nil
		}
	}
}
