package formula

import (
	"strconv"
	"strings"
)

// Sheet limits of the xlsx format.
const (
	MaxRows = 1 << 20 // 1,048,576
	MaxCols = 1 << 14 // 16,384 (XFD)
)

// RefKind says what a reference covers.
type RefKind uint8

// Reference kinds.
const (
	RefCell  RefKind = iota + 1 // A1
	RefArea                     // A1:B2
	RefCols                     // A:C
	RefRows                     // 1:3
	RefError                    // Sheet1!#REF!
)

// Ref is a reference as written. Rows and columns are 1-based; for RefCols
// the rows are 1..MaxRows and for RefRows the columns 1..MaxCols.
type Ref struct {
	Kind                       RefKind
	External                   string // "[1]" for another workbook
	Sheet                      string // "" for the formula's own sheet
	R1, C1, R2, C2             int
	AbsR1, AbsC1, AbsR2, AbsC2 bool
}

// Shift returns the reference moved by dr rows and dc columns, as the child
// of a shared formula sees it: absolute parts stay, relative parts move. ok
// is false when a moved part leaves the sheet (Excel shows #REF! there).
func (r Ref) Shift(dr, dc int) (Ref, bool) {
	if r.Kind == RefError {
		return r, false
	}
	mv := func(v int, abs bool, d, max int) (int, bool) {
		if abs {
			return v, true
		}
		v += d
		return v, v >= 1 && v <= max
	}
	ok1, ok2, ok3, ok4 := true, true, true, true
	if r.Kind != RefCols {
		r.R1, ok1 = mv(r.R1, r.AbsR1, dr, MaxRows)
		r.R2, ok2 = mv(r.R2, r.AbsR2, dr, MaxRows)
	}
	if r.Kind != RefRows {
		r.C1, ok3 = mv(r.C1, r.AbsC1, dc, MaxCols)
		r.C2, ok4 = mv(r.C2, r.AbsC2, dc, MaxCols)
	}
	return r, ok1 && ok2 && ok3 && ok4
}

// Cells returns the number of cells the reference covers.
func (r Ref) Cells() int {
	return (r.R2 - r.R1 + 1) * (r.C2 - r.C1 + 1)
}

// String writes the reference in A1 style, sheet included.
func (r Ref) String() string {
	if r.Sheet != "" || r.External != "" {
		return QuoteSheet(r.External+r.Sheet) + "!" + r.local()
	}
	return r.local()
}

// local writes the reference without its sheet.
func (r Ref) local() string {
	var b strings.Builder
	part := func(row, col int, absR, absC bool, withR, withC bool) {
		if withC {
			if absC {
				b.WriteByte('$')
			}
			b.WriteString(ColumnName(col))
		}
		if withR {
			if absR {
				b.WriteByte('$')
			}
			b.WriteString(strconv.Itoa(row))
		}
	}
	switch r.Kind {
	case RefError:
		b.WriteString("#REF!")
	case RefCell:
		part(r.R1, r.C1, r.AbsR1, r.AbsC1, true, true)
	case RefArea:
		part(r.R1, r.C1, r.AbsR1, r.AbsC1, true, true)
		b.WriteByte(':')
		part(r.R2, r.C2, r.AbsR2, r.AbsC2, true, true)
	case RefCols:
		part(0, r.C1, false, r.AbsC1, false, true)
		b.WriteByte(':')
		part(0, r.C2, false, r.AbsC2, false, true)
	case RefRows:
		part(r.R1, 0, r.AbsR1, false, true, false)
		b.WriteByte(':')
		part(r.R2, 0, r.AbsR2, false, true, false)
	}
	return b.String()
}

// QuoteSheet quotes a sheet name for use before "!" when Excel would.
func QuoteSheet(s string) string {
	plain := s != ""
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLetter(c) || c == '_' || c == '.' || (i > 0 && isDigit(c)) || c >= 0x80) {
			plain = false
			break
		}
	}
	if plain && !isCellOrCol(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// ColumnName returns the letters of a 1-based column: 1 → A, 28 → AB.
func ColumnName(col int) string {
	var buf [4]byte
	i := len(buf)
	for col > 0 {
		col--
		i--
		buf[i] = byte('A' + col%26)
		col /= 26
	}
	return string(buf[i:])
}

// CellName returns the A1 name of a 1-based row and column.
func CellName(row, col int) string {
	return ColumnName(col) + strconv.Itoa(row)
}

// ParseCell parses an A1 cell name, dollars allowed, into a 1-based row and column.
func ParseCell(s string) (row, col int, ok bool) {
	r, err := parseRefText(s)
	if err != nil || r.Kind != RefCell {
		return 0, 0, false
	}
	return r.R1, r.C1, true
}

// ParseRange parses "A1" or "A1:B2" (a ref attribute) into corners.
func ParseRange(s string) (r1, c1, r2, c2 int, ok bool) {
	r, err := parseRefText(s)
	if err != nil || (r.Kind != RefCell && r.Kind != RefArea) {
		return 0, 0, 0, 0, false
	}
	return r.R1, r.C1, r.R2, r.C2, true
}

// isCellOrCol reports whether w could start a reference: $?LETTERS$?DIGITS or $?LETTERS.
func isCellOrCol(w string) bool {
	i := 0
	if i < len(w) && w[i] == '$' {
		i++
	}
	j := i
	for j < len(w) && isLetter(w[j]) {
		j++
	}
	if j == i || j-i > 3 {
		return false
	}
	if j == len(w) {
		return true
	}
	if w[j] == '$' {
		j++
	}
	k := j
	for k < len(w) && isDigit(w[k]) {
		k++
	}
	return k > j && k == len(w)
}

// parseRefText parses an unqualified A1 reference: A1, $A$1, A1:B2, A:C, 1:3.
func parseRefText(s string) (Ref, error) {
	a, b, isRange := strings.Cut(s, ":")
	p1, err := parsePart(a)
	if err != nil {
		return Ref{}, err
	}
	if !isRange {
		if p1.row == 0 || p1.col == 0 {
			return Ref{}, unsupported("bad reference %q", s)
		}
		return Ref{Kind: RefCell, R1: p1.row, C1: p1.col, R2: p1.row, C2: p1.col, AbsR1: p1.absR, AbsC1: p1.absC, AbsR2: p1.absR, AbsC2: p1.absC}, nil
	}
	p2, err := parsePart(b)
	if err != nil {
		return Ref{}, err
	}
	r := Ref{R1: p1.row, C1: p1.col, R2: p2.row, C2: p2.col, AbsR1: p1.absR, AbsC1: p1.absC, AbsR2: p2.absR, AbsC2: p2.absC}
	switch {
	case p1.row > 0 && p1.col > 0 && p2.row > 0 && p2.col > 0:
		r.Kind = RefArea
	case p1.row == 0 && p2.row == 0 && p1.col > 0 && p2.col > 0:
		r.Kind, r.R1, r.R2 = RefCols, 1, MaxRows
	case p1.col == 0 && p2.col == 0 && p1.row > 0 && p2.row > 0:
		r.Kind, r.C1, r.C2 = RefRows, 1, MaxCols
	default:
		return Ref{}, unsupported("bad reference %q", s)
	}
	// Excel normalises areas so that the first corner is the top-left one.
	if r.R1 > r.R2 {
		r.R1, r.R2, r.AbsR1, r.AbsR2 = r.R2, r.R1, r.AbsR2, r.AbsR1
	}
	if r.C1 > r.C2 {
		r.C1, r.C2, r.AbsC1, r.AbsC2 = r.C2, r.C1, r.AbsC2, r.AbsC1
	}
	return r, nil
}

type refPart struct {
	row, col   int
	absR, absC bool
}

// parsePart parses one side of a reference: $A$1, A1, $A, 1, $1.
func parsePart(s string) (refPart, error) {
	var p refPart
	i := 0
	if i < len(s) && s[i] == '$' {
		i++
	}
	j := i
	col := 0
	for j < len(s) && isLetter(s[j]) {
		c := s[j] | 0x20
		col = col*26 + int(c-'a'+1)
		j++
		if j-i > 3 {
			return p, unsupported("bad reference %q", s)
		}
	}
	if j > i {
		p.col, p.absC = col, i == 1
	} else if i == 1 {
		p.absR = true // "$1": the dollar belongs to the row
	}
	if j < len(s) && s[j] == '$' {
		if p.col == 0 {
			return p, unsupported("bad reference %q", s)
		}
		p.absR = true
		j++
	}
	k := j
	row := 0
	for k < len(s) && isDigit(s[k]) {
		row = row*10 + int(s[k]-'0')
		k++
		if row > MaxRows {
			return p, unsupported("row out of range in %q", s)
		}
	}
	if k != len(s) || (k == j && p.absR && p.col > 0) {
		return p, unsupported("bad reference %q", s)
	}
	p.row = row
	if p.col > MaxCols || (p.row == 0 && k > j) || (p.col == 0 && p.row == 0) {
		return p, unsupported("bad reference %q", s)
	}
	return p, nil
}
