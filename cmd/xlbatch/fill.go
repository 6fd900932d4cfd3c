package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/fill"
)

const fillUsage = `Usage: xlbatch fill [flags] IN.xlsx (-o OUT.xlsx | --in-place)

Computes every cell whose formula calls an xlbatch function — written
GEOLOCATE(…), XLB.GEOLOCATE(…) or _xldudf_XLB_GEOLOCATE(…) as Excel saves it,
alone or inside IF, IFERROR, &, ROUND and other common wrappers — and saves the
results in the workbook as the cells' cached values, formulas kept. The file
then opens in Excel already filled. All cells are computed together, so
100,000 cells cost a few batch requests; answers are cached, so a second run
costs none.

Only the affected cells change: every other part of the file is copied byte
for byte (.xlsm macros included). A cell fill cannot compute exactly as Excel
would is left as it is and listed. The output is written to a temporary file
and renamed, so an interrupted run leaves no partial file.

Lookups go to Geoapify when GEOAPIFY_API_KEY is set, else to the offline
gazetteer (city level). A cell whose function returns an error (no match) gets
that error value, as Excel would show it.

Exit status: 0 all cells computed; 1 some cells hold error values or were
left untouched; 2 bad input, flags or output (nothing written).

Examples:
  xlbatch fill addresses.xlsx -o filled.xlsx
  xlbatch fill --in-place --only-missing book.xlsm
  xlbatch fill --values addresses.xlsx -o for-sharing.xlsx
  xlbatch fill --dry-run --json addresses.xlsx

Flags:
`

// Garbage-collector settings for fill; see runFill.
const (
	fillGCPercent   = 50
	fillMemoryLimit = 9 << 27 // 1.125 GiB
)

// fillOptionsHook lets tests adjust the options of a fill.
var fillOptionsHook func(*fill.Options)

// fillEngine opens the engine for fill; tests replace it.
var fillEngine = func(ctx context.Context, m *Main, ef *engineFlags) (*engine, error) {
	return ef.open(ctx, m)
}

func runFill(ctx context.Context, m *Main, args []string) int {
	fs := flag.NewFlagSet("fill", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var (
		out                                       string
		inPlace, onlyMissing, values, dry, asJSON bool
		progress                                  string
		ef                                        engineFlags
	)
	fs.StringVar(&out, "o", "", "write the filled workbook to `OUT` (same extension as the input)")
	fs.StringVar(&out, "output", "", "same as -o")
	fs.BoolVar(&inPlace, "in-place", false, "overwrite the input file (atomically)")
	fs.BoolVar(&onlyMissing, "only-missing", false, "compute only cells with no value or an error value")
	fs.BoolVar(&values, "values", false, "replace the formulas with their values, for people without the add-in")
	fs.BoolVar(&dry, "dry-run", false, "show what would be computed; spend no lookups, write nothing")
	fs.BoolVar(&asJSON, "json", false, "print a JSON summary on stdout")
	fs.StringVar(&progress, "progress", "auto", "progress bar: auto (on a terminal), always or never")
	ef.register(fs)
	// --help prints the whole usage once, on stdout; a flag error prints
	// the flag package's message and a pointer to --help on stderr.
	fs.Usage = func() {}
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(m.Stdout)
		io.WriteString(m.Stdout, fillUsage)
		fs.PrintDefaults()
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(m.Stderr, "Run 'xlbatch fill --help' for the flags.")
		return exitUsage
	}
	in, target, err := fillPaths(pos, out, inPlace, dry)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch fill: %v\nRun 'xlbatch fill --help' for usage.\n", err)
		return exitUsage
	}
	if progress != "auto" && progress != "always" && progress != "never" {
		fmt.Fprintf(m.Stderr, "xlbatch fill: --progress %q: want auto, always or never\n", progress)
		return exitUsage
	}

	// A fill holds a whole workbook's cells at once. Collecting garbage
	// twice as often, and harder once the heap passes 1.125 GiB, keeps the peak
	// near the live size (a million rows fit in 1.5 GB) for some CPU time.
	// GOGC and GOMEMLIMIT override these.
	if m.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(fillGCPercent))
	}
	if m.Getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(fillMemoryLimit))
	}
	eng, err := fillEngine(ctx, m, &ef)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch fill: %v\n", err)
		return exitUsage
	}
	defer eng.Close()

	opt := fill.Options{OnlyMissing: onlyMissing, Values: values, DryRun: dry}
	bar := newFillBar(m, eng.Registry, progress)
	if bar != nil {
		opt.Progress = bar.update
	}
	if fillOptionsHook != nil {
		fillOptionsHook(&opt)
	}
	sum, err := fill.Fill(ctx, eng.Registry, in, target, opt)
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		var ie *fill.InputError
		switch {
		case errors.As(err, &ie):
			fmt.Fprintf(m.Stderr, "xlbatch fill: %v\nNothing was written.\n", err)
		case errors.Is(err, context.Canceled):
			fmt.Fprintln(m.Stderr, "xlbatch fill: interrupted; nothing was written (lookups done so far are cached).")
		default:
			fmt.Fprintf(m.Stderr, "xlbatch fill: %v\nNothing was written; the input is unchanged.\n", err)
		}
		return exitUsage
	}
	if asJSON {
		if sum.Skipped == nil {
			sum.Skipped = []fill.Skip{}
		}
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
	} else {
		printFillSummary(m.Stdout, sum)
	}
	// A dry run fetches nothing, so its error values mean "not fetched".
	if len(sum.Skipped) > 0 || (sum.ErrorCells > 0 && !sum.DryRun) {
		return exitError
	}
	return exitOK
}

// parseInterleaved lets flags come before or after the input path, as in
// "xlbatch fill in.xlsx -o out.xlsx".
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// fillPaths checks the input and output arguments.
func fillPaths(pos []string, out string, inPlace, dry bool) (in, target string, err error) {
	switch {
	case len(pos) == 0:
		return "", "", errors.New("no input workbook given")
	case len(pos) > 1:
		return "", "", fmt.Errorf("one input workbook at a time (got %d: %s); see examples/recalc-folder.sh for many", len(pos), strings.Join(pos, " "))
	}
	in = pos[0]
	switch {
	case inPlace && out != "":
		return "", "", errors.New("use either -o or --in-place, not both")
	case inPlace:
		return in, in, nil
	case out == "" && dry:
		return in, "", nil
	case out == "":
		return "", "", errors.New("say where to write: -o OUT.xlsx, or --in-place to overwrite the input")
	}
	if a, b := strings.ToLower(filepath.Ext(in)), strings.ToLower(filepath.Ext(out)); a != b && a != "" {
		return "", "", fmt.Errorf("the output must keep the input's extension %s (Excel refuses a workbook whose extension does not match its content)", a)
	}
	if si, err := os.Stat(in); err == nil {
		if so, err := os.Stat(out); err == nil && os.SameFile(si, so) {
			return "", "", fill.ErrSameFile
		}
	}
	return in, out, nil
}

func printFillSummary(w io.Writer, s *fill.Summary) {
	var b strings.Builder
	cells := s.Formulas - s.Kept
	switch {
	case s.Formulas == 0:
		fmt.Fprintf(&b, "No cells call xlbatch functions in %s.", s.Input)
		if s.Output != "" {
			fmt.Fprintf(&b, " Copied it unchanged to %s.", s.Output)
		}
		b.WriteString("\n")
	case s.DryRun:
		fmt.Fprintf(&b, "Dry run: %s would compute %d of %d function cells with %d distinct calls; %d answered from the cache, %d would be looked up.\n",
			s.Input, s.Computed, cells, s.UniqueCalls, s.Stats.CacheHits, max(0, s.UniqueCalls-int(s.Stats.CacheHits)))
	default:
		fmt.Fprintf(&b, "Filled %d of %d function cells (%d cell values written) into %s in %s.\n",
			s.Computed, cells, s.Written, s.Output, time.Duration(s.Duration*float64(time.Second)).Round(time.Millisecond))
		fmt.Fprintf(&b, "%d distinct calls: %d cache hits, %d upstream requests.\n", s.UniqueCalls, s.Stats.CacheHits, s.Stats.UpstreamRequests)
	}
	if s.Kept > 0 {
		fmt.Fprintf(&b, "%d cells already had values and were kept (--only-missing).\n", s.Kept)
	}
	if s.ErrorCells > 0 && !s.DryRun {
		fmt.Fprintf(&b, "%d cells hold error values (for example #N/A: no match).\n", s.ErrorCells)
	}
	if n := len(s.Skipped); n > 0 {
		fmt.Fprintf(&b, "%d cells left untouched because fill cannot compute them exactly as Excel would:\n", n)
		for i, sk := range s.Skipped {
			if i == 20 {
				fmt.Fprintf(&b, "  … and %d more (--json lists all)\n", n-i)
				break
			}
			fmt.Fprintf(&b, "  %s  =%s\n      %s\n", sk.Cell, sk.Formula, sk.Reason)
		}
	}
	io.WriteString(w, b.String())
}

// fillBar is the progress bar shown on a terminal: cells done, unique
// lookups, cache hits, upstream requests.
type fillBar struct {
	bar  *progressbar.ProgressBar
	reg  *udf.Registry
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex // protects last
	last fill.Progress
}

func newFillBar(m *Main, reg *udf.Registry, mode string) *fillBar {
	f, ok := m.Stderr.(*os.File)
	if mode == "never" || (mode == "auto" && (!ok || !term.IsTerminal(int(f.Fd())))) {
		return nil
	}
	b := &fillBar{reg: reg, stop: make(chan struct{}), done: make(chan struct{})}
	b.bar = progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(m.Stderr),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	base := reg.Stats()
	go func() {
		defer close(b.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.describe(base)
			}
		}
	}()
	return b
}

func (b *fillBar) update(p fill.Progress) {
	b.mu.Lock()
	b.last = p
	b.mu.Unlock()
	if p.Cells > 0 && b.bar.GetMax() != p.Cells {
		b.bar.ChangeMax(p.Cells)
	}
	b.bar.Set(p.Done)
}

func (b *fillBar) describe(base udf.Stats) {
	s := b.reg.Stats()
	b.mu.Lock()
	p := b.last
	b.mu.Unlock()
	b.bar.Describe(fmt.Sprintf("%s: %d unique lookups, %d cache hits, %d upstream requests",
		p.Phase, p.Calls, s.CacheHits-base.CacheHits, s.UpstreamRequests-base.UpstreamRequests))
}

func (b *fillBar) finish() {
	close(b.stop)
	<-b.done
	b.bar.Finish()
}
