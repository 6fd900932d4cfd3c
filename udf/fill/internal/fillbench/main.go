// Command fillbench measures xlbatch fill on generated workbooks against a
// zero-latency fake Geoapify, and the same fill done with excelize's
// SetCellValue + SetCellFormula, each in its own process so peak memory is
// measured per run (VmHWM).
//
//	go run ./udf/fill/internal/fillbench -rows 100000 -unique 20000
//	go run ./udf/fill/internal/fillbench -rows 1000000 -unique 200000 -modes fill
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xlbatch/xlbatch/geoapify"
	"github.com/xlbatch/xlbatch/geoapify/geoapifytest"
	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/cache"
	"github.com/xlbatch/xlbatch/udf/fill"
	"github.com/xlbatch/xlbatch/udf/geo"
)

// result is one measured run, printed as JSON by the child process.
type result struct {
	Mode       string  `json:"mode"`
	Seconds    float64 `json:"seconds"`
	PeakRSSMB  float64 `json:"peakRSSMB"`
	CPUSeconds float64 `json:"cpuSeconds"` // user + system
	Cells      int     `json:"cells"`
	Upstream   uint64  `json:"upstreamRequests"`
	UniqueKeys int     `json:"uniqueCalls"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		if err := runChild(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "fillbench run:", err)
			os.Exit(1)
		}
		return
	}
	rows := flag.Int("rows", 100000, "data rows")
	unique := flag.Int("unique", 20000, "distinct addresses")
	modes := flag.String("modes", "fill,excelize", "runs to make: fill, excelize")
	dir := flag.String("dir", "", "working directory (default: a temporary one, removed)")
	flag.Parse()
	if err := drive(*rows, *unique, strings.Split(*modes, ","), *dir); err != nil {
		fmt.Fprintln(os.Stderr, "fillbench:", err)
		os.Exit(1)
	}
}

func drive(rows, unique int, modes []string, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "fillbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	book := filepath.Join(dir, "book.xlsx")
	t0 := time.Now()
	if err := generate(book, rows, unique); err != nil {
		return err
	}
	st, _ := os.Stat(book)
	fmt.Printf("workbook: %d rows, %d distinct addresses, 3 function cells per row, %.1f MB (generated in %s)\n",
		rows, unique, float64(st.Size())/1e6, time.Since(t0).Round(time.Millisecond))
	fake := geoapifytest.NewServer(geoapifytest.Options{DoneAtOnce: true, Lookup: instantLookup})
	defer fake.Close()
	var results []result
	for _, mode := range modes {
		before := fake.Counters()
		out := filepath.Join(dir, mode+".xlsx")
		cmd := exec.Command(os.Args[0], "run", "-mode", mode, "-in", book, "-o", out, "-url", fake.URL, "-rows", strconv.Itoa(rows))
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s run: %w", mode, err)
		}
		var r result
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			return fmt.Errorf("%s run: %w: %s", mode, err, stdout.String())
		}
		after := fake.Counters()
		jobs := after.JobSizes[len(before.JobSizes):]
		fmt.Printf("%-9s %7.2f s wall, %6.2f s CPU  peak RSS %7.1f MB  %d cells  %d distinct calls  %d upstream requests (batch jobs %d, want ceil(%d/1000) = %d)\n",
			r.Mode, r.Seconds, r.CPUSeconds, r.PeakRSSMB, r.Cells, r.UniqueKeys, r.Upstream, len(jobs), unique, int(math.Ceil(float64(unique)/1000)))
		var partial []int
		for _, n := range jobs {
			if n != 1000 {
				partial = append(partial, n)
			}
		}
		fmt.Printf("          batch jobs not of 1,000 addresses: %v\n", partial)
		results = append(results, r)
	}
	if len(results) == 2 {
		a, b := results[0], results[1]
		fmt.Printf("%s / %s: wall time %.2fx, CPU time %.2fx, peak memory %.2fx\n", b.Mode, a.Mode, b.Seconds/a.Seconds, b.CPUSeconds/a.CPUSeconds, b.PeakRSSMB/a.PeakRSSMB)
	}
	return nil
}

func runChild(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	mode := fs.String("mode", "fill", "fill or excelize")
	in := fs.String("in", "", "input workbook")
	out := fs.String("o", "", "output workbook")
	url := fs.String("url", "", "fake Geoapify URL")
	rows := fs.Int("rows", 0, "data rows (excelize mode)")
	fs.Parse(args)
	ctx := context.Background()
	// The fill run uses the garbage-collector settings of "xlbatch fill"
	// (cmd/xlbatch/fill.go); excelize keeps Go's defaults, since a memory
	// limit below its multi-gigabyte heap would only make it collect
	// without end.
	if *mode == "fill" && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if *mode == "fill" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(9 << 27)
	}
	reg, closeEngine, err := openEngine(*url)
	if err != nil {
		return err
	}
	defer closeEngine()
	if p := os.Getenv("FILLBENCH_CPUPROFILE"); p != "" {
		pf, err := os.Create(p)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	if p := os.Getenv("FILLBENCH_MEMPROFILE"); p != "" {
		runtime.MemProfileRate = 64 << 10
		defer func() {
			pf, _ := os.Create(p)
			pprof.WriteHeapProfile(pf)
			pf.Close()
		}()
	}
	if p := os.Getenv("FILLBENCH_HEAPWHEN"); p != "" {
		// FILLBENCH_HEAPWHEN=seconds:path writes a heap profile mid-run.
		sec, path, _ := strings.Cut(p, ":")
		d, _ := time.ParseDuration(sec + "s")
		time.AfterFunc(d, func() {
			pf, _ := os.Create(path)
			pprof.WriteHeapProfile(pf)
			pf.Close()
		})
	}
	start := time.Now()
	r := result{Mode: *mode}
	switch *mode {
	case "fill":
		last, phase := time.Now(), "start"
		sum, err := fill.Fill(ctx, reg, *in, *out, fill.Options{Progress: func(p fill.Progress) {
			if os.Getenv("FILLBENCH_TRACE") != "" {
				fmt.Fprintf(os.Stderr, "    %.2f %+v\n", time.Since(start).Seconds(), p)
			}
			if p.Phase == "write" && os.Getenv("FILLBENCH_HEAPAT") != "" {
				runtime.GC()
				pf, _ := os.Create(os.Getenv("FILLBENCH_HEAPAT"))
				pprof.WriteHeapProfile(pf)
				pf.Close()
			}
			if p.Phase != phase {
				fmt.Fprintf(os.Stderr, "  %-8s %6.2f s (rss %.0f MB)\n", phase, time.Since(last).Seconds(), currentRSSMB())
				last, phase = time.Now(), p.Phase
			}
		}})
		if err != nil {
			return err
		}
		if len(sum.Skipped) > 0 || sum.ErrorCells > 0 {
			return fmt.Errorf("%d cells skipped, %d errors: %+v", len(sum.Skipped), sum.ErrorCells, sum.Skipped[:min(3, len(sum.Skipped))])
		}
		r.Cells, r.UniqueKeys = sum.Computed, sum.UniqueCalls
	case "excelize":
		if r.Cells, r.UniqueKeys, err = excelizeFill(ctx, reg, *in, *out, *rows); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown mode %q", *mode)
	}
	r.Seconds = time.Since(start).Seconds()
	r.Upstream = reg.Stats().UpstreamRequests
	r.PeakRSSMB = peakRSSMB()
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		r.CPUSeconds = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// openEngine builds the GEO functions over a Geoapify client pointed at the
// fake, with no client-side rate limit (the fake has none) and a memory cache.
func openEngine(url string) (*udf.Registry, func(), error) {
	client, err := geoapify.New(geoapify.Options{BaseURL: url, APIKey: "bench", RateLimit: -1})
	if err != nil {
		return nil, nil, err
	}
	c := cache.Open[geoapify.Result](cache.Options{})
	svc := geo.New(geo.Options{Geocoder: client, Cache: c, Scope: "bench"})
	reg := udf.NewRegistry("XLB")
	if err := svc.Register(reg); err != nil {
		return nil, nil, err
	}
	return reg, func() { svc.Close(context.Background()); c.Close() }, nil
}

// peakRSSMB reads the process's peak resident set size from /proc.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return -1
}

// currentRSSMB reads the process's resident set size from /proc.
func currentRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return -1
}

// instantLookup answers any address at once with a made-up but stable
// place, so the fake costs next to nothing and the figures measure xlbatch.
func instantLookup(text, country string) (geoapify.Result, bool) {
	h := fnv.New64a()
	h.Write([]byte(text))
	x := h.Sum64()
	city := text
	if i := strings.LastIndexByte(text, ','); i >= 0 {
		city = strings.TrimSpace(text[i+1:])
	}
	return geoapify.Result{
		Lat: float64(x%180_000)/1000 - 90, Lon: float64(x/180_000%360_000)/1000 - 180,
		Formatted: text, City: city, CountryCode: "xx", ResultType: "building",
		Rank: geoapify.Rank{Confidence: 1},
	}, true
}
