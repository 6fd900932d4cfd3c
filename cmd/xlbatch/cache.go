package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/xlbatch/xlbatch/udf/cache"
)

const cacheUsage = `Usage: xlbatch cache stats [--cache PATH] [--json]
       xlbatch cache clear [--cache PATH] [--expired]

The cache keeps Geoapify answers for 90 days and "no match" verdicts for
7 days, so recalculating a workbook costs no credits for what was already
looked up. Failures are never cached. Offline answers are not stored.

  stats   how many answers the cache file holds, by provider
  clear   remove every entry (with --expired, only entries past their lifetime)

A cache file in use by a running 'xlbatch serve' or 'fill' is locked: stop
it first.

Flags:
`

func runCache(ctx context.Context, m *Main, args []string) int {
	fs := flag.NewFlagSet("cache", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	path := fs.String("cache", "", "cache file `PATH` (default: "+displayCachePath()+")")
	asJSON := fs.Bool("json", false, "stats: print JSON")
	expired := fs.Bool("expired", false, "clear: remove only expired entries")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), cacheUsage)
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fs.SetOutput(m.Stdout)
		fs.Usage()
		return exitOK
	}
	if err := fs.Parse(rest); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "xlbatch cache %s: unexpected argument %q\n", sub, fs.Arg(0))
		return exitUsage
	}
	if strings.EqualFold(*path, "off") {
		fmt.Fprintln(m.Stderr, "xlbatch cache: --cache off has no file to inspect")
		return exitUsage
	}
	ef := engineFlags{cache: *path}
	file, err := ef.cachePath(m)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch cache: %v\n", err)
		return exitUsage
	}
	now := time.Now()
	switch sub {
	case "stats":
		s, err := cache.Inspect(file, time.Second, now)
		if err != nil {
			return cacheFailed(m, err)
		}
		if *asJSON {
			b, _ := json.MarshalIndent(map[string]any{
				"path": s.Path, "exists": !s.NotExists, "bytes": s.Bytes, "entries": s.Entries,
				"answers": s.Answers, "noMatch": s.NoMatch, "expired": s.Expired, "bySource": s.BySource,
			}, "", "  ")
			fmt.Fprintf(m.Stdout, "%s\n", b)
			return exitOK
		}
		if s.NotExists {
			fmt.Fprintf(m.Stdout, "%s: no cache yet (nothing has been looked up with this cache)\n", s.Path)
			return exitOK
		}
		fmt.Fprintf(m.Stdout, "cache file  %s (%s)\n", s.Path, byteSize(s.Bytes))
		fmt.Fprintf(m.Stdout, "answers     %d\n", s.Answers)
		fmt.Fprintf(m.Stdout, "no match    %d\n", s.NoMatch)
		fmt.Fprintf(m.Stdout, "expired     %d (xlbatch cache clear --expired removes them)\n", s.Expired)
		for _, src := range s.Sources() {
			fmt.Fprintf(m.Stdout, "  %-24s %d\n", src, s.BySource[src])
		}
		return exitOK
	case "clear":
		n, err := cache.Clear(file, time.Second, *expired, now)
		if err != nil {
			return cacheFailed(m, err)
		}
		what := "entries"
		if *expired {
			what = "expired entries"
		}
		fmt.Fprintf(m.Stdout, "removed %d %s from %s\n", n, what, file)
		return exitOK
	}
	fmt.Fprintf(m.Stderr, "xlbatch cache: unknown subcommand %q (want stats or clear)\n", sub)
	return exitUsage
}

func cacheFailed(m *Main, err error) int {
	fmt.Fprintf(m.Stderr, "xlbatch cache: %v\n", err)
	if errors.Is(err, cache.ErrLocked) {
		fmt.Fprintln(m.Stderr, "xlbatch cache: stop the running xlbatch serve or fill that uses it, then try again")
	}
	return exitError
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
