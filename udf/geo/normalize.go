package geo

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// NormalizeAddress folds the ways people write one address into one key, so
// spelling variants cost one lookup: letters are lower-cased; runs of
// spaces, tabs and line breaks become one space; apostrophes vanish
// ("St. John's" and "st johns" meet); commas and semicolons separate parts,
// always written ", ", with empty parts dropped; other punctuation becomes a
// space, except a period, hyphen or slash between two digits ("1.5",
// "12-14", "1/2"), which is kept. The result is what is sent upstream.
func NormalizeAddress(s string) string {
	return string(AppendNormalizedAddress(make([]byte, 0, len(s)), s))
}

// AppendNormalizedAddress appends NormalizeAddress(s) to dst.
func AppendNormalizedAddress(dst []byte, s string) []byte {
	start := len(dst)
	b := dst
	pendingSpace, pendingComma := false, false
	var prev rune // the last rune written, 0 at a part's start
	for i, w := 0, 0; i < len(s); i += w {
		r := rune(s[i])
		w = 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case isASCIIWord(r) || r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if len(b) > start {
				if pendingComma {
					b = append(b, ", "...)
				} else if pendingSpace {
					b = append(b, ' ')
				}
			}
			pendingSpace, pendingComma = false, false
			if r < utf8.RuneSelf {
				if r >= 'A' && r <= 'Z' {
					r += 'a' - 'A'
				}
				b = append(b, byte(r))
			} else {
				b = utf8.AppendRune(b, unicode.ToLower(r))
			}
			prev = r
		case r == '\'' || r == '’' || r == '‘' || r == '`':
			// dropped without a space: "john's" → "johns"
		case r == ',' || r == ';':
			pendingComma = true
		case (r == '.' || r == '-' || r == '/') && isDigit(prev) && !pendingSpace && !pendingComma && i+w < len(s) && isDigit(rune(s[i+w])):
			b = append(b, byte(r))
			prev = r
		default:
			pendingSpace = true
		}
		if pendingSpace || pendingComma {
			prev = 0
		}
	}
	return b
}

func isASCIIWord(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '&'
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// searchKey identifies one forward lookup: the normalised address and the
// country filter (lower-case ISO alpha-2, or "").
type searchKey struct {
	Text, Country string
}

// reverseKey identifies one reverse lookup: a point rounded to 1e-6 degrees
// (about 10 cm), so that float noise does not split identical points.
type reverseKey struct {
	Lat, Lon float64
}

func roundPoint(lat, lon float64) reverseKey {
	const q = 1e6
	return reverseKey{Lat: roundTo(lat, q), Lon: roundTo(lon, q)}
}

func roundTo(f, q float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f*q, 'f', 0, 64), 64)
	return v / q
}

// appendCacheKey renders a key for the cache: its first field is the
// provider scope, so statistics can be grouped by provider.
func (k searchKey) appendCacheKey(dst []byte, scope string) []byte {
	dst = appendSearchPrefix(dst, scope, k.Country)
	return append(dst, k.Text...)
}

// appendSearchPrefix writes everything of a search cache key but the
// normalised address, which callers may append with AppendNormalizedAddress.
func appendSearchPrefix(dst []byte, scope, country string) []byte {
	dst = append(dst, scope...)
	dst = append(dst, "|search|"...)
	dst = append(dst, country...)
	return append(dst, '|')
}

func (k reverseKey) appendCacheKey(dst []byte, scope string) []byte {
	dst = append(dst, scope...)
	dst = append(dst, "|reverse|"...)
	dst = strconv.AppendFloat(dst, k.Lat, 'f', 6, 64)
	dst = append(dst, ',')
	return strconv.AppendFloat(dst, k.Lon, 'f', 6, 64)
}
