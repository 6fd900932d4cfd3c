package fill

import (
	"context"
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
	sh     *sheet
	cell   int32
	state  uint8
	val    udf.Value
	reason string
}

// resolver evaluates targets: it is the formula.Env of a fill run.
type resolver struct {
	p       *workbookPkg
	reg     *udf.Registry
	preview bool
	targets []target

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
	return &resolver{p: p, reg: reg, memo: map[string]udf.Value{}, other: map[cellKey]otherVal{},
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
	if a, ok := sh.spill[pos]; ok && !r.kept(sh, a) {
		ar, ac := splitPos(sh.cells[a].pos)
		v, err := r.formulaValue(sh, a)
		if err != nil {
			return v, err
		}
		if v.Kind() != udf.KindArray {
			if ci := sh.cellAt(pos); ci >= 0 && sh.cells[ci].tgt < 0 && sh.cells[a].tgt < 0 {
				return sh.storedValue(&sh.cells[ci], r.p.sst)
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
	c := &sh.cells[ci]
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
	c := &sh.cells[ci]
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
	c := &sh.cells[ci]
	return c.tgt < 0 && c.f >= 0 && sh.formulas[c.f].target == 1
}

// evalCell evaluates the formula of a cell at its own position.
func (r *resolver) evalCell(sh *sheet, ci int32) (udf.Value, error) {
	c := &sh.cells[ci]
	fr := &sh.formulas[c.f]
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
	key, err := formula.ShapeKey(p.keyBuf[:0], fr.text, row, col)
	p.keyBuf = key
	if err != nil {
		fr.shape = &shape{err: err, row: row, col: col}
		return nil, err
	}
	sp, ok := p.shapes[string(key)]
	if !ok {
		sp = &shape{row: row, col: col}
		sp.f, sp.err = formula.Parse(fr.text)
		p.shapes[string(key)] = sp
	}
	fr.shape = sp
	return sp.f, sp.err
}

// tainted reports whether a formula cell may depend on a target, so that
// its cached value may be stale. Anything it cannot follow counts as tainted.
func (r *resolver) tainted(sh *sheet, ci int32) bool {
	key := cellKey{sh.index, ci}
	switch r.taint[key] {
	case 1, 3:
		return true
	case 2:
		return false
	}
	r.taint[key] = 1
	res := r.computeTaint(sh, ci)
	r.taint[key] = 2
	if res {
		r.taint[key] = 3
	}
	return res
}

func (r *resolver) computeTaint(sh *sheet, ci int32) bool {
	c := &sh.cells[ci]
	if c.tgt >= 0 {
		return true
	}
	if a, ok := sh.spill[c.pos]; ok && a != ci {
		return r.tainted(sh, a)
	}
	if c.f < 0 {
		return false
	}
	fr := &sh.formulas[c.f]
	f, err := r.p.parse(fr)
	if err != nil {
		return true
	}
	row, col := splitPos(c.pos)
	return r.nodeTainted(f.Root, sh, row-fr.shape.row, col-fr.shape.col, 0)
}

func (r *resolver) nodeTainted(n formula.Node, sh *sheet, dr, dc, depth int) bool {
	if depth > 32 {
		return true
	}
	tainted := false
	formula.Walk(n, func(n formula.Node) {
		if tainted {
			return
		}
		switch x := n.(type) {
		case formula.RefNode:
			ref, ok := x.Ref.Shift(dr, dc)
			if !ok || ref.Kind == formula.RefError || ref.External != "" {
				return
			}
			target := sh
			if ref.Sheet != "" {
				if target = r.p.sheetByName(ref.Sheet); target == nil {
					return
				}
			}
			tainted = r.rangeTainted(target, ref)
		case formula.NameNode:
			if x.Name.Structured || x.Name.External != "" {
				tainted = x.Name.Structured
				return
			}
			scope := sh.name
			if x.Name.Sheet != "" {
				scope = x.Name.Sheet
			}
			def, err := r.DefinedName(scope, x.Name.Name)
			if err != nil {
				tainted = true
				return
			}
			tainted = r.nodeTainted(def.Root, sh, 0, 0, depth+1)
		case *formula.CallNode:
			if _, ok := r.registered(x.Name); ok {
				tainted = true
			}
		}
	})
	return tainted
}

// rangeTainted checks the existing cells of a range, row by row.
func (r *resolver) rangeTainted(sh *sheet, ref formula.Ref) bool {
	if sh.part == "" {
		return false
	}
	for row := ref.R1; row <= ref.R2; row++ {
		i := sh.cellAt(makePos(row, ref.C1))
		if i < 0 {
			i = searchFrom(sh, makePos(row, ref.C1))
		}
		for ; i < len(sh.cells) && sh.cells[i].pos <= makePos(row, ref.C2); i++ {
			if r.tainted(sh, int32(i)) {
				return true
			}
		}
		// Skip rows with no cells quickly: jump to the next row that has any.
		if i < len(sh.cells) {
			next, _ := splitPos(sh.cells[i].pos)
			if next > row+1 {
				row = next - 1
			}
		} else {
			break
		}
	}
	return false
}

func searchFrom(sh *sheet, pos uint64) int {
	lo, hi := 0, len(sh.cells)
	for lo < hi {
		m := (lo + hi) / 2
		if sh.cells[m].pos < pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// run evaluates every pending target, in rounds: each round evaluates what
// it can, gathers the registered calls still missing from every cell, and
// computes them all with one CallMany so the engine can batch them.
func (r *resolver) run(ctx context.Context, progress func(done, unique int)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.need = map[string]udf.Call{}
		r.other = map[cellKey]otherVal{} // other formulas may read targets finished last round
		changed, pending := false, 0
		for i := range r.targets {
			t := &r.targets[i]
			if t.state != tPending {
				continue
			}
			v, err := r.evalCell(t.sh, t.cell)
			switch {
			case err == nil:
				t.state, t.val, changed = tDone, v, true
			case errors.Is(err, formula.ErrPending):
				pending++
			default:
				t.state, t.reason, changed = tSkipped, reasonOf(err), true
			}
		}
		if progress != nil {
			progress(r.done(), len(r.memo))
		}
		if len(r.need) == 0 {
			if pending == 0 {
				return nil
			}
			if !changed {
				for i := range r.targets {
					if t := &r.targets[i]; t.state == tPending {
						t.state, t.reason = tSkipped, "circular reference between function cells"
					}
				}
				return nil
			}
			continue
		}
		keys := make([]string, 0, len(r.need))
		calls := make([]udf.Call, 0, len(r.need))
		for k, c := range r.need {
			keys = append(keys, k)
			calls = append(calls, c)
		}
		res := r.reg.CallMany(ctx, calls)
		if len(res) != len(calls) {
			return fmt.Errorf("the engine answered %d of %d calls", len(res), len(calls))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for i, k := range keys {
			r.memo[k] = blankAsText(res[i])
		}
	}
}

func (r *resolver) done() int {
	n := 0
	for i := range r.targets {
		if r.targets[i].state != tPending {
			n++
		}
	}
	return n
}

func reasonOf(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, formula.ErrUnsupported.Error()+": ")
	return s
}

// blankAsText turns blank results into empty text, which is how the add-in
// hands them to Excel (null would show as 0), so a filled cell looks the same
// as one computed live.
func blankAsText(v udf.Value) udf.Value {
	switch v.Kind() {
	case udf.KindEmpty:
		return udf.Text("")
	case udf.KindArray:
		blank := false
		for _, row := range v.Rows() {
			for _, c := range row {
				blank = blank || c.IsEmpty()
			}
		}
		if !blank {
			return v
		}
		rows := make([][]udf.Value, len(v.Rows()))
		for i, row := range v.Rows() {
			rows[i] = make([]udf.Value, len(row))
			for j, c := range row {
				rows[i][j] = blankAsText(c)
			}
		}
		return udf.Array(rows)
	}
	return v
}
