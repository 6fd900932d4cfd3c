package fill

import (
	"github.com/xlbatch/xlbatch/udf/formula"
)

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
	c := sh.cells.at(int(ci))
	if c.tgt >= 0 {
		return true
	}
	if a, ok := sh.anchorOf(c.pos); ok && a != ci {
		return r.tainted(sh, a)
	}
	if c.f < 0 {
		return false
	}
	fr := sh.formulas.at(int(c.f))
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
		for ; i < sh.cells.len() && sh.cells.at(int(i)).pos <= makePos(row, ref.C2); i++ {
			if r.tainted(sh, int32(i)) {
				return true
			}
		}
		// Skip rows with no cells quickly: jump to the next row that has any.
		if i < sh.cells.len() {
			next, _ := splitPos(sh.cells.at(int(i)).pos)
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
	lo, hi := 0, sh.cells.len()
	for lo < hi {
		m := (lo + hi) / 2
		if sh.cells.at(int(m)).pos < pos {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
