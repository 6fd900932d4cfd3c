package fill

import (
	"slices"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/formula"
)

// Edit operations on one cell.
const (
	opSet   uint8 = iota + 1 // write a cached value (inserting the cell if missing)
	opClear                  // remove the cached value (a spill cell the result no longer covers)
)

// posKey names a cell of a sheet.
type posKey struct {
	sheet int
	pos   uint64
}

// edit is one change to one cell of a sheet: element (i, j) of target tgt's
// result. 24 bytes: a million-row fill holds millions of them.
type edit struct {
	pos   uint64
	tgt   int32
	i, j  int32
	op    uint8
	flags uint8
}

// Edit flags.
const (
	editDropFormula uint8 = 1 << iota // --values: the value replaces the formula
	editNewRef                        // the dynamic array's ref changes to the result's size
	editNA                            // beyond a legacy array formula's result: #N/A
)

// value is the scalar an edit writes.
func (r *resolver) value(e *edit) udf.Value {
	if e.flags&editNA != 0 {
		return udf.Error(udf.ErrNA, "")
	}
	return cellValue(rowsOf(r.targets[e.tgt].val)[e.i][e.j])
}

// newRef is the ref a dynamic-array anchor gets: its result's extent.
func (r *resolver) newRef(e *edit) string {
	rows := rowsOf(r.targets[e.tgt].val)
	row, col := splitPos(e.pos)
	ref := formula.CellName(row, col)
	if len(rows) > 1 || len(rows[0]) > 1 {
		ref += ":" + formula.CellName(row+len(rows)-1, col+len(rows[0])-1)
	}
	return ref
}

// findTargets marks every formula cell that calls a registered function.
// With onlyMissing, cells that already hold a non-error value are left as
// they are and counted in kept.
func (r *resolver) findTargets(onlyMissing bool) (kept int) {
	var names []string
	for _, s := range r.reg.Specs() {
		names = append(names, strings.ToUpper(s.Name)+"(")
	}
	// Classify first, so the targets slice is allocated once at its size.
	n := 0
	for _, sh := range r.p.sheets {
		for ci := 0; ci < sh.cells.len(); ci++ {
			c := sh.cells.at(int(ci))
			if c.f < 0 {
				continue
			}
			fr := sh.formulas.at(int(c.f))
			if fr.kind == fDataTable {
				continue
			}
			if fr.target == 0 {
				fr.target = r.classify(fr, names)
			}
			if fr.target == 1 {
				n++
			}
		}
	}
	r.targets = make([]target, 0, n)
	for si, sh := range r.p.sheets {
		for ci := 0; ci < sh.cells.len(); ci++ {
			c := sh.cells.at(int(ci))
			if c.f < 0 || sh.formulas.at(int(c.f)).kind == fDataTable || sh.formulas.at(int(c.f)).target != 1 {
				continue
			}
			if onlyMissing && c.kind != valEmpty && c.kind != valError {
				kept++
				continue
			}
			c.tgt = int32(len(r.targets))
			r.targets = append(r.targets, target{sheet: int32(si), cell: int32(ci)})
			switch _, err := r.p.parse(sh.formulas.at(int(c.f))); {
			case err != nil:
				r.skipTarget(&r.targets[len(r.targets)-1], "cannot read the formula: "+reasonOf(err))
			case !sh.ordered:
				// The writer edits cells in one pass, in stored order.
				r.skipTarget(&r.targets[len(r.targets)-1], "the sheet's cells are not stored in row order")
			}
		}
	}
	return kept
}

// classify decides whether a formula calls a registered function, once per
// formula shape. A formula that cannot be parsed counts when its text names
// one, so it is reported rather than silently passed over.
func (r *resolver) classify(fr *formulaRec, names []string) int8 {
	f, err := r.p.parse(fr)
	if err != nil {
		for _, n := range names {
			if containsUpper(fr.text, n) {
				return 1
			}
		}
		return -1
	}
	sp := fr.shape
	if sp.target != 0 {
		return sp.target
	}
	sp.target = -1
	for _, c := range f.Calls() {
		if _, ok := r.registered(c.Name); ok {
			sp.target = 1
			break
		}
	}
	return sp.target
}

// plan turns computed targets into edits per sheet part. Targets whose
// results cannot be placed (a blocked spill range) become skipped.
func (r *resolver) plan(valuesMode bool) map[string][]edit {
	out := map[string][]edit{}
	claimed := map[posKey]bool{} // cells a grown spill range has taken
	groupOK := r.sharedGroupsDone()
	for i := range r.targets {
		t := &r.targets[i]
		if t.state != tDone {
			continue
		}
		sh := r.p.sheets[t.sheet]
		c := sh.cells.at(int(t.cell))
		fr := sh.formulas.at(int(c.f))
		row, col := splitPos(c.pos)
		drop := valuesMode
		if fr.kind == fShared && !groupOK[cellKey{sh.index, c.f}] {
			drop = false // removing a shared master would strip its uncomputed children
		}
		if t.val.Kind() == udf.KindArray && (len(t.val.Rows()) == 0 || len(t.val.Rows()[0]) == 0) {
			r.skipTarget(t, "the function returned an empty array (Excel shows #CALC!)")
			continue
		}
		rows := rowsOf(t.val)
		tgt := int32(i)
		var dropFlag uint8
		if drop {
			dropFlag = editDropFormula
		}
		var eds []edit
		switch {
		case fr.kind == fArray && c.flags&flagDynamic != 0:
			var reason string
			eds, reason = r.planSpill(sh, t.cell, tgt, fr, rows, claimed)
			if reason != "" {
				r.skipTarget(t, reason)
				continue
			}
			eds[0].flags |= dropFlag
		case fr.kind == fArray:
			r1, c1, r2, c2, ok := formula.ParseRange(fr.ref)
			if !ok {
				r1, c1, r2, c2 = row, col, row, col
			}
			for rr := r1; rr <= r2; rr++ {
				for cc := c1; cc <= c2; cc++ {
					e := edit{pos: makePos(rr, cc), tgt: tgt, op: opSet}
					e.i, e.j, e.flags = broadcastAt(rows, rr-r1, cc-c1)
					if e.pos == c.pos {
						e.flags |= dropFlag
					}
					eds = append(eds, e)
				}
			}
		default:
			eds = []edit{{pos: c.pos, tgt: tgt, op: opSet, flags: dropFlag}}
		}
		out[sh.part] = append(out[sh.part], eds...)
	}
	for part, eds := range out {
		slices.SortStableFunc(eds, func(a, b edit) int {
			switch {
			case a.pos < b.pos:
				return -1
			case a.pos > b.pos:
				return 1
			}
			return 0
		})
		out[part] = eds
	}
	return out
}

// planSpill places a dynamic-array result: the anchor's ref grows or shrinks
// to the result's size, cells it no longer covers are cleared, and cells it
// newly covers must be empty (otherwise Excel would show #SPILL!, and fill
// leaves the cell alone).
func (r *resolver) planSpill(sh *sheet, ci, tgt int32, fr *formulaRec, rows [][]udf.Value, claimed map[posKey]bool) ([]edit, string) {
	c := sh.cells.at(int(ci))
	row, col := splitPos(c.pos)
	h, w := len(rows), len(rows[0])
	if row+h-1 > formula.MaxRows || col+w-1 > formula.MaxCols {
		return nil, "the result does not fit on the sheet"
	}
	o1, oc1, o2, oc2, ok := formula.ParseRange(fr.ref)
	if !ok {
		o1, oc1, o2, oc2 = row, col, row, col
	}
	inOld := func(rr, cc int) bool { return rr >= o1 && rr <= o2 && cc >= oc1 && cc <= oc2 }
	eds := []edit{{pos: c.pos, tgt: tgt, op: opSet}}
	for i := 0; i < h; i++ {
		for j := 0; j < w; j++ {
			if i == 0 && j == 0 {
				continue
			}
			rr, cc := row+i, col+j
			p := makePos(rr, cc)
			if !inOld(rr, cc) {
				if a, ok := sh.anchorOf(p); ok && a != ci {
					return nil, "spill range blocked by the array formula at " + cellName(sh.cells.at(int(a)).pos)
				}
				if k := sh.cellAt(p); k >= 0 && (sh.cells.at(int(k)).f >= 0 || sh.cells.at(int(k)).kind != valEmpty) {
					return nil, "spill range blocked by " + cellName(p)
				}
				if claimed[posKey{sh.index, p}] {
					return nil, "spill range overlaps another spill range at " + cellName(p)
				}
			}
			eds = append(eds, edit{pos: p, tgt: tgt, i: int32(i), j: int32(j), op: opSet})
		}
	}
	for i := 0; i < h; i++ {
		for j := 0; j < w; j++ {
			if !inOld(row+i, col+j) {
				claimed[posKey{sh.index, makePos(row+i, col+j)}] = true
			}
		}
	}
	for rr := o1; rr <= o2; rr++ {
		for cc := oc1; cc <= oc2; cc++ {
			if rr-row >= h || cc-col >= w {
				eds = append(eds, edit{pos: makePos(rr, cc), tgt: tgt, op: opClear})
			}
		}
	}
	if r.newRef(&eds[0]) != fr.ref {
		eds[0].flags |= editNewRef
	}
	return eds, ""
}

// sharedGroupsDone reports, per shared formula (sheet, master record), whether
// every cell of the group was computed: only then may --values remove it.
func (r *resolver) sharedGroupsDone() map[cellKey]bool {
	ok := map[cellKey]bool{}
	for _, sh := range r.p.sheets {
		for i := 0; i < sh.cells.len(); i++ {
			c := sh.cells.at(int(i))
			if c.f < 0 || sh.formulas.at(int(c.f)).kind != fShared {
				continue
			}
			k := cellKey{sh.index, c.f}
			done := c.tgt >= 0 && r.targets[c.tgt].state == tDone
			if prev, seen := ok[k]; !seen {
				ok[k] = done
			} else {
				ok[k] = prev && done
			}
		}
	}
	return ok
}

func rowsOf(v udf.Value) [][]udf.Value {
	if v.Kind() == udf.KindArray && len(v.Rows()) > 0 && len(v.Rows()[0]) > 0 {
		return v.Rows()
	}
	return [][]udf.Value{{v}}
}

// broadcastAt is the element a legacy array formula shows at (i, j) of its
// range: a single row or column repeats, and positions beyond the result
// show #N/A.
func broadcastAt(rows [][]udf.Value, i, j int) (int32, int32, uint8) {
	if len(rows) == 1 {
		i = 0
	}
	if len(rows[0]) == 1 {
		j = 0
	}
	if i >= len(rows) || j >= len(rows[0]) {
		return 0, 0, editNA
	}
	return int32(i), int32(j), 0
}

// cellValue is how a result element shows in a cell: a blank shows as 0.
func cellValue(v udf.Value) udf.Value {
	if v.IsEmpty() {
		return udf.Number(0)
	}
	return v
}

// containsUpper reports whether s contains the upper-case ASCII word w,
// ignoring case, without allocating.
func containsUpper(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		j := 0
		for ; j < len(w); j++ {
			c := s[i+j]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			if c != w[j] {
				break
			}
		}
		if j == len(w) {
			return true
		}
	}
	return false
}
