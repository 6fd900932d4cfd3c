package fill

import (
	"context"

	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/formula"
)

// maxSettleRounds bounds how often results are re-evaluated because a
// dynamic-array result grew over cells other formulas had read as blank.
const maxSettleRounds = 4

// compute runs the targets, then settles dynamic arrays whose results grew
// beyond their saved spill range: the new cells join the range (so formulas
// that read them see the spilled values) unless something blocks them, in
// which case the cell is skipped as Excel would show #SPILL!. When either
// changes what a finished formula could have read, every finished target is
// evaluated again; results already computed are reused, so that costs no
// new calls of the same arguments.
func (r *resolver) compute(ctx context.Context, progress func(done, unique int)) error {
	for round := 0; ; round++ {
		r.emptyReads = map[posKey]struct{}{}
		if err := r.run(ctx, progress); err != nil {
			return err
		}
		if !r.settleSpills() {
			return nil
		}
		if round == maxSettleRounds {
			for i := range r.targets {
				if t := &r.targets[i]; t.state == tDone {
					r.skipTarget(t, "results keep changing as dynamic arrays spill")
				}
			}
			return nil
		}
		for i := range r.targets {
			if t := &r.targets[i]; t.state == tDone {
				t.state, t.val = tPending, udf.Value{}
			}
		}
	}
}

// settleSpills grows spill ranges and reports whether finished results may be stale.
func (r *resolver) settleSpills() (rerun bool) {
	for i := range r.targets {
		t := &r.targets[i]
		if t.state != tDone {
			continue
		}
		sh := r.p.sheets[t.sheet]
		c := sh.cells.at(int(t.cell))
		fr := sh.formulas.at(int(c.f))
		if fr.kind != fArray || c.flags&flagDynamic == 0 {
			continue
		}
		rows := rowsOf(t.val)
		row, col := splitPos(c.pos)
		h, w := len(rows), len(rows[0])
		o1, oc1, o2, oc2, ok := formula.ParseRange(fr.ref)
		if !ok {
			o1, oc1, o2, oc2 = row, col, row, col
		}
		if row+h-1 <= o2 && col+w-1 <= oc2 {
			continue
		}
		if row+h-1 > formula.MaxRows || col+w-1 > formula.MaxCols {
			r.skipTarget(t, "the result does not fit on the sheet")
			rerun = true
			continue
		}
		var grown []uint64
		blocked := ""
		for rr := row; rr < row+h && blocked == ""; rr++ {
			for cc := col; cc < col+w; cc++ {
				if rr >= o1 && rr <= o2 && cc >= oc1 && cc <= oc2 {
					continue
				}
				p := makePos(rr, cc)
				if a, ok := sh.anchorOf(p); ok {
					if a == t.cell {
						continue // grown in an earlier settle round
					}
					blocked = "spill range blocked by the array formula at " + cellName(sh.cells.at(int(a)).pos)
					break
				}
				if k := sh.cellAt(p); k >= 0 && (sh.cells.at(int(k)).f >= 0 || sh.cells.at(int(k)).kind != valEmpty) {
					blocked = "spill range blocked by " + cellName(p) + " (Excel would show #SPILL!)"
					break
				}
				grown = append(grown, p)
			}
		}
		if blocked != "" {
			r.skipTarget(t, blocked)
			rerun = true
			continue
		}
		for _, p := range grown {
			sh.setAnchor(p, t.cell)
			if _, read := r.emptyReads[posKey{sh.index, p}]; read {
				rerun = true
			}
		}
	}
	return rerun
}
