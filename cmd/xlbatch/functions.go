package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/xlbatch/xlbatch/geoapify/offline"
	"github.com/xlbatch/xlbatch/udf"
	"github.com/xlbatch/xlbatch/udf/geo"
)

const functionsUsage = `Usage: xlbatch functions [--json]

Lists the spreadsheet functions with their signatures and parameters. In
Excel they live in the XLB namespace: =XLB.GEOLOCATE(A2). With --json,
prints the Office custom-functions metadata (functions.json) the add-in
registers them from.

Flags:
`

func runFunctions(ctx context.Context, m *Main, args []string) int {
	fs := flag.NewFlagSet("functions", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	asJSON := fs.Bool("json", false, "print functions.json")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), functionsUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(m.Stderr, "xlbatch functions: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	r, closeFn, err := specRegistry(ctx)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch functions: %v\n", err)
		return exitError
	}
	defer closeFn()
	if *asJSON {
		b, err := r.FunctionsJSON()
		if err != nil {
			fmt.Fprintf(m.Stderr, "xlbatch functions: %v\n", err)
			return exitError
		}
		m.Stdout.Write(b)
		return exitOK
	}
	var b strings.Builder
	for i, s := range r.Specs() {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s.%s\n    %s\n", r.Namespace(), s.Signature(), s.Description)
		for _, p := range s.Params {
			kind := string(p.Type)
			if p.Dim == udf.Matrix {
				kind += ", a value or a range"
			}
			if p.Optional {
				kind += ", optional"
			}
			fmt.Fprintf(&b, "    %-8s (%s) %s\n", p.Name, kind, p.Description)
		}
	}
	b.WriteString("\nTry one: xlbatch call GEOCODE \"Paris, France\" latlon\n")
	fmt.Fprint(m.Stdout, b.String())
	return exitOK
}

// specRegistry returns a registry holding every function, for listing and
// metadata: no provider is contacted and nothing is cached.
func specRegistry(ctx context.Context) (*udf.Registry, func(), error) {
	r := udf.NewRegistry("XLB")
	svc := geo.New(geo.Options{Geocoder: offline.Default(), LocalLookups: true})
	closeFn := func() { svc.Close(ctx) }
	if err := svc.Register(r); err != nil {
		closeFn()
		return nil, nil, err
	}
	return r, closeFn, nil
}
