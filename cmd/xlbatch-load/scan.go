package main

import (
	"errors"
	"strconv"
)

// The load generator reads hundreds of thousands of results a second on the
// same cores as the server it measures, so it scans frames itself instead
// of decoding them with encoding/json: it needs only each message's type,
// id and whether it carries an error.

var errScan = errors.New("malformed frame")

// scanned is what the load generator keeps of one server message.
type scanned struct {
	typ   string
	id    int64
	isErr bool
}

// scanFrame calls fn for each message of a frame (one object or an array
// of objects).
func scanFrame(data []byte, fn func(scanned)) error {
	s := scanner{b: data}
	s.space()
	if s.peek() != '[' {
		m, err := s.object()
		if err != nil {
			return err
		}
		fn(m)
		return nil
	}
	s.i++
	for {
		s.space()
		if s.peek() == ']' {
			return nil
		}
		m, err := s.object()
		if err != nil {
			return err
		}
		fn(m)
		s.space()
		switch s.next() {
		case ',':
		case ']':
			return nil
		default:
			return errScan
		}
	}
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) next() byte {
	c := s.peek()
	s.i++
	return c
}

func (s *scanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\n' || s.b[s.i] == '\t' || s.b[s.i] == '\r') {
		s.i++
	}
}

// object reads one message object's top-level keys.
func (s *scanner) object() (scanned, error) {
	var m scanned
	if s.next() != '{' {
		return m, errScan
	}
	for {
		s.space()
		if s.peek() == '}' {
			s.i++
			return m, nil
		}
		key, ok := s.str()
		if !ok {
			return m, errScan
		}
		s.space()
		if s.next() != ':' {
			return m, errScan
		}
		s.space()
		switch string(key) {
		case "type":
			t, ok := s.str()
			if !ok {
				return m, errScan
			}
			m.typ = intern(t)
		case "id":
			start := s.i
			for c := s.peek(); c == '-' || (c >= '0' && c <= '9'); c = s.peek() {
				s.i++
			}
			n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
			if err != nil {
				return m, errScan
			}
			m.id = n
		case "error":
			m.isErr = true
			if !s.skip(0) {
				return m, errScan
			}
		default:
			if !s.skip(0) {
				return m, errScan
			}
		}
		s.space()
		switch s.next() {
		case ',':
		case '}':
			return m, nil
		default:
			return m, errScan
		}
	}
}

func intern(b []byte) string {
	switch string(b) {
	case "result":
		return "result"
	case "stats":
		return "stats"
	case "welcome":
		return "welcome"
	}
	return string(b)
}

// str returns a string's raw bytes (escapes left as they are).
func (s *scanner) str() ([]byte, bool) {
	if s.next() != '"' {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return s.b[start : s.i-1], true
		default:
			s.i++
		}
	}
	return nil, false
}

// skip moves past one value.
func (s *scanner) skip(depth int) bool {
	if depth > 64 {
		return false
	}
	switch c := s.peek(); c {
	case '"':
		_, ok := s.str()
		return ok
	case '[', '{':
		s.i++
		closer := byte(']')
		if c == '{' {
			closer = '}'
		}
		for {
			s.space()
			if s.peek() == closer {
				s.i++
				return true
			}
			if c == '{' {
				if _, ok := s.str(); !ok {
					return false
				}
				s.space()
				if s.next() != ':' {
					return false
				}
				s.space()
			}
			if !s.skip(depth + 1) {
				return false
			}
			s.space()
			switch s.peek() {
			case ',':
				s.i++
			case closer:
			default:
				return false
			}
		}
	default:
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\n', '\t', '\r':
				return s.i > start
			}
			s.i++
		}
		return s.i > start
	}
}
