// Package formula reads Excel formulas as they are stored in workbook files
// (no leading "="), finds the function calls in them, shifts their
// references for the children of shared formulas, and evaluates the common
// wrappers (IF, IFERROR, &, ROUND …) around calls of registered functions.
//
// It is deliberately strict: anything it does not understand is reported as
// ErrUnsupported rather than guessed, because the filler must never write a
// value it is not sure of.
package formula

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrUnsupported reports a formula, or a part of one, this package does not
// evaluate faithfully. Errors wrapping it carry the reason.
var ErrUnsupported = errors.New("not supported")

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// Kind is the kind of a token.
type Kind uint8

// Token kinds.
const (
	EOF Kind = iota
	Number
	String
	Bool
	ErrorLit
	RefTok  // a cell, area, column or row reference, possibly sheet-qualified
	NameTok // a defined name, possibly sheet-qualified, or a structured reference
	Func    // a function name; the "(" that follows is part of the token
	Op      // + - * / ^ & % = < > <= >= <> :
	LParen
	RParen
	Comma
	Semicolon
	LBrace
	RBrace
)

// Token is one lexical unit with its byte offsets in the formula text.
type Token struct {
	Kind     Kind
	Text     string // the source text, Text == src[Pos:End]
	Pos, End int
	Space    bool // whitespace precedes the token

	Ref  Ref  // RefTok: the parsed reference (not shifted)
	Name Name // NameTok, Func: the parsed name
}

// Name is a defined name, structured reference or function name with its qualifiers.
type Name struct {
	External   string // "[1]" when it names another workbook
	Sheet      string // the sheet a name is scoped to, when written Sheet1!Name
	Name       string // the name itself as written
	Structured bool   // a table reference such as Table1[Col]
}

// Tokenize splits a stored formula into tokens.
func Tokenize(src string) ([]Token, error) {
	l := lexer{src: src}
	var out []Token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		if t.Kind == EOF {
			return out, nil
		}
	}
}

type lexer struct {
	src string
	i   int
}

func (l *lexer) next() (Token, error) {
	start := l.i
	for l.i < len(l.src) && isSpace(l.src[l.i]) {
		l.i++
	}
	space := l.i > start
	t := Token{Pos: l.i, Space: space}
	if l.i >= len(l.src) {
		t.Kind, t.End = EOF, l.i
		return t, nil
	}
	c := l.src[l.i]
	var err error
	switch {
	case c == '"':
		err = l.string()
		t.Kind = String
	case c == '#':
		err = l.errorLit()
		t.Kind = ErrorLit
	case c == '(':
		l.i++
		t.Kind = LParen
	case c == ')':
		l.i++
		t.Kind = RParen
	case c == ',':
		l.i++
		t.Kind = Comma
	case c == ';':
		l.i++
		t.Kind = Semicolon
	case c == '{':
		l.i++
		t.Kind = LBrace
	case c == '}':
		l.i++
		t.Kind = RBrace
	case c == '<' || c == '>':
		l.i++
		if l.i < len(l.src) && (l.src[l.i] == '=' || (c == '<' && l.src[l.i] == '>')) {
			l.i++
		}
		t.Kind = Op
	case strings.IndexByte("+-*/^&%=:", c) >= 0:
		l.i++
		t.Kind = Op
	case c == '\'' || c == '[':
		t, err = l.qualified(t)
	case c >= '0' && c <= '9' || c == '.' || c == '$' && l.i+1 < len(l.src) && isDigit(l.src[l.i+1]):
		if end, ok := rowRange(l.src, l.i); ok {
			l.i = end
			t.Kind = RefTok
			break
		}
		err = l.number()
		t.Kind = Number
	case c == '$' || c == '_' || c == '\\' || c >= 0x80 || isLetter(c):
		t, err = l.word(t)
	default:
		err = unsupported("unexpected character %q at %d", c, l.i)
	}
	if err != nil {
		return Token{}, err
	}
	t.End = l.i
	t.Text = l.src[t.Pos:t.End]
	if t.Kind == RefTok && t.Ref.Kind == 0 {
		r, err := parseRefText(t.Text)
		if err != nil {
			return Token{}, err
		}
		t.Ref = r
	}
	return t, nil
}

func (l *lexer) string() error {
	for j := l.i + 1; j < len(l.src); j++ {
		if l.src[j] == '"' {
			if j+1 < len(l.src) && l.src[j+1] == '"' {
				j++
				continue
			}
			l.i = j + 1
			return nil
		}
	}
	return unsupported("unterminated string at %d", l.i)
}

// errorCodes are the error literals a formula may contain, longest first where one prefixes another.
var errorCodes = []string{"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
	"#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#CONNECT!", "#BUSY!", "#EXTERNAL!", "#PYTHON!"}

func (l *lexer) errorLit() error {
	rest := l.src[l.i:]
	for _, e := range errorCodes {
		if len(rest) >= len(e) && strings.EqualFold(rest[:len(e)], e) {
			l.i += len(e)
			return nil
		}
	}
	return unsupported("unknown error literal at %d", l.i)
}

func (l *lexer) number() error {
	j := l.i
	digits := 0
	for j < len(l.src) && isDigit(l.src[j]) {
		j++
		digits++
	}
	if j < len(l.src) && l.src[j] == '.' {
		j++
		for j < len(l.src) && isDigit(l.src[j]) {
			j++
			digits++
		}
	}
	if digits == 0 {
		return unsupported("bad number at %d", l.i)
	}
	if j < len(l.src) && (l.src[j] == 'e' || l.src[j] == 'E') {
		k := j + 1
		if k < len(l.src) && (l.src[k] == '+' || l.src[k] == '-') {
			k++
		}
		if k < len(l.src) && isDigit(l.src[k]) {
			for k < len(l.src) && isDigit(l.src[k]) {
				k++
			}
			j = k
		}
	}
	l.i = j
	return nil
}

// qualified lexes what starts with a quoted sheet name or an external
// workbook index: 'My Sheet'!A1, [1]Sheet1!A1, [1]!Name, 'a:b'!A1.
func (l *lexer) qualified(t Token) (Token, error) {
	var ext, sheet string
	if l.src[l.i] == '[' {
		j := strings.IndexByte(l.src[l.i:], ']')
		if j < 0 {
			return t, unsupported("unterminated [ at %d", l.i)
		}
		ext = l.src[l.i : l.i+j+1]
		l.i += j + 1
	}
	if l.i < len(l.src) && l.src[l.i] == '\'' {
		var b strings.Builder
		j := l.i + 1
		for ; j < len(l.src); j++ {
			if l.src[j] == '\'' {
				if j+1 < len(l.src) && l.src[j+1] == '\'' {
					b.WriteByte('\'')
					j++
					continue
				}
				break
			}
			b.WriteByte(l.src[j])
		}
		if j >= len(l.src) || j+1 >= len(l.src) || l.src[j+1] != '!' {
			return t, unsupported("quoted name without ! at %d", l.i)
		}
		sheet = b.String()
		l.i = j + 2
	} else if l.i < len(l.src) && l.src[l.i] != '!' {
		w := l.scanWord()
		if w == "" || l.i >= len(l.src) || l.src[l.i] != '!' {
			return t, unsupported("external reference without ! at %d", t.Pos)
		}
		sheet = w
		l.i++
	} else if l.i < len(l.src) {
		l.i++ // [1]!Name
	}
	return l.afterSheet(t, ext, sheet)
}

// afterSheet lexes the part after "Sheet!": a reference, #REF!, a name or a function.
func (l *lexer) afterSheet(t Token, ext, sheet string) (Token, error) {
	if l.i < len(l.src) && l.src[l.i] == '#' {
		if err := l.errorLit(); err != nil {
			return t, err
		}
		t.Kind = RefTok
		t.Ref = Ref{Kind: RefError, External: ext, Sheet: sheet}
		return t, nil
	}
	if end, ok := rowRange(l.src, l.i); ok {
		r, err := parseRefText(l.src[l.i:end])
		if err != nil {
			return t, err
		}
		l.i = end
		r.External, r.Sheet = ext, sheet
		t.Kind, t.Ref = RefTok, r
		return t, nil
	}
	w := l.scanWord()
	if w == "" {
		return t, unsupported("nothing after ! at %d", l.i)
	}
	return l.classify(t, w, ext, sheet)
}

// word lexes a token that starts with a letter, "_", "\" or "$".
func (l *lexer) word(t Token) (Token, error) {
	w := l.scanWord()
	if w == "" {
		// A non-ASCII character that is no letter (or a byte that is not
		// UTF-8) starts no token; without this the lexer would stand still.
		r, _ := utf8.DecodeRuneInString(l.src[l.i:])
		return t, unsupported("unexpected character %q at %d", r, l.i)
	}
	if l.i < len(l.src) && l.src[l.i] == '!' {
		l.i++
		return l.afterSheet(t, "", w)
	}
	// A 3-D reference Sheet1:Sheet3!A1 is lexed whole so it can be refused.
	if l.i < len(l.src) && l.src[l.i] == ':' {
		save := l.i
		l.i++
		w2 := l.scanWord()
		if w2 != "" && l.i < len(l.src) && l.src[l.i] == '!' {
			return t, unsupported("3-D reference %s at %d", l.src[t.Pos:l.i], t.Pos)
		}
		l.i = save
	}
	return l.classify(t, w, "", "")
}

func (l *lexer) classify(t Token, w, ext, sheet string) (Token, error) {
	if l.i < len(l.src) && l.src[l.i] == '(' {
		l.i++
		t.Kind = Func
		t.Name = Name{External: ext, Sheet: sheet, Name: w}
		return t, nil
	}
	if l.i < len(l.src) && l.src[l.i] == '[' {
		if err := l.brackets(); err != nil {
			return t, err
		}
		t.Kind = NameTok
		t.Name = Name{External: ext, Sheet: sheet, Name: w, Structured: true}
		return t, nil
	}
	if ext == "" && sheet == "" && (strings.EqualFold(w, "TRUE") || strings.EqualFold(w, "FALSE")) {
		t.Kind = Bool
		return t, nil
	}
	if isCellOrCol(w) {
		start, end := l.i-len(w), l.i
		// An area A1:B2 or a column range A:C.
		if l.i < len(l.src) && l.src[l.i] == ':' {
			l.i++
			if w2 := l.scanWord(); isCellOrCol(w2) {
				end = l.i
			}
			l.i = end
		}
		if r, err := parseRefText(l.src[start:end]); err == nil {
			r.External, r.Sheet = ext, sheet
			t.Kind, t.Ref = RefTok, r
			return t, nil
		}
		l.i = start + len(w)
	}
	if strings.ContainsRune(w, '$') {
		return t, unsupported("bad reference %q", w)
	}
	t.Kind = NameTok
	t.Name = Name{External: ext, Sheet: sheet, Name: w}
	return t, nil
}

// brackets skips a structured-reference bracket group, nested brackets included.
func (l *lexer) brackets() error {
	depth := 0
	for l.i < len(l.src) {
		switch l.src[l.i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				l.i++
				return nil
			}
		case '\'':
			l.i++ // ' escapes the next character inside a structured reference
		}
		l.i++
	}
	return unsupported("unterminated [")
}

// scanWord consumes name characters: letters, digits, _ . \ ? $ and non-ASCII letters.
func (l *lexer) scanWord() string {
	start := l.i
	for l.i < len(l.src) {
		c := l.src[l.i]
		if c < utf8.RuneSelf {
			if isLetter(c) || isDigit(c) || c == '_' || c == '.' || c == '\\' || c == '?' || c == '$' {
				l.i++
				continue
			}
			break
		}
		r, n := utf8.DecodeRuneInString(l.src[l.i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			break
		}
		l.i += n
	}
	return l.src[start:l.i]
}

// rowRange matches $?digits:$?digits at i, a whole-row reference such as 1:1.
func rowRange(s string, i int) (int, bool) {
	j := i
	part := func() bool {
		if j < len(s) && s[j] == '$' {
			j++
		}
		k := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		return j > k
	}
	if !part() || j >= len(s) || s[j] != ':' {
		return 0, false
	}
	j++
	if !part() {
		return 0, false
	}
	if j < len(s) && (isLetter(s[j]) || s[j] == '.' || s[j] == '_') {
		return 0, false
	}
	return j, true
}

func isSpace(c byte) bool  { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
