package fill

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/formula"
)

// Target states.
const (
	tPending uint8 = iota
	tDone
	tSkipped
)

// target is a formula cell that calls a registered function.
type target struct {
	cell  int32 // index in its sheet's cells
	sheet int32 // index in the workbook's sheets
	state uint8
	val   udf.Value
}

// skipTarget gives up on a target, saying why.
func (r *resolver) skipTarget(t *target, reason string) {
	t.state = tSkipped
	r.reasons[t] = reason
}

// resolver evaluates targets: it is the formula.Env of a fill run.
type resolver struct {
	p       *workbookPkg
	reg     *udf.Registry
	preview bool
	targets []target
	reasons map[*target]string // why skipped targets were given up

	memo  map[string]udf.Value // call key → result
	need  map[string]udf.Call  // calls wanted this round, by key
	other map[cellKey]otherVal // non-target formula cells evaluated on demand
	taint map[cellKey]uint8    // 1 visiting, 2 clean, 3 tainted
	names map[string]*formula.Formula
	keyb  []byte

	emptyReads map[posKey]struct{} // blank cells read this pass, which a growing spill may cover
}

type cellKey struct {
	sheet int
	cell  int32
}

type otherVal struct {
	v   udf.Value
	err error
}

var errVisiting = errors.New("visiting")

func newResolver(p *workbookPkg, reg *udf.Registry) *resolver {
	return &resolver{p: p, reg: reg, memo: map[string]udf.Value{}, other: map[cellKey]otherVal{}, reasons: map[*target]string{},
		taint: map[cellKey]uint8{}, names: map[string]*formula.Formula{}}
}

// registered resolves any stored form of a function name: GEOLOCATE,
// XLB.GEOLOCATE, _xldudf_XLB_GEOLOCATE, _xldudf_GEOLOCATE, _xll.GEOLOCATE
// and [1]!GEOLOCATE (a reference through an add-in workbook).
func (r *resolver) registered(name formula.Name) (*udf.Function, bool) {
	if name.Sheet != "" {
		return nil, false
	}
	n := name.Name
	if len(n) > 5 && strings.EqualFold(n[:5], "_xll.") {
		n = n[5:]
	}
	if f, ok := r.reg.Lookup(n); ok {
		return f, true
	}
	if len(n) > 8 && strings.EqualFold(n[:8], "_xldudf_") {
		return r.reg.Lookup(n[8:])
	}
	return nil, false
}

// Registered implements formula.Env.
func (r *resolver) Registered(name formula.Name) (*udf.Spec, bool) {
	f, ok := r.registered(name)
	if !ok {
		return nil, false
	}
	return &f.Spec, true
}

// Call implements formula.Env: a known result, or ErrPending after noting
// the call for this round's batch.
func (r *resolver) Call(name formula.Name, args []udf.Value) (udf.Value, error) {
	f, _ := r.registered(name)
	b := append(r.keyb[:0], f.Spec.Name...)
	b = append(b, 0)
	for _, a := range args {
		var err error
		if b, err = a.AppendJSON(b); err != nil {
			return udf.Value{}, err
		}
		b = append(b, 0)
	}
	r.keyb = b
	if v, ok := r.memo[string(b)]; ok {
		return v, nil
	}
	if _, ok := r.need[string(b)]; !ok {
		r.need[string(b)] = udf.Call{Fn: f.Spec.Name, Args: args, Preview: r.preview}
	}
	return udf.Value{}, formula.ErrPending
}

// DefinedName implements formula.Env: a sheet-scoped name wins over a workbook one.
func (r *resolver) DefinedName(sheetName, name string) (*formula.Formula, error) {
	sh := r.p.sheetByName(sheetName)
	var found *definedName
	for i := range r.p.names {
		n := &r.p.names[i]
		if !strings.EqualFold(n.name, name) {
			continue
		}
		if n.local >= 0 && sh != nil && n.local == sh.index {
			found = n
			break
		}
		if n.local < 0 && found == nil {
			found = n
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: unknown name %s", formula.ErrUnsupported, name)
	}
	if f, ok := r.names[found.text]; ok {
		return f, nil
	}
	f, err := formula.Parse(found.text)
	if err != nil {
		return nil, fmt.Errorf("defined name %s: %w", name, err)
	}
	r.names[found.text] = f
	return f, nil
}

// Cell implements formula.Env.
func (r *resolver) Cell(sheetName string, row, col int) (udf.Value, error) {
	sh := r.p.sheetByName(sheetName)
	if sh == nil || sh.part == "" {
		return udf.Value{}, fmt.Errorf("%w: no worksheet named %q", formula.ErrUnsupported, sheetName)
	}
	pos := makePos(row, col)
	if a, ok := sh.anchorOf(pos); ok && !r.kept(sh, a) {
		ar, ac := splitPos(sh.cells.at(int(a)).pos)
		v, err := r.formulaValue(sh, a)
		if err != nil {
			return v, err
		}
		if v.Kind() != udf.KindArray {
			if ci := sh.cellAt(pos); ci >= 0 && sh.cells.at(int(ci)).tgt < 0 && sh.cells.at(int(a)).tgt < 0 {
				return sh.storedValue(sh.cells.at(int(ci)), r.p.sst)
			}
			return udf.Empty(), nil
		}
		rows := v.Rows()
		if row-ar < len(rows) && col-ac < len(rows[0]) {
			return rows[row-ar][col-ac], nil
		}
		return udf.Empty(), nil
	}
	ci := sh.cellAt(pos)
	if ci < 0 {
		if r.emptyReads != nil {
			r.emptyReads[posKey{sh.index, pos}] = struct{}{}
		}
		return udf.Empty(), nil
	}
	c := sh.cells.at(int(ci))
	if c.f < 0 {
		if c.kind == valEmpty && r.emptyReads != nil {
			r.emptyReads[posKey{sh.index, pos}] = struct{}{}
		}
		return sh.storedValue(c, r.p.sst)
	}
	v, err := r.formulaValue(sh, int32(ci))
	if err != nil {
		return v, err
	}
	if v.Kind() == udf.KindArray {
		v = v.Rows()[0][0]
	}
	if v.IsEmpty() {
		v = udf.Number(0) // a formula cell never reads as blank
	}
	return v, nil
}

// formulaValue is a formula cell's whole result: a target's computed value,
// or another formula evaluated here, or — when it is beyond this evaluator
// and does not depend on any target — its cached value.
func (r *resolver) formulaValue(sh *sheet, ci int32) (udf.Value, error) {
	c := sh.cells.at(int(ci))
	if c.tgt >= 0 {
		t := &r.targets[c.tgt]
		switch t.state {
		case tDone:
			return t.val, nil
		case tSkipped:
			return udf.Value{}, fmt.Errorf("%w: depends on %s!%s, which fill cannot compute", formula.ErrUnsupported, sh.name, cellName(c.pos))
		}
		return udf.Value{}, formula.ErrPending
	}
	if c.f < 0 || r.kept(sh, ci) {
		return sh.storedValue(c, r.p.sst)
	}
	key := cellKey{sh.index, ci}
	if o, ok := r.other[key]; ok {
		if o.err == errVisiting {
			return udf.Value{}, fmt.Errorf("%w: circular reference through %s!%s", formula.ErrUnsupported, sh.name, cellName(c.pos))
		}
		return o.v, o.err
	}
	r.other[key] = otherVal{err: errVisiting}
	v, err := r.evalCell(sh, ci)
	if errors.Is(err, formula.ErrPending) {
		delete(r.other, key)
		return v, err
	}
	if err != nil && formula.IsUnsupported(err) && !r.tainted(sh, ci) {
		v, err = sh.storedValue(c, r.p.sst)
	}
	r.other[key] = otherVal{v, err}
	return v, err
}

// kept reports a function cell left out by --only-missing: its cached
// values stand, for it and its spill range.
func (r *resolver) kept(sh *sheet, ci int32) bool {
	c := sh.cells.at(int(ci))
	return c.tgt < 0 && c.f >= 0 && sh.formulas.at(int(c.f)).target == 1
}

// evalCell evaluates the formula of a cell at its own position.
func (r *resolver) evalCell(sh *sheet, ci int32) (v udf.Value, err error) {
	c := sh.cells.at(int(ci))
	// A fault in the evaluator on one odd formula costs that cell, not the
	// run: the cell is reported as unsupported and the rest are filled.
	defer func() {
		if x := recover(); x != nil {
			v, err = udf.Value{}, fmt.Errorf("%w: internal error evaluating %s!%s: %v", formula.ErrUnsupported, sh.name, cellName(c.pos), x)
		}
	}()
	fr := sh.formulas.at(int(c.f))
	f, err := r.p.parse(fr)
	if err != nil {
		return udf.Value{}, err
	}
	row, col := splitPos(c.pos)
	return formula.Eval(r, f, formula.Pos{Sheet: sh.name, Row: row, Col: col, DR: row - fr.shape.row, DC: col - fr.shape.col})
}

// shape is a parsed formula shared by every formula of the same shape.
type shape struct {
	f        *formula.Formula
	err      error
	row, col int
	target   int8 // 0 not checked, 1 calls a registered function, -1 does not
}

// parse returns a formula's tree. Formulas that differ only by where they
// sit (=GEOCODE(A2) in B2, =GEOCODE(A3) in B3 …) share one tree, so a
// million per-row formulas cost a handful of parses' memory.
func (p *workbookPkg) parse(fr *formulaRec) (*formula.Formula, error) {
	if fr.shape != nil {
		return fr.shape.f, fr.shape.err
	}
	if p.shapes == nil {
		p.shapes = map[string]*shape{}
	}
	row, col := int(fr.row), int(fr.col)
	key, err := safeShapeKey(p.keyBuf[:0], fr.text, row, col)
	p.keyBuf = key
	if err != nil {
		fr.shape = &shape{err: err, row: row, col: col}
		return nil, err
	}
	sp, ok := p.shapes[string(key)]
	if !ok {
		sp = &shape{row: row, col: col}
		sp.f, sp.err = safeParse(fr.text)
		p.shapes[string(key)] = sp
	}
	fr.shape = sp
	if sp.err == nil {
		fr.text = "" // the shape's text, shifted, gives it back; a million rows save the copies
	}
	return sp.f, sp.err
}

// safeParse is formula.Parse that turns a fault in the parser into an error
// for the one formula, so an odd cell cannot stop the whole fill.
func safeParse(text string) (f *formula.Formula, err error) {
	defer func() {
		if x := recover(); x != nil {
			f, err = nil, fmt.Errorf("%w: internal error parsing formula: %v", formula.ErrUnsupported, x)
		}
	}()
	return formula.Parse(text)
}

// safeShapeKey is formula.ShapeKey with the same protection as safeParse.
func safeShapeKey(buf []byte, text string, row, col int) (key []byte, err error) {
	defer func() {
		if x := recover(); x != nil {
			key, err = buf, fmt.Errorf("%w: internal error reading formula: %v", formula.ErrUnsupported, x)
		}
	}()
	return formula.ShapeKey(buf, text, row, col)
}
