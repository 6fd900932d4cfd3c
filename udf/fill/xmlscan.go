package fill

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The sheet XML is read with a small streaming tokenizer instead of
// encoding/xml: it is several times faster on the large, flat worksheets
// spreadsheets produce, and it hands back each token's raw bytes, which the
// writer copies through untouched.

type tokKind uint8

const (
	tokText  tokKind = iota + 1
	tokStart         // <name ...>
	tokEmpty         // <name .../>
	tokEnd           // </name>
	tokOther         // comments, processing instructions, the XML declaration
	tokCDATA         // <![CDATA[...]]>
)

// token is one XML token. raw and name point into the scanner's buffer and
// are valid only until the next call to next.
type token struct {
	kind tokKind
	raw  []byte
	name []byte // local name, prefix removed, for start, empty and end tags
}

// maxToken bounds one token, so a malformed file cannot make the scanner
// buffer without limit (a cell's text is at most 32,767 characters).
const maxToken = 64 << 20

// scanner tokenizes XML from a reader, keeping a sliding buffer.
type scanner struct {
	r   io.Reader
	buf []byte
	pos int // next unread byte in buf
	eof bool
	err error
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, 0, 256<<10)}
}

// fill reads more input, keeping buf[pos:]. It returns false at the end of input.
func (s *scanner) fill() bool {
	if s.eof || s.err != nil {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:])
		s.buf = s.buf[:n]
		s.pos = 0
	}
	if len(s.buf) == cap(s.buf) {
		if cap(s.buf) >= maxToken {
			s.err = errors.New("an XML token is larger than 64 MiB")
			return false
		}
		nb := make([]byte, len(s.buf), 2*cap(s.buf))
		copy(nb, s.buf)
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err == io.EOF {
		s.eof = true
	} else if err != nil {
		s.err = err
	}
	return n > 0 || (!s.eof && s.err == nil)
}

// next returns the next token, or io.EOF at the end of a well-formed input.
func (s *scanner) next() (token, error) {
	for s.pos >= len(s.buf) {
		if !s.fill() {
			if s.err != nil {
				return token{}, s.err
			}
			return token{}, io.EOF
		}
	}
	if s.buf[s.pos] != '<' {
		return s.text()
	}
	// Make sure the opening of the markup is buffered to classify it.
	for len(s.buf)-s.pos < 9 && s.fill() {
	}
	rest := s.buf[s.pos:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		return s.until([]byte("-->"), tokOther)
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		return s.until([]byte("]]>"), tokCDATA)
	case bytes.HasPrefix(rest, []byte("<?")):
		return s.until([]byte("?>"), tokOther)
	case bytes.HasPrefix(rest, []byte("<!")):
		return token{}, errors.New("document type declarations are not allowed in workbook XML")
	}
	return s.tag()
}

func (s *scanner) text() (token, error) {
	for {
		if i := bytes.IndexByte(s.buf[s.pos:], '<'); i >= 0 {
			t := token{kind: tokText, raw: s.buf[s.pos : s.pos+i]}
			s.pos += i
			return t, nil
		}
		if !s.fill() {
			if s.err != nil {
				return token{}, s.err
			}
			t := token{kind: tokText, raw: s.buf[s.pos:]}
			s.pos = len(s.buf)
			return t, nil
		}
	}
}

func (s *scanner) until(end []byte, kind tokKind) (token, error) {
	from := 2
	for {
		if i := bytes.Index(s.buf[s.pos+from:], end); i >= 0 {
			n := from + i + len(end)
			t := token{kind: kind, raw: s.buf[s.pos : s.pos+n]}
			s.pos += n
			return t, nil
		}
		from = max(2, len(s.buf)-s.pos-len(end))
		if !s.fill() {
			return token{}, s.truncated()
		}
	}
}

func (s *scanner) truncated() error {
	if s.err != nil {
		return s.err
	}
	return io.ErrUnexpectedEOF
}

// tag reads a start, empty or end tag, skipping '>' inside quoted attribute values.
func (s *scanner) tag() (token, error) {
	i := 1
	var quote byte
	for {
		for ; s.pos+i < len(s.buf); i++ {
			c := s.buf[s.pos+i]
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				quote = c
			case c == '>':
				raw := s.buf[s.pos : s.pos+i+1]
				s.pos += i + 1
				return classifyTag(raw)
			case c == '<':
				return token{}, errors.New("malformed XML: '<' inside a tag")
			}
		}
		if !s.fill() {
			return token{}, s.truncated()
		}
	}
}

func classifyTag(raw []byte) (token, error) {
	t := token{raw: raw, kind: tokStart}
	body := raw[1 : len(raw)-1]
	if len(body) > 0 && body[0] == '/' {
		t.kind = tokEnd
		body = body[1:]
	} else if len(body) > 0 && body[len(body)-1] == '/' {
		t.kind = tokEmpty
		body = body[:len(body)-1]
	}
	end := 0
	for end < len(body) && !isXMLSpace(body[end]) {
		end++
	}
	name := body[:end]
	if len(name) == 0 {
		return t, errors.New("malformed XML: empty tag name")
	}
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	t.name = name
	return t, nil
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// attr is one attribute of a tag: its qualified name and raw (escaped) value,
// with the byte span of the whole attribute in the tag.
type attr struct {
	name, value []byte
	from, to    int
}

// attrs parses the attributes of a start or empty tag.
func attrs(raw []byte, out []attr) ([]attr, error) {
	out = out[:0]
	i := 1
	for i < len(raw) && !isXMLSpace(raw[i]) && raw[i] != '>' && raw[i] != '/' {
		i++
	}
	for {
		for i < len(raw) && isXMLSpace(raw[i]) {
			i++
		}
		if i >= len(raw) || raw[i] == '>' || raw[i] == '/' {
			return out, nil
		}
		from := i
		for i < len(raw) && raw[i] != '=' && !isXMLSpace(raw[i]) {
			i++
		}
		name := raw[from:i]
		for i < len(raw) && isXMLSpace(raw[i]) {
			i++
		}
		if i >= len(raw) || raw[i] != '=' {
			return nil, fmt.Errorf("malformed attribute in %.40q", raw)
		}
		i++
		for i < len(raw) && isXMLSpace(raw[i]) {
			i++
		}
		if i >= len(raw) || (raw[i] != '"' && raw[i] != '\'') {
			return nil, fmt.Errorf("malformed attribute in %.40q", raw)
		}
		q := raw[i]
		j := bytes.IndexByte(raw[i+1:], q)
		if j < 0 {
			return nil, fmt.Errorf("malformed attribute in %.40q", raw)
		}
		out = append(out, attr{name: name, value: raw[i+1 : i+1+j], from: from, to: i + 2 + j})
		i += j + 2
	}
}

// attrValue returns the raw value of the attribute with the given local name.
func attrValue(as []attr, local string) ([]byte, bool) {
	for _, a := range as {
		n := a.name
		if i := bytes.IndexByte(n, ':'); i >= 0 {
			n = n[i+1:]
		}
		if string(n) == local {
			return a.value, true
		}
	}
	return nil, false
}

// unescape decodes XML character and entity references.
func unescape(b []byte) (string, error) {
	if bytes.IndexByte(b, '&') < 0 {
		return string(b), nil
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		i := bytes.IndexByte(b, '&')
		if i < 0 {
			out = append(out, b...)
			break
		}
		out = append(out, b[:i]...)
		b = b[i:]
		j := bytes.IndexByte(b, ';')
		if j < 0 {
			return "", errors.New("malformed XML: unterminated entity")
		}
		ent := string(b[1:j])
		b = b[j+1:]
		switch ent {
		case "amp":
			out = append(out, '&')
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "quot":
			out = append(out, '"')
		case "apos":
			out = append(out, '\'')
		default:
			if len(ent) < 2 || ent[0] != '#' {
				return "", fmt.Errorf("malformed XML: unknown entity &%s;", ent)
			}
			var n uint64
			var err error
			if ent[1] == 'x' || ent[1] == 'X' {
				n, err = strconv.ParseUint(ent[2:], 16, 32)
			} else {
				n, err = strconv.ParseUint(ent[1:], 10, 32)
			}
			if err != nil || !utf8.ValidRune(rune(n)) {
				return "", fmt.Errorf("malformed XML: bad character reference &%s;", ent)
			}
			out = utf8.AppendRune(out, rune(n))
		}
	}
	return string(out), nil
}

// appendEscaped appends s escaped for XML text or a double-quoted attribute.
// Characters XML 1.0 cannot carry are written as _xHHHH_, the escape
// SpreadsheetML uses for them.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '&':
			b = append(b, "&amp;"...)
		case c == '<':
			b = append(b, "&lt;"...)
		case c == '>':
			b = append(b, "&gt;"...)
		case c == '"':
			b = append(b, "&quot;"...)
		case c == '\r':
			b = append(b, "&#13;"...)
		case c == '_' && isXEscape(s[i:]):
			b = append(b, "_x005F_"...) // a literal _xHHHH_ must not read back as an escape
		case c < 0x20 && c != '\n' && c != '\t':
			b = append(b, "_x00"...)
			b = append(b, "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15], '_')
		default:
			if c < utf8.RuneSelf {
				b = append(b, c)
				break
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return b
}

// isXEscape reports whether s starts with _xHHHH_.
func isXEscape(s string) bool {
	if len(s) < 7 || s[0] != '_' || s[1] != 'x' || s[6] != '_' {
		return false
	}
	for i := 2; i < 6; i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// decodeXEscapes turns SpreadsheetML's _xHHHH_ escapes in text back into characters.
func decodeXEscapes(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if isXEscape(s[i:]) {
			n, _ := strconv.ParseUint(s[i+2:i+6], 16, 16)
			b.WriteRune(rune(n))
			i += 7
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// nesting checks that start and end tags pair up, so a truncated or
// mangled part is reported instead of half read.
type nesting struct {
	stack []string
	names map[string]string // interned tag names
}

func (n *nesting) check(t token) error {
	switch t.kind {
	case tokStart:
		name, ok := n.names[string(t.name)]
		if !ok {
			if n.names == nil {
				n.names = map[string]string{}
			}
			name = string(t.name)
			n.names[name] = name
		}
		n.stack = append(n.stack, name)
	case tokEnd:
		if len(n.stack) == 0 || n.stack[len(n.stack)-1] != string(t.name) {
			return fmt.Errorf("malformed XML: unexpected </%s>", t.name)
		}
		n.stack = n.stack[:len(n.stack)-1]
	case tokText:
		if len(n.stack) == 0 && len(bytes.TrimSpace(t.raw)) > 0 {
			return errors.New("malformed XML: text outside the root element")
		}
	}
	return nil
}

func (n *nesting) end() error {
	if len(n.stack) > 0 {
		return fmt.Errorf("malformed XML: <%s> is not closed (truncated part?)", n.stack[len(n.stack)-1])
	}
	return nil
}
