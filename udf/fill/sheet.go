package fill

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/formula"
)

// sheet is one worksheet's cells, held compactly: a workbook of a million
// rows must fit in well under a gigabyte.
type sheet struct {
	index int
	name  string
	part  string // zip part name; "" for chart and other non-work sheets

	cells    chunked[cellRec] // sorted by pos (row-major), as the XML stores them
	formulas chunked[formulaRec]
	strs     []string         // text values and error codes, by cellRec.data
	spill    map[uint64]int32 // anchors of array-range positions that have no cell (see anchorOf)
	ordered  bool             // the XML listed cells in row-major order
}

// Value kinds of a cell's stored (cached) value.
const (
	valEmpty uint8 = iota
	valNumber
	valShared // data: index into the shared-string table
	valStr    // data: index into sheet.strs
	valBool
	valError   // data: index into sheet.strs (the code)
	valUnknown // a type fill does not interpret (t="d")
)

const flagDynamic uint8 = 1 // the cell has cm: Excel 365's dynamic-array metadata

// cellRec is one <c> element. 32 bytes.
type cellRec struct {
	pos    uint64 // row<<16 | col
	data   uint64 // float64 bits, or a string index
	f      int32  // index into sheet.formulas, -1 for none
	tgt    int32  // index into the run's targets, -1 for none
	anchor int32  // for a cell in an array formula's range, the formula's cell; else -1
	kind   uint8
	flags  uint8
}

// anchorOf returns the array formula cell whose range covers pos, if any.
func (s *sheet) anchorOf(pos uint64) (int32, bool) {
	if ci := s.cellAt(pos); ci >= 0 {
		if a := s.cells.at(ci).anchor; a >= 0 {
			return a, true
		}
	}
	a, ok := s.spill[pos]
	return a, ok
}

// setAnchor records that the array formula cell a covers pos.
func (s *sheet) setAnchor(pos uint64, a int32) {
	if ci := s.cellAt(pos); ci >= 0 {
		s.cells.at(ci).anchor = a
		return
	}
	s.spill[pos] = a
}

func makePos(row, col int) uint64  { return uint64(row)<<16 | uint64(col) }
func splitPos(p uint64) (int, int) { return int(p >> 16), int(p & 0xFFFF) }

// Formula kinds.
const (
	fNormal uint8 = iota
	fShared
	fArray
	fDataTable
)

// formulaRec is a formula's text, written for the cell (row, col). Children
// of a shared formula point at their master's record.
type formulaRec struct {
	text     string
	ref      string // the ref attribute of array and shared-master formulas
	row, col int32
	si       int32
	kind     uint8
	target   int8   // 0 not checked, 1 calls a registered function, -1 does not
	shape    *shape // the parsed tree, shared by formulas of the same shape
}

// cellAt returns the index of the cell at pos, or -1.
func (s *sheet) cellAt(pos uint64) int {
	i := sort.Search(s.cells.len(), func(i int) bool { return s.cells.at(int(i)).pos >= pos })
	if i < s.cells.len() && s.cells.at(int(i)).pos == pos {
		return i
	}
	return -1
}

// storedValue is the cell's cached value as the file holds it.
func (s *sheet) storedValue(c *cellRec, sst []string) (udf.Value, error) {
	switch c.kind {
	case valNumber:
		return udf.Number(math.Float64frombits(c.data)), nil
	case valShared:
		return udf.Text(sst[c.data]), nil
	case valStr:
		return udf.Text(s.strs[c.data]), nil
	case valBool:
		return udf.Bool(c.data != 0), nil
	case valError:
		code := udf.ErrorCode(s.strs[c.data])
		if !code.Valid() {
			return udf.Value{}, fmt.Errorf("%w: cell holds the error %s", formula.ErrUnsupported, code)
		}
		return udf.Error(code, ""), nil
	case valUnknown:
		return udf.Value{}, fmt.Errorf("%w: cell holds a date-typed value", formula.ErrUnsupported)
	}
	return udf.Empty(), nil
}

// cellReader is the state of reading one sheet's XML.
type cellReader struct {
	p      *workbookPkg
	s      *sheet
	sst    int
	row    int
	col    int
	cur    cellRec
	tAttr  string
	inCell bool

	inF, inV, inIS, inT bool
	phDepth             int
	fAttrs              struct{ t, ref, si string }
	fHasAttrs           bool
	text                []byte // <f> or <v> text being read
	isText              []byte // <is> text being read
	hasV, hasF          bool

	masters map[int32]int32 // shared si → formula index
	fixups  []fixup
	as      []attr
}

type fixup struct {
	cell int
	si   int32
}

// readSheet reads a worksheet's cells, formulas and cached values.
func readSheet(p *workbookPkg, s *sheet, r io.Reader) error {
	cr := &cellReader{p: p, s: s, sst: len(p.sst), masters: map[int32]int32{}}
	s.spill = map[uint64]int32{}
	s.ordered = true
	sc := newScanner(r)
	inData := false
	var nest nesting
	for {
		t, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := nest.check(t); err != nil {
			return err
		}
		if !inData {
			if t.kind == tokStart && string(t.name) == "sheetData" {
				inData = true
			}
			continue
		}
		if t.kind == tokEnd && string(t.name) == "sheetData" {
			inData = false
			continue
		}
		if err := cr.token(t); err != nil {
			return err
		}
	}
	if err := nest.end(); err != nil {
		return err
	}
	for _, fx := range cr.fixups {
		m, ok := cr.masters[fx.si]
		if !ok {
			return fmt.Errorf("shared formula %d has no master", fx.si)
		}
		s.cells.at(int(fx.cell)).f = m
	}
	if !s.ordered {
		sort.Stable(sortable[cellRec]{&s.cells, func(a, b *cellRec) bool { return a.pos < b.pos }})
	}
	return cr.indexArrays()
}

func (cr *cellReader) token(t token) error {
	var err error
	switch t.kind {
	case tokStart, tokEmpty:
		switch string(t.name) {
		case "row":
			if cr.as, err = attrs(t.raw, cr.as); err != nil {
				return err
			}
			if v, ok := attrValue(cr.as, "r"); ok {
				if cr.row, err = strconv.Atoi(string(v)); err != nil || cr.row < 1 || cr.row > formula.MaxRows {
					return fmt.Errorf("bad row number %q", v)
				}
			} else {
				cr.row++
			}
			cr.col = 0
		case "c":
			if err := cr.startCell(t); err != nil {
				return err
			}
			if t.kind == tokEmpty {
				return cr.endCell()
			}
		case "f":
			if !cr.inCell {
				return nil
			}
			if cr.as, err = attrs(t.raw, cr.as); err != nil {
				return err
			}
			cr.hasF, cr.text = true, cr.text[:0]
			cr.fAttrs.t, cr.fAttrs.ref, cr.fAttrs.si = "", "", ""
			for _, a := range cr.as {
				switch string(a.name) {
				case "t":
					cr.fAttrs.t = string(a.value)
				case "ref":
					cr.fAttrs.ref = string(a.value)
				case "si":
					cr.fAttrs.si = string(a.value)
				}
			}
			cr.inF = t.kind == tokStart
			if !cr.inF {
				return cr.endF()
			}
		case "v":
			if cr.inCell {
				cr.hasV, cr.text = true, cr.text[:0]
				cr.inV = t.kind == tokStart
			}
		case "is":
			if cr.inCell {
				cr.inIS, cr.isText = t.kind == tokStart, cr.isText[:0]
				cr.hasV = true
			}
		case "t":
			cr.inT = cr.inIS && t.kind == tokStart
		case "rPh":
			if cr.inIS && t.kind == tokStart {
				cr.phDepth++
			}
		}
	case tokEnd:
		switch string(t.name) {
		case "c":
			return cr.endCell()
		case "f":
			if cr.inF {
				cr.inF = false
				return cr.endF()
			}
		case "v":
			if cr.inV {
				cr.inV = false
				return cr.endV()
			}
		case "is":
			cr.inIS = false
		case "t":
			cr.inT = false
		case "rPh":
			if cr.phDepth > 0 {
				cr.phDepth--
			}
		}
	case tokText:
		switch {
		case cr.inF || cr.inV:
			cr.text = append(cr.text, t.raw...)
		case cr.inIS && cr.inT && cr.phDepth == 0:
			cr.isText = append(cr.isText, t.raw...)
		}
	case tokCDATA:
		body := string(t.raw[9 : len(t.raw)-3])
		switch {
		case cr.inF || cr.inV:
			cr.text = appendEscaped(cr.text, body)
		case cr.inIS && cr.inT && cr.phDepth == 0:
			cr.isText = appendEscaped(cr.isText, body)
		}
	}
	return nil
}

func (cr *cellReader) startCell(t token) error {
	var err error
	if cr.as, err = attrs(t.raw, cr.as); err != nil {
		return err
	}
	cr.cur = cellRec{f: -1, tgt: -1, anchor: -1}
	cr.tAttr = ""
	cr.hasV, cr.hasF = false, false
	cr.inCell = true
	row, col := cr.row, cr.col+1
	for _, a := range cr.as {
		switch string(a.name) {
		case "r":
			r, c, ok := formula.ParseCell(string(a.value))
			if !ok {
				return fmt.Errorf("bad cell reference %q", a.value)
			}
			row, col = r, c
		case "t":
			cr.tAttr = string(a.value)
		case "cm":
			if string(a.value) != "0" {
				cr.cur.flags |= flagDynamic
			}
		}
	}
	if row < 1 || col > formula.MaxCols {
		return fmt.Errorf("cell outside the sheet at row %d", row)
	}
	cr.row, cr.col = row, col
	cr.cur.pos = makePos(row, col)
	return nil
}

func (cr *cellReader) endF() error {
	s := cr.s
	text, err := unescape(cr.text)
	if err != nil {
		return err
	}
	row, col := splitPos(cr.cur.pos)
	rec := formulaRec{text: text, row: int32(row), col: int32(col), ref: cr.fAttrs.ref}
	switch cr.fAttrs.t {
	case "shared":
		rec.kind = fShared
		si, err := strconv.Atoi(cr.fAttrs.si)
		if err != nil {
			return fmt.Errorf("bad shared formula index %q", cr.fAttrs.si)
		}
		rec.si = int32(si)
		if _, isMaster := cr.masters[rec.si]; text == "" || isMaster {
			// A child: its formula is its master's, shifted.
			if m, ok := cr.masters[rec.si]; ok {
				cr.cur.f = m
			} else {
				cr.cur.f = -2 // fixed up once the master is read
			}
			return nil
		}
		cr.masters[rec.si] = int32(s.formulas.len())
	case "array":
		rec.kind = fArray
	case "dataTable":
		rec.kind = fDataTable
	}
	// Parsed now, by shape: the text of a million per-row formulas need not
	// be kept (parse drops it once the shape holds the tree).
	cr.p.parse(&rec)
	cr.cur.f = int32(s.formulas.len())
	s.formulas.add(rec)
	return nil
}

func (cr *cellReader) endV() error {
	if cr.inIS {
		return nil
	}
	switch cr.tAttr {
	case "s":
		i, err := strconv.Atoi(string(cr.text))
		if err != nil || i < 0 || i >= cr.sst {
			return fmt.Errorf("cell %s: bad shared-string index %q", cellName(cr.cur.pos), cr.text)
		}
		cr.cur.kind, cr.cur.data = valShared, uint64(i)
	case "str", "inlineStr", "e":
		text, err := unescape(cr.text)
		if err != nil {
			return err
		}
		cr.cur.kind, cr.cur.data = valStr, uint64(len(cr.s.strs))
		if cr.tAttr == "e" {
			cr.cur.kind = valError
		} else {
			text = decodeXEscapes(text)
		}
		cr.s.strs = append(cr.s.strs, text)
	case "b":
		cr.cur.kind = valBool
		if string(cr.text) == "1" || string(cr.text) == "true" {
			cr.cur.data = 1
		}
	case "", "n":
		if len(cr.text) == 0 {
			return nil
		}
		f, err := strconv.ParseFloat(string(cr.text), 64)
		if err != nil {
			return fmt.Errorf("cell %s: bad number %q", cellName(cr.cur.pos), cr.text)
		}
		cr.cur.kind, cr.cur.data = valNumber, math.Float64bits(f)
	default:
		cr.cur.kind = valUnknown
	}
	return nil
}

func (cr *cellReader) endCell() error {
	if !cr.inCell {
		return nil
	}
	cr.inCell = false
	if cr.tAttr == "inlineStr" && cr.hasV && cr.cur.kind == valEmpty {
		text, err := unescape(cr.isText)
		if err != nil {
			return err
		}
		cr.cur.kind, cr.cur.data = valStr, uint64(len(cr.s.strs))
		cr.s.strs = append(cr.s.strs, decodeXEscapes(text))
	}
	s := cr.s
	if n := s.cells.len(); n > 0 && s.cells.at(int(n-1)).pos >= cr.cur.pos {
		s.ordered = false
	}
	if cr.cur.f == -2 {
		cr.fixups = append(cr.fixups, fixup{cell: s.cells.len(), si: int32(siOf(cr))})
		cr.cur.f = -1
	}
	s.cells.add(cr.cur)
	return nil
}

func siOf(cr *cellReader) int {
	si, _ := strconv.Atoi(cr.fAttrs.si)
	return si
}

// indexArrays maps every non-anchor cell of each array formula's range to
// its anchor, so references to spilled cells find the formula that fills them.
func (cr *cellReader) indexArrays() error {
	s := cr.s
	if cr.fixups != nil && !s.ordered {
		return errors.New("shared formulas in a sheet whose cells are out of order")
	}
	for i := 0; i < s.cells.len(); i++ {
		c := s.cells.at(int(i))
		if c.f < 0 || s.formulas.at(int(c.f)).kind != fArray {
			continue
		}
		r1, c1, r2, c2, ok := formula.ParseRange(s.formulas.at(int(c.f)).ref)
		if !ok {
			continue
		}
		if (r2-r1+1)*(c2-c1+1) > formula.MaxRangeCells {
			return fmt.Errorf("array formula at %s covers more than %d cells", cellName(c.pos), formula.MaxRangeCells)
		}
		for r := r1; r <= r2; r++ {
			for col := c1; col <= c2; col++ {
				if p := makePos(r, col); p != c.pos {
					s.setAnchor(p, int32(i))
				}
			}
		}
	}
	return nil
}

// cellName is a position's A1 name.
func cellName(pos uint64) string {
	r, c := splitPos(pos)
	return formula.CellName(r, c)
}
