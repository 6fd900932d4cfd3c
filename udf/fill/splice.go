package fill

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/formula"
)

// splicer copies a worksheet's XML token by token, rewriting only the <c>
// elements that have edits and inserting cells (and rows) a spill range
// needs. Everything else is written back byte for byte.
type splicer struct {
	w      *bufio.Writer
	r      *resolver // gives each edit's value
	eds    []edit
	next   int // first edit not yet applied
	values bool

	row, col int
	prefix   string // namespace prefix of the sheet's elements, "x:" for <x:sheetData>
	as       []attr
	buf      []byte
}

func spliceSheet(ctx context.Context, dst io.Writer, src io.Reader, r *resolver, eds []edit, values bool) error {
	sp := &splicer{w: bufio.NewWriterSize(dst, 256<<10), r: r, eds: eds, values: values}
	sc := newScanner(src)
	inData := false
	for n := 0; ; n++ {
		if n&0xFFFF == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		t, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !inData {
			if t.kind == tokStart && string(t.name) == "sheetData" {
				inData = true
				q := qname(t.raw)
				sp.prefix = string(q[:len(q)-len("sheetData")])
			}
			sp.w.Write(t.raw)
			continue
		}
		switch {
		case t.kind == tokEnd && string(t.name) == "sheetData":
			inData = false
			sp.insertRowsBefore(formula.MaxRows + 1)
			sp.w.Write(t.raw)
		case (t.kind == tokStart || t.kind == tokEmpty) && string(t.name) == "row":
			if err := sp.startRow(t); err != nil {
				return err
			}
		case t.kind == tokEnd && string(t.name) == "row":
			sp.insertCellsBefore(sp.row, formula.MaxCols+1)
			sp.w.Write(t.raw)
		case (t.kind == tokStart || t.kind == tokEmpty) && string(t.name) == "c":
			if err := sp.cell(t, sc); err != nil {
				return err
			}
		default:
			sp.w.Write(t.raw)
		}
	}
	if sp.next < len(sp.eds) {
		return fmt.Errorf("%d cell edits were not applied: the sheet's cells are not in row order", len(sp.eds)-sp.next)
	}
	return sp.w.Flush()
}

func (sp *splicer) startRow(t token) error {
	var err error
	if sp.as, err = attrs(t.raw, sp.as); err != nil {
		return err
	}
	if v, ok := attrValue(sp.as, "r"); ok {
		if sp.row, err = strconv.Atoi(string(v)); err != nil {
			return fmt.Errorf("bad row number %q", v)
		}
	} else {
		sp.row++
	}
	sp.col = 0
	sp.insertRowsBefore(sp.row)
	if t.kind == tokEmpty && sp.pendingInRow(sp.row) {
		// <row r="5"/> that must now hold inserted cells.
		raw := bytes.TrimRight(t.raw[:len(t.raw)-2], " \t\r\n")
		sp.w.Write(raw)
		sp.w.WriteString(">")
		sp.insertCellsBefore(sp.row, formula.MaxCols+1)
		sp.w.WriteString("</" + string(qname(t.raw)) + ">")
		return nil
	}
	sp.w.Write(t.raw)
	return nil
}

func (sp *splicer) pendingInRow(row int) bool {
	if sp.next >= len(sp.eds) {
		return false
	}
	r, _ := splitPos(sp.eds[sp.next].pos)
	return r == row
}

// insertRowsBefore writes new rows for edits of missing rows above row.
func (sp *splicer) insertRowsBefore(row int) {
	for sp.next < len(sp.eds) {
		r, _ := splitPos(sp.eds[sp.next].pos)
		if r >= row {
			return
		}
		if !sp.hasSetIn(r) {
			sp.skipRow(r)
			continue
		}
		sp.w.WriteString(`<` + sp.prefix + `row r="` + strconv.Itoa(r) + `">`)
		sp.insertCellsBefore(r, formula.MaxCols+1)
		sp.w.WriteString("</" + sp.prefix + "row>")
	}
}

func (sp *splicer) hasSetIn(row int) bool {
	for i := sp.next; i < len(sp.eds); i++ {
		r, _ := splitPos(sp.eds[i].pos)
		if r != row {
			return false
		}
		if sp.eds[i].op == opSet {
			return true
		}
	}
	return false
}

func (sp *splicer) skipRow(row int) {
	for sp.next < len(sp.eds) {
		if r, _ := splitPos(sp.eds[sp.next].pos); r != row {
			return
		}
		sp.next++
	}
}

// insertCellsBefore writes new cells for edits of missing cells in row left of col.
func (sp *splicer) insertCellsBefore(row, col int) {
	for sp.next < len(sp.eds) {
		e := &sp.eds[sp.next]
		r, c := splitPos(e.pos)
		if r != row || c >= col {
			return
		}
		sp.next++
		if e.op != opSet {
			continue // nothing to clear in a cell that does not exist
		}
		sp.buf = append(sp.buf[:0], '<')
		sp.buf = append(sp.buf, sp.prefix...)
		sp.buf = append(sp.buf, `c r="`...)
		sp.buf = append(sp.buf, cellName(e.pos)...)
		sp.buf = append(sp.buf, '"')
		sp.buf = sp.appendTypedValue(sp.buf, sp.prefix, sp.r.value(e), nil, nil, sp.values)
		sp.w.Write(sp.buf)
	}
}

// cell handles one <c> element: copied through, or rebuilt when edited.
func (sp *splicer) cell(t token, sc *scanner) error {
	var err error
	if sp.as, err = attrs(t.raw, sp.as); err != nil {
		return err
	}
	row, col := sp.row, sp.col+1
	if v, ok := attrValue(sp.as, "r"); ok {
		r, c, ok := formula.ParseCell(string(v))
		if !ok {
			return fmt.Errorf("bad cell reference %q", v)
		}
		row, col = r, c
	}
	sp.row, sp.col = row, col
	sp.insertCellsBefore(row, col)
	pos := makePos(row, col)
	if sp.next >= len(sp.eds) || sp.eds[sp.next].pos != pos {
		sp.w.Write(t.raw)
		return nil
	}
	e := sp.eds[sp.next]
	sp.next++
	// Reading the children moves the scanner's buffer: keep a copy of the tag.
	t.raw = append([]byte(nil), t.raw...)
	if sp.as, err = attrs(t.raw, sp.as); err != nil {
		return err
	}
	// Gather the element's children: <f> is kept byte for byte, <v> and <is>
	// are replaced, anything else (extLst) is kept.
	var fRaw, rest []byte
	if t.kind == tokStart {
		depth, inF, skip := 0, false, 0
		for {
			ct, err := sc.next()
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
			name := string(ct.name)
			if depth == 0 && ct.kind == tokEnd && name == "c" {
				break
			}
			switch {
			case depth == 0 && (ct.kind == tokStart || ct.kind == tokEmpty) && name == "f":
				inF = ct.kind == tokStart
				ref := ""
				if e.flags&editNewRef != 0 {
					ref = sp.r.newRef(&e)
				}
				fRaw = append(fRaw, sp.withRef(ct.raw, ref)...)
				if inF {
					depth++
				}
				continue
			case depth == 0 && (ct.kind == tokStart || ct.kind == tokEmpty) && (name == "v" || name == "is"):
				if ct.kind == tokStart {
					skip, depth = 1, 1
				}
				continue
			}
			if ct.kind == tokStart {
				depth++
			} else if ct.kind == tokEnd {
				depth--
			}
			switch {
			case inF:
				fRaw = append(fRaw, ct.raw...)
				if depth == 0 {
					inF = false
				}
			case skip > 0:
				if depth == 0 {
					skip = 0
				}
			default:
				rest = append(rest, ct.raw...)
			}
		}
	}
	prefix := qname(t.raw)[:len(qname(t.raw))-1] // "x:" for <x:c>, "" for <c>
	b := append(sp.buf[:0], '<')
	b = append(b, prefix...)
	b = append(b, 'c')
	for _, a := range sp.as {
		n := string(a.name)
		if n == "t" || (n == "cm" && e.flags&editDropFormula != 0) {
			continue
		}
		b = append(b, ' ')
		b = append(b, t.raw[a.from:a.to]...)
	}
	if e.op == opClear {
		if len(fRaw) == 0 && len(rest) == 0 {
			b = append(b, "/>"...)
		} else {
			b = append(b, '>')
			b = append(b, fRaw...)
			b = append(b, rest...)
			b = append(b, "</"...)
			b = append(b, prefix...)
			b = append(b, "c>"...)
		}
		sp.buf = b
		sp.w.Write(b)
		return nil
	}
	if e.flags&editDropFormula != 0 {
		fRaw = nil
	}
	// With --values, cells left without a formula hold constants: text
	// becomes an inline string, since t="str" means a formula's text result.
	b = sp.appendTypedValue(b, string(prefix), sp.r.value(&e), fRaw, rest, sp.values && len(fRaw) == 0)
	sp.buf = b
	sp.w.Write(b)
	return nil
}

// qname returns the qualified tag name of a raw start tag, e.g. "x:c" or "c".
func qname(raw []byte) []byte {
	i := 1
	for i < len(raw) && !isXMLSpace(raw[i]) && raw[i] != '>' && raw[i] != '/' {
		i++
	}
	return raw[1:i]
}

// withRef returns an <f> start tag with its ref attribute set to ref ("" keeps the tag).
func (sp *splicer) withRef(raw []byte, ref string) []byte {
	if ref == "" {
		return raw
	}
	as, err := attrs(raw, nil)
	if err != nil {
		return raw
	}
	for _, a := range as {
		if string(a.name) == "ref" {
			out := append([]byte{}, raw[:a.from]...)
			out = append(out, `ref="`+ref+`"`...)
			return append(out, raw[a.to:]...)
		}
	}
	end := len(raw) - 1
	if raw[end-1] == '/' {
		end--
	}
	out := append([]byte{}, raw[:end]...)
	out = append(out, ` ref="`+ref+`"`...)
	return append(out, raw[end:]...)
}

// appendTypedValue finishes a <c> element: its t attribute, the kept <f>,
// the new value, the kept trailing children. asConstant writes text as an
// inline string, for cells that no longer hold a formula.
func (sp *splicer) appendTypedValue(b []byte, prefix string, v udf.Value, fRaw, rest []byte, asConstant bool) []byte {
	vOpen := "<" + prefix + "v>"
	vClose := "</" + prefix + "v>"
	switch v.Kind() {
	case udf.KindText:
		if asConstant {
			b = append(b, ` t="inlineStr">`...)
			b = append(b, fRaw...)
			b = append(b, "<"+prefix+"is><"+prefix+"t"...)
			if s := v.Str(); s != "" && (isXMLSpace(s[0]) || isXMLSpace(s[len(s)-1])) {
				b = append(b, ` xml:space="preserve"`...)
			}
			b = append(b, '>')
			b = appendEscaped(b, v.Str())
			b = append(b, "</"+prefix+"t></"+prefix+"is>"...)
		} else {
			b = append(b, ` t="str">`...)
			b = append(b, fRaw...)
			b = append(b, vOpen...)
			b = appendEscaped(b, v.Str())
			b = append(b, vClose...)
		}
	case udf.KindBool:
		b = append(b, ` t="b">`...)
		b = append(b, fRaw...)
		b = append(b, vOpen...)
		if v.Truth() {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
		b = append(b, vClose...)
	case udf.KindError:
		b = append(b, ` t="e">`...)
		b = append(b, fRaw...)
		b = append(b, vOpen...)
		b = append(b, v.Code()...)
		b = append(b, vClose...)
	default:
		b = append(b, '>')
		b = append(b, fRaw...)
		b = append(b, vOpen...)
		b = strconv.AppendFloat(b, v.Num(), 'g', -1, 64)
		b = append(b, vClose...)
	}
	b = append(b, rest...)
	b = append(b, "</"+prefix+"c>"...)
	return b
}
