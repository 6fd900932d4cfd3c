// Package fold turns place names and free-text addresses into the canonical
// form the offline index is keyed by: lower case, diacritics removed,
// punctuation turned into word breaks, a few abbreviations spelled out.
//
// The generator folds GeoNames names with this package when it builds the
// embedded index, and the geocoder folds every query with it at run time, so
// the two must never disagree: changing this package means regenerating the
// data (the regeneration test fails until then).
package fold

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// PartSep separates comma-delimited parts in the output of Append. Names in
// the index never contain it, so a key never spans two parts of a query.
const PartSep = ','

// String folds s into space-separated words; parts of s delimited by commas,
// semicolons, slashes, pipes or line breaks are separated by ", ".
func String(s string) string {
	return string(Append(nil, s))
}

// Key folds a name into the form used as an index key: like String, but
// part separators become plain word breaks, since a key is one part.
func Key(s string) string {
	b := Append(nil, s)
	out := b[:0]
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == PartSep {
			// ", " collapses to the single space that follows it.
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// Append appends the folded form of s to dst and returns the extended slice.
// Words are separated by one space; parts by ", " (PartSep and a space).
// The output has no leading or trailing separators.
func Append(dst []byte, s string) []byte {
	w := writer{buf: dst, start: len(dst)}
	if isASCII(s) {
		for i := 0; i < len(s); i++ {
			w.rune(rune(s[i]))
		}
	} else {
		// Decompose so that accents become separate combining marks,
		// which rune then drops.
		var tmp [256]byte
		for _, r := range string(norm.NFD.AppendString(tmp[:0], s)) {
			w.rune(r)
		}
	}
	w.endWord()
	return w.buf
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// writer accumulates folded words; pending breaks are emitted lazily so the
// output never starts or ends with a separator and never doubles one.
type writer struct {
	buf       []byte
	start     int  // where this call's output begins in buf
	wordStart int  // where the current word begins in buf, or -1
	inWord    bool // a word is open
	partBreak bool // a part separator was seen since the last word
}

func (w *writer) rune(r rune) {
	switch {
	case r < utf8.RuneSelf:
		c := byte(r)
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			w.letter(c)
		case 'A' <= c && c <= 'Z':
			w.letter(c + 'a' - 'A')
		case c == '\'' || c == '`':
			// "Ra's al Khaymah", "O'Fallon": the apostrophe joins.
		case c == ',' || c == ';' || c == '/' || c == '|' || c == '\n' || c == '\r':
			w.endWord()
			w.partBreak = true
		default:
			w.endWord()
		}
	case unicode.Is(unicode.Mn, r):
		// Combining marks left by NFD: the accent of "é", the breve of "й".
	case isApostrophe(r):
	default:
		if s, ok := special[r]; ok {
			for i := 0; i < len(s); i++ {
				w.letter(s[i])
			}
			return
		}
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			w.startWord()
			w.buf = utf8.AppendRune(w.buf, unicode.ToLower(r))
			return
		}
		w.endWord()
	}
}

func isApostrophe(r rune) bool {
	switch r {
	case '’', '‘', 'ʻ', 'ʼ', '´', 'ʹ', '′':
		return true
	}
	return false
}

// special spells out letters that NFD does not decompose into a base
// letter and a mark.
var special = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe",
	'ø': "o", 'Ø': "o", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d",
	'þ': "th", 'Þ': "th", 'ł': "l", 'Ł': "l", 'ı': "i", 'ħ': "h", 'Ħ': "h",
	'ŧ': "t", 'Ŧ': "t", 'ŋ': "n", 'Ŋ': "n", 'ĸ': "k", 'ſ': "s",
}

func (w *writer) letter(c byte) {
	w.startWord()
	w.buf = append(w.buf, c)
}

func (w *writer) startWord() {
	if w.inWord {
		return
	}
	if len(w.buf) > w.start {
		if w.partBreak {
			w.buf = append(w.buf, PartSep)
		}
		w.buf = append(w.buf, ' ')
	}
	w.partBreak = false
	w.inWord = true
	w.wordStart = len(w.buf)
}

func (w *writer) endWord() {
	if !w.inWord {
		return
	}
	w.inWord = false
	// Spell out the abbreviations that appear in place names, so that
	// "St. Louis" and "Saint Louis", "Mt Vernon" and "Mount Vernon" meet.
	if exp, ok := abbreviations[string(w.buf[w.wordStart:])]; ok {
		w.buf = append(w.buf[:w.wordStart], exp...)
	}
}

var abbreviations = map[string]string{
	"st":  "saint",
	"ste": "sainte",
	"mt":  "mount",
	"ft":  "fort",
}
