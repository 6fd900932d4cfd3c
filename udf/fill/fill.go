// Package fill computes the cells of a workbook that call registered
// functions and saves their results as the cells' cached values, keeping the
// formulas, so the file opens in Excel already filled.
//
// Only the <c> elements of the affected cells are rewritten; every other
// part of the package is copied byte for byte (compressed data included). A
// cell whose formula cannot be evaluated faithfully is left as it is and
// reported: fill never writes a value it is not sure of.
package fill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/formula"
)

// Options control a fill.
type Options struct {
	// OnlyMissing computes only cells with no cached value or an error value.
	OnlyMissing bool
	// Values replaces the formulas with their values, for people without the add-in.
	Values bool
	// DryRun computes nothing upstream (cache answers only) and writes nothing.
	DryRun bool
	// Progress, when set, is called as the work advances.
	Progress func(Progress)

	// afterPart is a test hook called after each zip entry is written.
	afterPart func(name string)
}

// Progress reports how far a fill has come.
type Progress struct {
	Phase string // "read", "compute", "write", "done"
	Cells int    // function cells found
	Done  int    // cells computed or given up on
	Calls int    // unique calls sent to the engine so far
}

// Skip is a function cell left untouched, and why.
type Skip struct {
	Cell    string `json:"cell"` // Sheet1!B2
	Formula string `json:"formula"`
	Reason  string `json:"reason"`
}

// Summary describes a finished fill.
type Summary struct {
	Input       string      `json:"input"`
	Output      string      `json:"output,omitempty"`
	DryRun      bool        `json:"dryRun,omitempty"`
	Formulas    int         `json:"formulaCells"`    // cells calling registered functions
	Computed    int         `json:"computedCells"`   // of those, computed
	ErrorCells  int         `json:"errorCells"`      // computed cells whose result holds an error value
	Kept        int         `json:"keptCells"`       // --only-missing: cells that already had a value
	Written     int         `json:"writtenCells"`    // cells whose value was written, spill cells included
	UniqueCalls int         `json:"uniqueCalls"`     // distinct function calls computed
	Skipped     []Skip      `json:"skipped"`         // cells left untouched
	Stats       EngineStats `json:"engine"`          // engine counters for this run
	Duration    float64     `json:"durationSeconds"` // wall time
}

// Fill reads the workbook at in, computes its function cells through reg and
// writes the result to out (which may equal in). Any error means nothing was
// written; an *InputError means the input itself is unusable.
func Fill(ctx context.Context, reg *udf.Registry, in, out string, opt Options) (*Summary, error) {
	start := time.Now()
	before := reg.Stats()
	report := func(p Progress) {
		if opt.Progress != nil {
			opt.Progress(p)
		}
	}
	report(Progress{Phase: "read"})
	p, err := openPkg(in)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	for _, sh := range p.sheets {
		if err := p.loadSheet(sh); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if err := p.verifyOtherParts(); err != nil {
		return nil, err
	}

	r := newResolver(p, reg)
	r.preview = opt.DryRun
	sum := &Summary{Input: in, DryRun: opt.DryRun}
	sum.Kept = r.findTargets(opt.OnlyMissing)
	sum.Formulas = len(r.targets) + sum.Kept
	report(Progress{Phase: "compute", Cells: len(r.targets)})
	if err := r.compute(ctx, func(done, calls int) {
		report(Progress{Phase: "compute", Cells: len(r.targets), Done: done, Calls: calls})
	}); err != nil {
		return nil, err
	}
	edits := r.plan(opt.Values)
	for _, eds := range edits {
		for _, e := range eds {
			if e.op == opSet {
				sum.Written++
			}
		}
	}
	for i := range r.targets {
		t := &r.targets[i]
		switch t.state {
		case tDone:
			sum.Computed++
			if hasError(t.val) {
				sum.ErrorCells++
			}
		case tSkipped:
			sum.Skipped = append(sum.Skipped, r.skip(t))
		}
	}
	sum.UniqueCalls = len(r.memo)
	if !opt.DryRun {
		report(Progress{Phase: "write", Cells: len(r.targets), Done: len(r.targets), Calls: len(r.memo)})
		if err := writeAtomic(ctx, out, in, func(w io.Writer) error {
			return p.write(ctx, w, r, edits, opt)
		}); err != nil {
			return nil, err
		}
		sum.Output = out
	}
	sum.Stats = statsSince(before, reg.Stats())
	sum.Duration = time.Since(start).Seconds()
	report(Progress{Phase: "done", Cells: len(r.targets), Done: len(r.targets), Calls: len(r.memo)})
	return sum, nil
}

func (r *resolver) skip(t *target) Skip {
	c := r.p.sheets[t.sheet].cells.at(int(t.cell))
	fr := r.p.sheets[t.sheet].formulas.at(int(c.f))
	text := fr.text
	if f, err := r.p.parse(fr); err == nil && fr.shape != nil {
		row, col := splitPos(c.pos)
		text = f.Shifted(row-fr.shape.row, col-fr.shape.col)
	}
	return Skip{Cell: formula.QuoteSheet(r.p.sheets[t.sheet].name) + "!" + cellName(c.pos), Formula: text, Reason: r.reasons[t]}
}

func hasError(v udf.Value) bool {
	if v.Kind() == udf.KindArray {
		for _, row := range v.Rows() {
			for _, c := range row {
				if c.IsError() {
					return true
				}
			}
		}
		return false
	}
	return v.IsError()
}

// EngineStats are the engine's counters for one fill.
type EngineStats struct {
	Calls            uint64 `json:"calls"`            // calls answered
	Errors           uint64 `json:"errors"`           // calls answered with an error value
	Batches          uint64 `json:"batches"`          // batches the providers dispatched
	UpstreamRequests uint64 `json:"upstreamRequests"` // requests that left the machine
	CacheHits        uint64 `json:"cacheHits"`
}

func statsSince(a, b udf.Stats) EngineStats {
	return EngineStats{
		Calls:            b.Calls - a.Calls,
		Errors:           b.Errors - a.Errors,
		Batches:          b.Batches - a.Batches,
		UpstreamRequests: b.UpstreamRequests - a.UpstreamRequests,
		CacheHits:        b.CacheHits - a.CacheHits,
	}
}

// loadSheet reads one worksheet's cells.
func (p *workbookPkg) loadSheet(sh *sheet) error {
	if sh.part == "" {
		return nil
	}
	rc, err := p.files[sh.part].Open()
	if err != nil {
		return &InputError{Path: p.file.Name(), Err: fmt.Errorf("read sheet %q: %w", sh.name, err)}
	}
	defer rc.Close()
	in, stop := readAhead(rc)
	defer stop()
	if err := readSheet(p, sh, in); err != nil {
		return &InputError{Path: p.file.Name(), Err: fmt.Errorf("read sheet %q (%s): %w", sh.name, sh.part, corruptHint(err))}
	}
	return nil
}

// verifyOtherParts decompresses every part not read so far, so a corrupt
// part is reported now instead of being copied into the output.
func (p *workbookPkg) verifyOtherParts() error {
	read := map[string]bool{}
	for _, sh := range p.sheets {
		read[sh.part] = true
	}
	for _, zf := range p.zr.File {
		if read[zf.Name] || zf.FileInfo().IsDir() {
			continue
		}
		rc, err := zf.Open()
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		if err != nil {
			return &InputError{Path: p.file.Name(), Err: fmt.Errorf("part %s is corrupt: %w", zf.Name, corruptHint(err))}
		}
	}
	return nil
}

func corruptHint(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w (the file looks truncated)", err)
	}
	return err
}
