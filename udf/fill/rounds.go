package fill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/formula"
)

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
			v, err := r.evalCell(r.p.sheets[t.sheet], t.cell)
			switch {
			case err == nil:
				t.state, t.val, changed = tDone, v, true
			case errors.Is(err, formula.ErrPending):
				pending++
			default:
				r.skipTarget(t, reasonOf(err))
				changed = true
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
						r.skipTarget(t, "circular reference between function cells")
					}
				}
				return nil
			}
			continue
		}
		if err := r.callAll(ctx, progress); err != nil {
			return err
		}
	}
}

// lookupsPerChunk is how many distinct first arguments (addresses, for the
// GEO functions) one CallMany gets. A multiple of the providers' batch size
// (1,000), so chunking adds no upstream request: every chunk but the last
// fills its batches. Chunks bound the engine's memory on huge workbooks and
// let progress move while they run.
const lookupsPerChunk = 25_000

// callAll computes this round's calls, in chunks of calls grouped by their
// first argument, so all the calls about one address travel together.
func (r *resolver) callAll(ctx context.Context, progress func(done, unique int)) error {
	type pending struct {
		key   string
		first string
		call  udf.Call
	}
	all := make([]pending, 0, len(r.need))
	for k, c := range r.need {
		all = append(all, pending{key: k, first: firstArgKey(c.Args), call: c})
	}
	r.need = nil
	slices.SortFunc(all, func(a, b pending) int {
		if c := strings.Compare(a.first, b.first); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	for start := 0; start < len(all); {
		end, distinct := start, 0
		for end < len(all) && (distinct < lookupsPerChunk || all[end].first == all[end-1].first) {
			if end == start || all[end].first != all[end-1].first {
				distinct++
			}
			end++
		}
		chunk := all[start:end]
		calls := make([]udf.Call, len(chunk))
		for i := range chunk {
			calls[i] = chunk[i].call
		}
		if progress != nil {
			progress(r.done(), len(r.memo)+len(calls))
		}
		res := r.reg.CallMany(ctx, calls)
		if len(res) != len(calls) {
			return fmt.Errorf("the engine answered %d of %d calls", len(res), len(calls))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		for i := range chunk {
			r.memo[chunk[i].key] = blankAsText(res[i])
			chunk[i] = pending{} // let the arguments go
		}
		start = end
	}
	return nil
}

// firstArgKey identifies a call's first argument: the address of a GEO call,
// a 1×1 range included.
func firstArgKey(args []udf.Value) string {
	if len(args) == 0 {
		return ""
	}
	a := args[0]
	if a.Kind() == udf.KindArray && len(a.Rows()) == 1 && len(a.Rows()[0]) == 1 {
		a = a.Rows()[0][0]
	}
	if a.Kind() == udf.KindText {
		return a.Str()
	}
	b, _ := a.AppendJSON(nil)
	return string(b)
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
