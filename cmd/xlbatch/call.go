package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/xlbatch/xlbatch/udf"
)

const callUsage = `Usage: xlbatch call [flags] FN [ARG...]

Calls one spreadsheet function and prints its result, to try a formula
without Excel. FN is any written form of the name (GEOCODE, XLB.GEOCODE).
Each ARG is read as Excel reads a typed constant: 42 and 1,000.5 and 50%%
are numbers, TRUE and FALSE booleans, #N/A an error, "" a blank cell,
'42 the text 42, and {"Paris";"Rome"} an array (a range of cells).
Flags go before FN.

An array result prints one row per line, cells separated by tabs.
Exit status: 0 for a value, 1 for an error value, 2 for a usage error.

Examples:
  xlbatch call GEOCODE "221B Baker St, London, England" latlon
  xlbatch call GEOLOCATE '{"Paris";"Rome";"Oslo"}'
  xlbatch call --json GEODISTANCE 51.5 -0.13 48.86 2.35 mi

Flags:
`

func runCall(ctx context.Context, m *Main, args []string) int {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	var ef engineFlags
	ef.register(fs)
	asJSON := fs.Bool("json", false, `print {"value": …} or {"error": code, "message": …}, as the wire protocol does`)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), callUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(m.Stderr, "xlbatch call: name a function, e.g. xlbatch call GEOCODE \"Paris\" lat (xlbatch functions lists them)")
		return exitUsage
	}
	fn := fs.Arg(0)
	vals := make([]udf.Value, 0, fs.NArg()-1)
	for i, a := range fs.Args()[1:] {
		v, err := udf.ParseConstant(a)
		if err != nil {
			fmt.Fprintf(m.Stderr, "xlbatch call: argument %d: %v\n", i+1, err)
			return exitUsage
		}
		vals = append(vals, v)
	}

	e, err := ef.open(ctx, m)
	if err != nil {
		fmt.Fprintf(m.Stderr, "xlbatch call: %v\n", err)
		return exitUsage
	}
	defer e.Close()
	v := e.Registry.Call(ctx, udf.Call{Fn: fn, Args: vals, Caller: "command line"})
	if *asJSON {
		writeResultJSON(m.Stdout, v)
	} else {
		writeResultText(m.Stdout, v)
	}
	if v.IsError() {
		if v.Code() == udf.ErrName {
			fmt.Fprintln(m.Stderr, "xlbatch call: run 'xlbatch functions' for the list of functions")
		}
		return exitError
	}
	return exitOK
}

// writeResultText prints a value for people: a scalar as a cell shows it,
// an error with its message, an array as tab-separated rows.
func writeResultText(w io.Writer, v udf.Value) {
	switch v.Kind() {
	case udf.KindError:
		if msg := v.Message(); msg != "" {
			fmt.Fprintf(w, "%s %s\n", v.Code(), msg)
		} else {
			fmt.Fprintln(w, v.Code())
		}
	case udf.KindArray:
		for _, row := range v.Rows() {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = c.Display()
			}
			fmt.Fprintln(w, strings.Join(cells, "\t"))
		}
	default:
		fmt.Fprintln(w, v.Display())
	}
}

// writeResultJSON prints a value as the wire protocol's result message does:
// {"value": …}, or {"error": code, "message": …} for an error value.
func writeResultJSON(w io.Writer, v udf.Value) {
	if v.IsError() {
		b, _ := json.Marshal(struct {
			Error   udf.ErrorCode `json:"error"`
			Message string        `json:"message,omitempty"`
		}{v.Code(), v.Message()})
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	b, err := v.AppendJSON([]byte(`{"value":`))
	if err != nil {
		b = []byte(`{"error":"#VALUE!","message":"unprintable result"`)
	}
	fmt.Fprintf(w, "%s}\n", b)
}
